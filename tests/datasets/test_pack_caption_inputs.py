import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, MODELS, TRANSFORMS
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from vidcap_mm.datasets import PackCaptionInputs, generate_synthetic_clips

# The eval-time path of the real configs, shrunk: 4 frames at 32 x 32.
PIPELINE = [
    dict(type='DecordInit'),
    dict(type='UniformSample', clip_len=4, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackCaptionInputs'),
]
CLIP_MEAN = [122.770938, 116.7460125, 104.09373615]
CLIP_STD = [68.5005327, 66.6321579, 70.32316305]


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    return generate_synthetic_clips(
        str(tmp_path_factory.mktemp('synth')),
        num_train=2,
        num_val=2,
        num_test=1,
        num_frames=16,
        size=64,
    )


@pytest.fixture
def mmaction_scope():
    # Datasets build their pipeline in the default scope; the Runner sets
    # it from the config's ``default_scope = 'mmaction'``.
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def test_pipeline_and_preprocessor(clips, mmaction_scope):
    dataset = DATASETS.build(
        dict(
            type='VideoCaptionDataset',
            ann_file=clips['val'],
            data_prefix=dict(video=clips['video_dir']),
            pipeline=PIPELINE,
            test_mode=True,
        )
    )
    assert len(dataset) == 2
    packed = dataset[0]
    info = dataset.get_data_info(0)

    inputs = packed['inputs']
    assert isinstance(inputs, torch.Tensor)
    assert inputs.shape == (4, 3, 32, 32) and inputs.dtype == torch.uint8
    sample = packed['data_samples']
    assert isinstance(sample, ActionDataSample)
    assert sample.gt_caption == info['caption'] == info['gt_captions'][0]
    assert sample.gt_captions == info['gt_captions']
    assert len(sample.gt_captions) == 3
    assert sample.video_id == 'synth_val_0000'
    assert sample.filename == info['filename']
    assert sample.img_shape == (32, 32)
    # UniformSample(test_mode=True) on 16 frames: segment starts
    # round(i * 15 / 4) = 0, 4, 8, 11, each shifted by int(15 / 4 / 2) = 1.
    np.testing.assert_array_equal(sample.frame_inds, [1, 5, 9, 12])

    # What MMEngine's Evaluator hands a metric: a flat dict.
    flat = sample.to_dict()
    assert flat['gt_captions'] == info['gt_captions']
    assert flat['video_id'] == 'synth_val_0000'

    preprocessor = MODELS.build(
        dict(
            type='ActionDataPreprocessor',
            mean=CLIP_MEAN,
            std=CLIP_STD,
            format_shape='NCHW',
        )
    )
    batch = preprocessor(pseudo_collate([dataset[0], dataset[1]]))
    assert batch['inputs'].shape == (2, 4, 3, 32, 32)
    assert batch['inputs'].dtype == torch.float32
    expected = (dataset[1]['inputs'][2, 1].float() - CLIP_MEAN[1]) / CLIP_STD[
        1
    ]
    torch.testing.assert_close(batch['inputs'][1, 2, 1], expected)
    assert [s.video_id for s in batch['data_samples']] == [
        'synth_val_0000',
        'synth_val_0001',
    ]


def test_pack_shares_memory():
    imgs = np.random.randint(0, 255, (4, 8, 8, 3), dtype=np.uint8)
    nchw = imgs.transpose(0, 3, 1, 2)  # what FormatShape('NCHW') gives
    packed = PackCaptionInputs().transform(
        dict(imgs=nchw, caption='a red circle', video_id='v')
    )
    inputs = packed['inputs']
    assert inputs.shape == (4, 3, 8, 8)
    assert inputs.data_ptr() == imgs.ctypes.data  # no copy
    torch.testing.assert_close(inputs, torch.from_numpy(nchw.copy()))
    sample = packed['data_samples']
    assert sample.gt_caption == 'a red circle'
    assert sample.gt_captions == ['a red circle']  # defaults to [caption]
    assert sample.metainfo == dict(video_id='v')


def test_pack_negative_strides_and_tensors():
    imgs = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    flipped = imgs[..., ::-1]
    packed = PackCaptionInputs().transform(dict(imgs=flipped))
    torch.testing.assert_close(
        packed['inputs'], torch.from_numpy(flipped.copy())
    )
    assert 'gt_caption' not in packed['data_samples']

    tensor = torch.zeros(2, 3, 4, 4)
    assert PackCaptionInputs().transform(dict(imgs=tensor))['inputs'] is tensor


def test_pack_meta_keys_errors_and_repr():
    transform = TRANSFORMS.build(
        dict(type='PackCaptionInputs', meta_keys=['video_id', 'avg_fps'])
    )
    packed = transform(
        dict(
            imgs=np.zeros((1, 3, 2, 2), np.uint8),
            caption='x',
            gt_captions=('x', 'y'),
            video_id='v',
            filename='f.mp4',
        )
    )
    assert packed['data_samples'].metainfo == dict(video_id='v')
    assert packed['data_samples'].gt_captions == ['x', 'y']
    assert repr(transform) == (
        "PackCaptionInputs(meta_keys=('video_id', 'avg_fps'))"
    )
    with pytest.raises(KeyError, match='imgs'):
        transform(dict(caption='x'))
