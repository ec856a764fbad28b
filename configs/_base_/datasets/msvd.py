# MSVD captioning, the seed's data recipe: annotations converted by
# tools/data/msvd/convert_annotations.py, videos in data/msvd/videos.
# Train: head-tail sampling, frames decoded at 224 x 224, random resized crop
# (area 0.5-1.0, one crop for all frames of a clip, bicubic) and flip, seed
# caption cleaning. Eval: evenly spaced frames decoded at 224 x 224.
dataset_type = 'MSVDCaptionDataset'
data_root = 'data/msvd'
num_frames = 16  # the seed's MSVD configs
image_size = 224

train_pipeline = [
    dict(type='DecordVideoInit', resize=(image_size, image_size)),
    dict(type='HeadTailSample', num_frames=num_frames),
    dict(type='DecordVideoDecode'),
    dict(type='RandomResizedCrop', area_range=(0.5, 1.0)),
    dict(
        type='Resize',
        scale=(image_size, image_size),
        keep_ratio=False,
        interpolation='bicubic',
    ),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='CleanCaptionText', max_words=50),
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
    batch_size=64,
    num_workers=8,
    # The seed drops the last partial batch of an epoch.
    drop_last=True,
    persistent_workers=True,
    # Pinned batches: the model's data preprocessor copies them to the GPU
    # without blocking.
    pin_memory=True,
    sampler=dict(type='EpochSeededSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline,
    ),
)
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test')
)

val_evaluator = dict(type='CaptionMetric')
test_evaluator = val_evaluator
