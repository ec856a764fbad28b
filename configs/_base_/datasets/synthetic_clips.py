# Synthetic clips (coloured shapes on plain backgrounds) made by
# `python tools/data/make_synthetic_clips.py data/synthetic_clips`.
# The seed's sampling at toy size: head-tail frames for training, evenly
# spaced ones for evaluation, decoded straight at the clips' 64 x 64 (the
# demo's ViT takes 64 x 64 frames: at 32 x 32 a tiny ViT trained from
# scratch told colours apart but hardly shapes).
dataset_type = 'VideoCaptionDataset'
data_root = 'data/synthetic_clips'
num_frames = 4
image_size = 64

train_pipeline = [
    dict(type='DecordVideoInit', resize=(image_size, image_size)),
    dict(type='HeadTailSample', num_frames=num_frames),
    dict(type='DecordVideoDecode'),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackCaptionInputs'),
]
test_pipeline = [
    dict(type='DecordVideoInit', resize=(image_size, image_size)),
    dict(type='EvenlySpacedSample', num_frames=num_frames),
    dict(type='DecordVideoDecode'),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackCaptionInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='EpochSeededSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{data_root}/annotations/train.json',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{data_root}/annotations/val.json',
        data_prefix=dict(video=f'{data_root}/videos'),
        pipeline=test_pipeline,
        test_mode=True,
    ),
)
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        ann_file=f'{data_root}/annotations/test.json',
    ),
)

# BLEU or CIDEr barely move when a caption names the wrong shape (almost
# every n-gram is template wording): SyntheticCaptionAccuracy counts the
# captions that name the clip's shapes, colours and background, as the
# clips' grammar reads them (vidcap_mm/datasets/synthetic.py).
val_evaluator = [
    dict(type='CaptionMetric'),
    dict(type='SyntheticCaptionAccuracy', parser='parse_synthetic_caption'),
]
test_evaluator = val_evaluator
