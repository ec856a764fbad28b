"""tools/test.py's command line reaches the config in the right order."""

import os.path as osp
import runpy
import sys

from mmengine.config import Config

from tests.helpers import REPO

CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')


def test_cfg_options_reach_the_evaluator_that_dump_extends(monkeypatch):
    tool = runpy.run_path(osp.join(REPO, 'tools', 'test.py'))
    monkeypatch.setattr(
        sys,
        'argv',
        [
            'test.py',
            CONFIG,
            'model.pth',
            '--dump',
            'captions.json',
            '--cfg-options',
            'test_evaluator.0.tokenizer=python',
        ],
    )
    args = tool['parse_args']()
    cfg = tool['merge_args'](Config.fromfile(CONFIG), args)
    metric, accuracy = cfg.test_evaluator
    assert accuracy['type'] == 'SyntheticCaptionAccuracy'
    assert metric['type'] == 'CaptionMetric'
    assert metric['tokenizer'] == 'python'
    assert metric['dump_path'] == 'captions.json'
    assert cfg.load_from == 'model.pth'
