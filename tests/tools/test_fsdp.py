"""FSDP through MMEngine's FlexibleRunner (configs/_base_/strategies/
fsdp.py): 2 processes on gloo without a GPU."""

import json
import os.path as osp

import torch

from tests.tools.tool_runs import (
    CONFIG,
    data_options,
    run_dist_train,
    run_tool,
)
from vidcap_mm.datasets.synthetic import generate_synthetic_clips

FSDP = osp.join(osp.dirname(CONFIG), '..', '_base_', 'strategies', 'fsdp.py')
FAST_METRIC = [
    f'{evaluator}.0.{option}'  # 0: the CaptionMetric
    for evaluator in ('val_evaluator', 'test_evaluator')
    for option in ('scorers=[BLEU,CIDEr]', 'tokenizer=python')
]


def test_fsdp_trains_on_two_cpu_processes_and_tests_without_it(tmp_path):
    data_root = str(tmp_path / 'clips')
    generate_synthetic_clips(
        data_root, num_train=8, num_val=4, num_test=4, num_frames=8, size=32
    )
    config = tmp_path / 'tiny_fsdp.py'
    config.write_text(f'_base_ = [{CONFIG!r}, {osp.abspath(FSDP)!r}]\n')
    options = data_options(data_root) + FAST_METRIC
    work_dir = str(tmp_path / 'work')
    output = run_dist_train(
        str(config),
        2,
        '--work-dir',
        work_dir,
        '--cfg-options',
        *options,
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
    )
    assert 'Distributed training: True' in output
    # 24 captions / 2 ranks / batch 4 = 3 iterations per rank.
    assert 'Epoch(train) [1][3/3]' in output
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work_dir, 'epoch_1.pth')
    # One file with the whole model under its own names: FSDP's flat
    # parameters and shards do not leak into checkpoints.
    checkpoint = torch.load(
        osp.join(work_dir, 'epoch_1.pth'),
        map_location='cpu',
        weights_only=True,
    )
    state = checkpoint['state_dict']
    assert 'neck.query_tokens' in state
    assert not any('flat_param' in key or '_fsdp' in key for key in state)
    assert checkpoint['meta']['iter'] == 3

    dump = str(tmp_path / 'captions.json')
    result = run_tool(
        'tools/test.py',
        CONFIG,
        osp.join(work_dir, 'epoch_1.pth'),
        '--work-dir',
        str(tmp_path / 'test'),
        '--cfg-options',
        *options,
        f'test_evaluator.0.dump_path={dump}',
    )
    assert 'caption/CIDEr' in result.stdout + result.stderr
    with open(dump) as f:
        assert len(json.load(f)) == 4
