"""SCST through tools/train.py, as the demo and the recipes run it: from
the cross-entropy run's best checkpoint, resumed, and on 2 processes."""

import glob
import json
import os.path as osp

import pytest
import torch

from tests.helpers import REPO
from tests.tools.tool_runs import run_dist_train, run_tool

SCST_CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic_scst.py')
STATISTICS = (
    'loss_scst',
    'reward_mean',
    'baseline_mean',
    'advantage_std',
    'caption_length',
    'empty_share',
)


def scst_options(trained, epochs, load_from=None):
    xe_dir, _, options = trained
    if load_from is None:
        load_from = f'{xe_dir}/best_synthetic_accuracy_*.pth'
    return [
        *options,
        f'load_from={load_from}',
        f'train_cfg.max_epochs={epochs}',
        'train_cfg.val_interval=1',
        'optim_wrapper.optimizer.lr=1e-4',
        'model.objective.num_candidates=3',
        'model.objective.candidates=sample',
        'model.objective.generation_cfg.max_new_tokens=8',
    ]


def scalars(work_dir):
    (path,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def scst_run(trained, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('scst'))
    result = run_tool(
        'tools/train.py',
        SCST_CONFIG,
        '--work-dir',
        work_dir,
        '--cfg-options',
        *scst_options(trained, epochs=1),
    )
    return work_dir, result.stdout + result.stderr


def test_scst_starts_from_the_best_xe_checkpoint(trained, scst_run):
    xe_dir = trained[0]
    work_dir, output = scst_run
    (best,) = glob.glob(osp.join(xe_dir, 'best_*.pth'))
    assert f'Load checkpoint from {best}' in output
    assert (
        "SCSTRewardHook: reward SCSTReward(1 x CiderDRewardTerm(mode='corpus'"
        in output
    )
    assert 'from 8 training videos (24 references)' in output


def test_scst_logs_its_statistics_every_iteration(scst_run):
    work_dir, _ = scst_run
    train = [r for r in scalars(work_dir) if 'loss_scst' in r]
    # One sample per video in the demo's SCST config: 8 videos / batch 4,
    # logging interval 1.
    assert len(train) == 2
    for record in train:
        assert set(STATISTICS) <= set(record)
        # The demo config's contrastive loss stays on under SCST.
        assert record['loss'] == pytest.approx(
            record['loss_scst'] + record['loss_contrastive'], abs=1e-6
        )
        assert 0 <= record['empty_share'] <= 1
    assert any(r['advantage_std'] > 0 for r in train)
    assert any('caption/CIDEr' in r for r in scalars(work_dir))


def test_scst_resumes(trained, scst_run, tmp_path):
    work_dir, _ = scst_run
    resumed = str(tmp_path / 'resumed')
    result = run_tool(
        'tools/train.py',
        SCST_CONFIG,
        '--work-dir',
        resumed,
        '--resume',
        osp.join(work_dir, 'epoch_1.pth'),
        '--cfg-options',
        *scst_options(trained, epochs=2),
    )
    assert 'resumed epoch: 1, iter: 2' in result.stdout + result.stderr
    checkpoint = torch.load(
        osp.join(resumed, 'epoch_2.pth'), map_location='cpu', weights_only=True
    )
    assert checkpoint['meta']['iter'] == 4
    assert len([r for r in scalars(resumed) if 'loss_scst' in r]) == 2


def test_scst_on_two_processes(trained, tmp_path):
    """Each rank generates and scores the candidates of its own clips; the
    reward is built on every rank before training."""
    output = run_dist_train(
        SCST_CONFIG,
        2,
        '--work-dir',
        str(tmp_path / 'dist'),
        '--cfg-options',
        *scst_options(trained, epochs=1),
    )
    assert 'MMDistributedDataParallel' in output
    # 8 videos / 2 ranks / batch 4 = 1 iteration per rank.
    assert 'Epoch(train) [1][1/1]' in output
    assert 'reward_mean' in output
    assert osp.exists(str(tmp_path / 'dist' / 'epoch_1.pth'))


def test_missing_xe_checkpoint_is_named(trained, tmp_path):
    options = scst_options(
        trained, epochs=1, load_from=f'{tmp_path}/nothing/best_*.pth'
    )
    result = run_tool(
        'tools/train.py',
        SCST_CONFIG,
        '--work-dir',
        str(tmp_path / 'w'),
        '--cfg-options',
        *options,
        expect_success=False,
    )
    assert result.returncode != 0
    assert 'nothing/best_*.pth' in result.stderr
    assert 'matches no file' in result.stderr
