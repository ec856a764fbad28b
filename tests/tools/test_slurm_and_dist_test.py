"""tools/slurm_train.sh, tools/slurm_test.sh and tools/dist_test.sh with 2
processes on CPU; srun and scontrol are stand-ins (tool_runs.fake_slurm)."""

import json
import os
import os.path as osp
import sys

import pytest
import torch

from tests.tools.rank_weights import config_with_dump, rank_weights
from tests.tools.tool_runs import (
    CONFIG,
    data_options,
    fake_slurm,
    run,
    run_slurm,
)
from vidcap_mm.datasets.synthetic import generate_synthetic_clips

# 5 test videos on 2 ranks: MMEngine's sampler pads rank 1 with a repeat,
# which the evaluation must drop.
NUM_TEST = 5
# Java-free scores: METEOR's start-up would take most of a test run.
FAST_METRIC = [
    f'{evaluator}.0.{option}'  # 0: the CaptionMetric
    for evaluator in ('val_evaluator', 'test_evaluator')
    for option in ('scorers=[BLEU,CIDEr]', 'tokenizer=python')
]


@pytest.fixture(scope='module')
def slurm_run(tmp_path_factory):
    """One epoch (3 iterations per rank) through slurm_train.sh."""
    root = tmp_path_factory.mktemp('slurm')
    data_root = str(root / 'clips')
    generate_synthetic_clips(
        data_root,
        num_train=8,
        num_val=4,
        num_test=NUM_TEST,
        num_frames=8,
        size=32,
    )
    options = data_options(data_root)
    slurm_dir = fake_slurm(root / 'bin')
    work_dir = str(root / 'work')
    config = config_with_dump(CONFIG, root / 'with_dump.py')
    output = run_slurm(
        'slurm_train.sh',
        slurm_dir,
        'part',
        'job',
        config,
        work_dir,
        '--cfg-options',
        *options,
        *FAST_METRIC,
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=2',
        'default_hooks.logger.interval=1',
    )
    return dict(
        output=output,
        work_dir=work_dir,
        slurm_dir=slurm_dir,
        data_root=data_root,
        options=options,
    )


def ids_of_test_videos(data_root):
    with open(osp.join(data_root, 'annotations', 'test.json')) as f:
        return sorted(r['image_id'] for r in json.load(f))


def read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_slurm_train_runs_one_task_per_gpu_in_sync(slurm_run):
    args = read_lines(osp.join(slurm_run['slurm_dir'], 'srun_args'))
    assert args[:7] == [
        '--partition=part',
        '--job-name=job',
        '--gres=gpu:2',
        '--ntasks=2',
        '--ntasks-per-node=2',
        '--cpus-per-task=5',
        '--kill-on-bad-exit=1',
    ]
    assert args[7:10] == ['python', '-u', 'tools/train.py']
    assert f'--work-dir={slurm_run["work_dir"]}' in args
    assert '--launcher=slurm' in args
    # MASTER_ADDR came from the first node scontrol named, on every rank.
    calls = read_lines(osp.join(slurm_run['slurm_dir'], 'scontrol_calls'))
    assert calls == ['show hostnames fakenode[1-2]'] * 2
    output = slurm_run['output']
    assert 'Distributed training: True' in output
    # 24 captions / 2 ranks / batch 4 = 3 iterations per rank.
    assert 'Epoch(train) [1][3/3]' in output
    work_dir = slurm_run['work_dir']
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    before = rank_weights(work_dir, 0, 'before')
    after = [rank_weights(work_dir, rank, 'after') for rank in (0, 1)]
    assert before.keys() == after[0].keys() == after[1].keys()
    assert all(torch.equal(after[0][k], after[1][k]) for k in before)
    # They trained: in sync is not merely unchanged.
    assert not all(torch.equal(before[k], after[0][k]) for k in before)


def test_slurm_test_scores_each_video_once(slurm_run, tmp_path):
    dump = str(tmp_path / 'captions.json')
    output = run_slurm(
        'slurm_test.sh',
        slurm_run['slurm_dir'],
        'part',
        'job',
        CONFIG,
        osp.join(slurm_run['work_dir'], 'epoch_1.pth'),
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        *slurm_run['options'],
        *FAST_METRIC,
        # What --dump x.json sets; tools/test.py applies --dump before
        # --cfg-options, and its list of evaluators then takes no
        # test_evaluator.* option.
        f'test_evaluator.0.dump_path={dump}',
    )
    args = read_lines(osp.join(slurm_run['slurm_dir'], 'srun_args'))
    assert args[7:11] == ['python', '-u', 'tools/test.py', CONFIG]
    assert 'Load checkpoint from' in output
    assert 'caption/CIDEr' in output
    with open(dump) as f:
        predictions = json.load(f)
    ids = sorted(p['image_id'] for p in predictions)
    assert ids == ids_of_test_videos(slurm_run['data_root'])
    assert len(ids) == NUM_TEST


def test_dist_test_without_checkpoint_scores_each_video_once(
    slurm_run, tmp_path
):
    """``dist_test.sh CONFIG 2``: the config's load_from (none here); with
    ``--show-dir`` each rank draws its own clips, so every video gets its
    picture."""
    dump = str(tmp_path / 'captions.json')
    pictures = tmp_path / 'pictures'

    env = {k: v for k, v in os.environ.items() if k not in ('PORT', 'NNODES')}
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    result = run(
        [
            'bash',
            'tools/dist_test.sh',
            CONFIG,
            '2',
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            *slurm_run['options'],
            *FAST_METRIC,
            f'test_evaluator.0.dump_path={dump}',
            '--show-dir',
            str(pictures),
        ],
        env=env,
    )
    output = result.stdout + result.stderr
    assert 'Load checkpoint from' not in output
    assert sorted(p.name for p in pictures.iterdir()) == [
        f'{video_id}.png'
        for video_id in ids_of_test_videos(slurm_run['data_root'])
    ]
    assert 'caption/CIDEr' in output
    with open(dump) as f:
        predictions = json.load(f)
    ids = sorted(p['image_id'] for p in predictions)
    assert ids == ids_of_test_videos(slurm_run['data_root'])
    assert len(ids) == NUM_TEST


@pytest.fixture
def echo_python(tmp_path):
    """A ``python`` that prints its arguments, one a line."""
    path = tmp_path / 'python'
    path.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    path.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ('PORT', 'NNODES')}
    env['PATH'] = str(tmp_path) + os.pathsep + env['PATH']
    return env


@pytest.mark.parametrize(
    'args, test_py',
    [
        (['c.py', 'ck.pth', '2'], ['c.py', 'ck.pth']),
        (['c.py', '2'], ['c.py']),
        (['c.py', 'none', '2'], ['c.py']),
        (['c.py', '2', '--dump', 'x.json'], ['c.py']),
    ],
)
def test_dist_test_checkpoint_is_optional(echo_python, args, test_py):
    result = run(['bash', 'tools/dist_test.sh', *args], env=echo_python)
    lines = result.stdout.splitlines()
    assert '--nproc_per_node=2' in lines
    start = lines.index('tools/test.py') + 1
    assert lines[start : start + len(test_py) + 2] == [
        *test_py,
        '--launcher',
        'pytorch',
    ]
    options = args[args.index('2') + 1 :]
    assert lines[start + len(test_py) + 2 :] == options


@pytest.mark.parametrize(
    'args, message',
    [
        (['c.py'], 'usage: bash tools/dist_test.sh CONFIG'),
        (['c.py', 'ck.pth'], 'usage: bash tools/dist_test.sh CONFIG'),
        (['c.py', 'ck.pth', 'x'], "must be a positive number, got 'x'"),
    ],
)
def test_dist_test_rejects_bad_arguments(echo_python, args, message):
    result = run(
        ['bash', 'tools/dist_test.sh', *args],
        env=echo_python,
        expect_success=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ''
