"""tools/test.py's command line reaches the config in the right order."""

import os.path as osp
import runpy
import sys

from mmengine.config import Config

from tests.helpers import REPO

# Its test evaluator is one dict (the recipes' CaptionMetric), which --dump
# turns into a list.
CONFIG = osp.join(REPO, 'configs', 'msvd_flant5xl_eval.py')


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
            'test_evaluator.tokenizer=python',
        ],
    )
    args = tool['parse_args']()
    cfg = Config.fromfile(CONFIG)
    assert cfg.test_evaluator.type == 'CaptionMetric'
    cfg = tool['merge_args'](cfg, args)
    (metric,) = cfg.test_evaluator
    assert metric['type'] == 'CaptionMetric'
    assert metric['tokenizer'] == 'python'
    assert metric['dump_path'] == 'captions.json'
    assert cfg.load_from == 'model.pth'
