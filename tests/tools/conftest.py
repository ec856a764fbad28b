"""Shared by the tool tests: a tiny cross-entropy run on synthetic clips."""

import pytest

from tests.tools.tool_runs import CONFIG, data_options, run_tool
from vidcap_mm.datasets.synthetic import generate_synthetic_clips


@pytest.fixture(scope='session')
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
        # The demo's cosine decay ending at epoch 24, not at this run's 3:
        # the lr stays near its peak, so that the loss falls within these
        # few steps.
        'param_scheduler.1.end=24',
    )
    return work_dir, data_root, options
