"""tools/train.py and tools/test.py end to end on synthetic clips (CPU)."""

import glob
import json
import os
import os.path as osp

import torch

from tests.tools.tool_runs import (
    CONFIG,
    occupied_port,
    run_dist_train,
    run_tool,
)


def losses(work_dir):
    (scalars,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        records = [json.loads(line) for line in f]
    return [r['loss'] for r in records if 'loss' in r]


def test_train_lowers_the_loss_and_saves_checkpoints(trained):
    work_dir, _, _ = trained
    curve = losses(work_dir)
    assert len(curve) == 3 * 6  # 3 epochs x 24 captions / batch 4
    first, last = sum(curve[:3]) / 3, sum(curve[-3:]) / 3
    assert last < 0.8 * first, curve
    assert osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    best = [
        f
        for f in os.listdir(work_dir)
        if f.startswith('best_synthetic_accuracy')
    ]
    assert len(best) == 1


def test_checkpoint_loads_with_weights_only(trained):
    work_dir, _, _ = trained
    checkpoint = torch.load(
        osp.join(work_dir, 'epoch_3.pth'),
        map_location='cpu',
        weights_only=True,
    )
    assert checkpoint['meta']['epoch'] == 3
    assert 'neck.query_tokens' in checkpoint['state_dict']


def test_test_tool_writes_predictions(trained, tmp_path):
    work_dir, data_root, options = trained
    dump = str(tmp_path / 'captions.json')
    result = run_tool(
        'tools/test.py',
        CONFIG,
        osp.join(work_dir, 'epoch_3.pth'),
        '--work-dir',
        str(tmp_path),
        '--dump',
        dump,
        '--cfg-options',
        *options,
    )
    assert 'caption/CIDEr' in result.stdout + result.stderr
    with open(dump) as f:
        predictions = json.load(f)
    with open(osp.join(data_root, 'annotations', 'test.json')) as f:
        videos = {r['image_id'] for r in json.load(f)}
    assert {p['image_id'] for p in predictions} == videos
    assert all(isinstance(p['caption'], str) for p in predictions)


def test_resume_continues_from_the_last_epoch(trained, tmp_path):
    work_dir, _, options = trained
    resumed = str(tmp_path / 'resumed')
    run_tool(
        'tools/train.py',
        CONFIG,
        '--work-dir',
        resumed,
        '--resume',
        osp.join(work_dir, 'epoch_3.pth'),
        '--cfg-options',
        *options,
        'train_cfg.max_epochs=4',
        'train_cfg.val_interval=4',
    )
    checkpoint = torch.load(
        osp.join(resumed, 'epoch_4.pth'), map_location='cpu', weights_only=True
    )
    assert checkpoint['meta']['epoch'] == 4
    assert checkpoint['meta']['iter'] == 4 * 6
    assert not osp.exists(osp.join(resumed, 'epoch_1.pth'))


def test_two_process_training_on_cpu(trained, tmp_path):
    """tools/dist_train.sh with 2 processes: gloo instead of NCCL, DDP
    without device ids, each rank half of the data. torchrun binds its own
    port: torchrun's default one, busy here, does not matter."""
    _, _, options = trained
    work_dir = str(tmp_path / 'dist')
    with occupied_port(29500):
        output = run_dist_train(
            CONFIG,
            2,
            '--work-dir',
            work_dir,
            '--cfg-options',
            *options,
            'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1',
        )
    assert 'Distributed training: True' in output
    assert 'MMDistributedDataParallel' in output
    # 24 captions / 2 ranks / batch 4 = 3 iterations per rank.
    assert 'Epoch(train) [1][3/3]' in output
    assert 'caption/CIDEr' in output
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))
