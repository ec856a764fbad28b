"""The dataset base configs build and load real H.264 footage."""

import json
import os.path as osp
import shutil

import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.config import Config

from vidcap_mm.datasets import generate_synthetic_clips

from .conftest import REAL_CLIP

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', '_base_', 'datasets')


def _dataset_root(root, video):
    (root / 'annotations').mkdir(parents=True)
    (root / 'videos').mkdir()
    shutil.copy(REAL_CLIP, root / 'videos' / video)
    train = [
        dict(video=video, caption='A Man rides a BIKE.', image_id='v'),
        dict(video=video, caption='bikes (on a road)', image_id='v'),
    ]
    val = [dict(video=video, caption=['a bike', 'bikes'], image_id='v')]
    for split, records in (('train', train), ('val', val), ('test', val)):
        (root / 'annotations' / f'{split}.json').write_text(
            json.dumps(records)
        )
    return str(root)


@pytest.mark.parametrize(
    'name, video, num_frames',
    [
        ('msrvtt', 'video0.mp4', 8),
        ('msvd', 'abc_1_5.avi', 16),
        ('vatex', 'abc_000001_000011.mp4', 8),
    ],
)
def test_real_dataset_configs(
    tmp_path, mmaction_scope, name, video, num_frames
):
    cfg = Config.fromfile(osp.join(CONFIGS, f'{name}.py'))
    data_root = _dataset_root(tmp_path / name, video)
    torch.manual_seed(0)
    for loader, length in (
        (cfg.train_dataloader, 2),
        (cfg.val_dataloader, 1),
        (cfg.test_dataloader, 1),
    ):
        dataset = DATASETS.build(dict(loader.dataset, data_root=data_root))
        assert len(dataset) == length
        packed = dataset[0]
        assert packed['inputs'].shape == (num_frames, 3, 224, 224)
        assert packed['inputs'].dtype == torch.uint8
        sample = packed['data_samples']
        if loader is cfg.train_dataloader:
            assert sample.gt_caption == 'a man rides a bike'  # cleaned
            assert sample.gt_captions == [
                'A Man rides a BIKE.',
                'bikes (on a road)',
            ]
        else:
            assert sample.gt_captions == ['a bike', 'bikes']
            assert list(sample.frame_inds) == [
                i * 77 // num_frames for i in range(num_frames)
            ]


def test_synthetic_config(tmp_path, mmaction_scope):
    cfg = Config.fromfile(osp.join(CONFIGS, 'synthetic_clips.py'))
    paths = generate_synthetic_clips(
        str(tmp_path), num_train=1, num_val=1, num_test=1, num_frames=8
    )
    for loader, ann in (
        (cfg.train_dataloader, 'train'),
        (cfg.val_dataloader, 'val'),
    ):
        dataset = DATASETS.build(
            dict(
                loader.dataset,
                ann_file=paths[ann],
                data_prefix=dict(video=paths['video_dir']),
            )
        )
        assert dataset[0]['inputs'].shape == (4, 3, 64, 64)
