"""Checkpoints through the tools: a checkpoint of another model is refused
by tools/test.py, naming the config, the checkpoint and the keys."""

import os.path as osp

import torch

from tests.helpers import REPO
from tests.tools.tool_runs import run_tool

T5_CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_t5_synthetic.py')


def test_checkpoint_records_what_it_holds(trained):
    work_dir, _, _ = trained
    checkpoint = torch.load(
        osp.join(work_dir, 'epoch_3.pth'),
        map_location='cpu',
        weights_only=True,
    )
    # The demo trains every part, so its trainable part is the whole model.
    assert checkpoint['meta']['saved_weights'] == 'trainable'
    assert len(checkpoint['meta']['architecture']) == 16
    assert 'rng_states' in checkpoint


def test_test_tool_refuses_a_checkpoint_of_another_model(trained, tmp_path):
    work_dir, _, options = trained
    checkpoint = osp.join(work_dir, 'epoch_3.pth')
    result = run_tool(
        'tools/test.py',
        T5_CONFIG,
        checkpoint,
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        *options,
        expect_success=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'CheckpointMismatchError' in output
    assert f"checkpoint '{checkpoint}' does not fit" in output
    assert f'config {T5_CONFIG}' in output
    assert 'saved from a model of another architecture' in output
    assert 'unexpected keys (head.language_model.' in output
