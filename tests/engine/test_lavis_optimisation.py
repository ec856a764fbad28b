"""The seed's optimisation as the recipes build it: LAVIS's
linear_warmup_cosine_lr (LavisWarmupCosineLR) and its two weight-decay
groups (LavisParamGroupsConstructor).

The expected learning rates are LAVIS's formulas written out here
(lavis/common/optims.py, as the seed's runners call them): in epoch 0,
``min(init, warm + (init - warm) * i / warmup_steps)`` at its i-th
iteration; in epoch e >= 1, ``(init - min) * 0.5 * (1 + cos(pi * e /
max_epoch)) + min`` for all of its iterations.
"""

import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmaction.registry import OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from tests.helpers import REPO, build_captioner
from vidcap_mm.engine.lavis_param_groups import split_weight_decay


def lavis_lr(step, init, minimum, epoch_length, max_epoch, warm=1e-8):
    epoch, i = divmod(step, epoch_length)
    if epoch == 0:
        return min(init, warm + (init - warm) * i / 1000)
    return (init - minimum) * 0.5 * (
        1.0 + math.cos(math.pi * epoch / max_epoch)
    ) + minimum


def recipe_lrs(name, steps, epoch_length=None):
    """The lr of each of ``steps`` (sorted) under the recipe's schedule."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))
    optimizer = torch.optim.AdamW(
        [torch.nn.Parameter(torch.zeros(2, 2))],
        lr=cfg.optim_wrapper.optimizer.lr,
    )
    wrapper = OptimWrapper(optimizer)
    (schedule,) = [
        PARAM_SCHEDULERS.build(
            entry,
            default_args=dict(optimizer=wrapper, epoch_length=epoch_length),
        )
        for entry in cfg.param_scheduler
    ]
    lrs, step = {}, 0
    for wanted in steps:
        while step < wanted:
            wrapper.step()
            schedule.step()
            step += 1
        lrs[wanted] = optimizer.param_groups[0]['lr']
    return cfg, lrs


CHECKED = [0, 1, 499, 500, 999, 1000, 7500]


def test_iteration_based_recipe_runs_lavis_schedule():
    # msrvtt_flant5xl_ft: 15000 iterations in 30 inner epochs of 500, so
    # the 1000-step warm-up stops at 499 (about half the lr) and the lr
    # jumps at 500.
    cfg, lrs = recipe_lrs('msrvtt_flant5xl_ft', CHECKED + [14999])
    for step, lr in lrs.items():
        assert lr == lavis_lr(step, 5e-5, 1e-5, 500, 30), step
    assert lrs[499] == pytest.approx(2.4955e-5, rel=1e-4)
    assert lrs[500] == pytest.approx(4.989e-5, rel=1e-4)
    assert lrs[999] == lrs[500]  # constant within an inner epoch


def test_epoch_based_recipe_runs_lavis_schedule():
    # msrvtt_opt2.7b_ft on 8 GPUs: 254 iterations an epoch, 30 epochs.
    last = 30 * 254 - 1
    cfg, lrs = recipe_lrs(
        'msrvtt_opt2.7b_ft',
        sorted(CHECKED + [253, 254, last]),
        epoch_length=254,
    )
    for step, lr in lrs.items():
        assert lr == lavis_lr(step, 1e-6, 0.0, 254, 30), step
    # Epoch 0 ends within the warm-up; epoch 1 starts on the cosine.
    assert lrs[253] == pytest.approx(1e-8 + (1e-6 - 1e-8) * 0.253)
    assert lrs[254] == pytest.approx(9.97e-7, rel=1e-3)
    assert lrs[last] == pytest.approx(2.74e-9, rel=1e-3)


def test_warm_up_within_one_epoch_reaches_the_peak():
    # An epoch longer than the warm-up: the lr reaches init at step 1000
    # and stays there for the rest of epoch 0.
    _, lrs = recipe_lrs('vatex_flant5xl_ft', [999, 1000, 1500], 2000)
    assert lrs[999] < 5e-5
    assert lrs[1000] == lrs[1500] == 5e-5


def test_schedule_resumes_from_its_state():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])
    build = dict(
        type='LavisWarmupCosineLR',
        eta_min=0.0,
        warmup_iters=3,
        iters_per_epoch=2,
        end=10,
    )
    first = PARAM_SCHEDULERS.build(
        build, default_args=dict(optimizer=optimizer)
    )
    for _ in range(5):
        optimizer.step()
        first.step()
    state = first.state_dict()
    lr = optimizer.param_groups[0]['lr']
    resumed_optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])
    resumed = PARAM_SCHEDULERS.build(
        build, default_args=dict(optimizer=resumed_optimizer)
    )
    resumed.load_state_dict(state)
    for _ in range(3):
        optimizer.step()
        first.step()
        resumed_optimizer.step()
        resumed.step()
        assert (
            resumed_optimizer.param_groups[0]['lr']
            == (optimizer.param_groups[0]['lr'])
        )
    assert lr == lavis_lr_short(5)


def lavis_lr_short(step):
    """LAVIS's schedule with warm-up 3, epochs of 2, 5 epochs, init 1e-3
    (AdamW's default lr), min 0."""
    epoch, i = divmod(step, 2)
    if epoch == 0:
        return min(1e-3, 1e-8 + (1e-3 - 1e-8) * i / 3)
    return 1e-3 * 0.5 * (1.0 + math.cos(math.pi * epoch / 5))


@pytest.mark.parametrize(
    'options, message',
    [
        (dict(iters_per_epoch=0, end=10), 'iters_per_epoch > 0'),
        (dict(iters_per_epoch=2), 'needs an end'),
        (dict(iters_per_epoch=2, end=10, by_epoch=True), 'every iteration'),
    ],
)
def test_schedule_settings_are_checked(options, message):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match=message):
        PARAM_SCHEDULERS.build(
            dict(type='LavisWarmupCosineLR', **options),
            default_args=dict(optimizer=optimizer),
        )


# LAVIS's rule, on LAVIS's own names of our parameters (the converter test's
# hand-written layout): no decay for < 2 dimensions or bias / ln / bn.
def lavis_no_decay(lavis_name, param):
    return param.ndim < 2 or any(k in lavis_name for k in ('bias', 'ln', 'bn'))


@pytest.mark.parametrize('kind', ['opt', 't5'])
def test_no_decay_group_is_lavis_group(kind):
    from tests.tools.test_lavis_converter import FAMILY, lavis_key

    parts = dict(backbone=dict(train_final_norm=True))
    if kind == 't5':
        parts['head'] = dict(
            lora=dict(r=2, lora_alpha=4, target_modules=['q', 'v'])
        )
    model = build_captioner(kind, **parts)
    decay, no_decay = split_weight_decay(model)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert set(decay) | set(no_decay) == set(trainable)
    expected = {
        name
        for name, param in trainable.items()
        if lavis_no_decay(lavis_key(name, FAMILY[kind]), param)
    }
    assert set(no_decay) == expected
    # Both kinds are there: the Q-Former's biases and norms, the ViT's
    # final norm (ln_vision) without; its matrices and the query tokens
    # (3-d) with decay.
    assert 'backbone.vision_model.post_layernorm.weight' in no_decay
    assert 'neck.query_tokens' in decay
    assert any(n.endswith('.bias') for n in no_decay)
    if kind == 't5':
        assert any('lora_A' in n for n in decay)

    optim_wrapper = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='LavisParamGroupsConstructor',
            optim_wrapper_cfg=dict(
                type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
            ),
        )
    )(model)
    groups = optim_wrapper.optimizer.param_groups
    assert [g['weight_decay'] for g in groups] == [0.05, 0.0]
    assert [len(g['params']) for g in groups] == [len(decay), len(no_decay)]
    assert groups[1]['params'][0] is trainable[no_decay[0]]


def test_constructor_refuses_other_paramwise_options():
    with pytest.raises(ValueError, match='only no_decay_keys'):
        OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(
                type='LavisParamGroupsConstructor',
                optim_wrapper_cfg=dict(
                    type='OptimWrapper', optimizer=dict(type='AdamW', lr=1)
                ),
                paramwise_cfg=dict(bias_decay_mult=0.0),
            )
        )(torch.nn.Linear(2, 2))


def test_groups_under_fsdp_are_the_unwrapped_models(tmp_path):
    # FSDP's parameters are 1-d shards between steps: the groups must still
    # follow the parameters' real shapes.
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    subprocess.run(
        [
            sys.executable,
            '-m',
            'torch.distributed.run',
            '--nproc_per_node=2',
            '--standalone',
            '--local-addr=127.0.0.1',
            osp.join(REPO, 'tests', 'engine', 'fsdp_weight_decay.py'),
            str(tmp_path),
        ],
        check=True,
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    model = build_captioner('opt', backbone=dict(train_final_norm=True))
    decay, no_decay = split_weight_decay(model)
    for rank in (0, 1):
        with open(tmp_path / f'rank{rank}.json') as f:
            groups = json.load(f)
        assert groups == [
            dict(weight_decay=0.05, params=decay),
            dict(weight_decay=0.0, params=no_decay),
        ]
