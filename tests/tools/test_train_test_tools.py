"""tools/train.py and tools/test.py end to end on synthetic clips (CPU)."""

import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from tests.helpers import REPO
from vidcap_mm.datasets.synthetic import generate_synthetic_clips

CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')


def data_options(data_root):
    options = []
    for split, loader in (
        ('train', 'train_dataloader'),
        ('val', 'val_dataloader'),
        ('test', 'test_dataloader'),
    ):
        options += [
            f'{loader}.dataset.ann_file={data_root}/annotations/{split}.json',
            f'{loader}.dataset.data_prefix.video={data_root}/videos',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
            f'{loader}.batch_size=4',
        ]
    return options


def run_tool(*args):
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    return result


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('tools')
    data_root = str(root / 'clips')
    generate_synthetic_clips(
        data_root, num_train=8, num_val=4, num_test=4, num_frames=8, size=32
    )
    work_dir = str(root / 'work')
    options = data_options(data_root) + [
        'train_cfg.max_epochs=3',
        'train_cfg.val_interval=3',
        'default_hooks.logger.interval=1',
        'log_processor.window_size=1',
        'optim_wrapper.optimizer.lr=6e-3',
    ]
    run_tool(
        'tools/train.py',
        CONFIG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        *options,
    )
    return work_dir, data_root, options


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
        if f.startswith('best_caption_CIDEr_plus_BLEU_4')
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
    without device ids, each rank half of the data."""
    _, _, options = trained
    work_dir = str(tmp_path / 'dist')
    env = dict(os.environ, PORT=str(_free_port()))
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    result = subprocess.run(
        [
            'bash',
            'tools/dist_train.sh',
            CONFIG,
            '2',
            '--work-dir',
            work_dir,
            '--cfg-options',
            *options,
            'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1',
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert 'Distributed training: True' in output
    assert 'MMDistributedDataParallel' in output
    # 24 captions / 2 ranks / batch 4 = 3 iterations per rank.
    assert 'Epoch(train) [1][3/3]' in output
    assert 'caption/CIDEr' in output
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
