"""``--amp`` follows the model's precision; TF32 is a config switch."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.helpers import REPO
from vidcap_mm.engine.launch import allow_tf32, use_amp

# The training recipes (the evaluation and zero-shot ones do not train).
RECIPES = sorted(
    p
    for p in glob.glob(osp.join(REPO, 'configs', '*.py'))
    if p.endswith(('_ft.py', '_scst.py'))
)


@pytest.mark.parametrize('path', RECIPES, ids=osp.basename)
def test_amp_of_every_recipe_is_bfloat16_without_loss_scaling(path):
    assert len(RECIPES) == 9
    cfg = Config.fromfile(path)
    use_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)


def tiny(kind):
    return Config.fromfile(
        osp.join(REPO, 'configs', 'demo', f'tiny_{kind}_synthetic.py')
    )


def test_amp_without_a_head_dtype():
    t5, opt = tiny('t5'), tiny('opt')
    use_amp(t5)
    use_amp(opt)
    assert (t5.optim_wrapper.dtype, t5.optim_wrapper.loss_scale) == (
        'bfloat16',
        dict(enabled=False),
    )
    assert (opt.optim_wrapper.dtype, opt.optim_wrapper.loss_scale) == (
        'float16',
        'dynamic',
    )


def test_float16_with_t5_is_refused():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'msvd_flant5xl_ft.py'))
    cfg.optim_wrapper.dtype = 'float16'
    with pytest.raises(ValueError, match='T5 overflows in float16'):
        use_amp(cfg)


def test_amp_needs_an_optim_wrapper():
    cfg = tiny('opt')
    cfg.optim_wrapper.type = 'ApexOptimWrapper'
    with pytest.raises(ValueError, match='needs an OptimWrapper'):
        use_amp(cfg)


def test_tf32_is_on_unless_the_config_says_otherwise():
    before = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    try:
        cfg = tiny('opt')
        allow_tf32(cfg)
        assert torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32
        cfg.env_cfg = dict(cfg.get('env_cfg') or {}, allow_tf32=False)
        allow_tf32(cfg)
        assert not torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32
    finally:
        (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
        ) = before
