"""Every config under configs/ builds, trains one step and validates.

The recipes name real checkpoints (billions of parameters) and real data;
:func:`tests.helpers.tiny_stand_in` swaps both for tiny stand-ins and keeps
the rest of each recipe. A config that starts from another run's checkpoint
(``load_from = 'work_dirs/<config>/best_*.pth'``) starts from the checkpoint
of that config's own tiny run, so the pairs (cross-entropy -> SCST, trained
-> evaluation) are checked to fit together.
"""

import copy
import glob
import math
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.config import Config

from tests.helpers import REPO, load_script, tiny_stand_in
from vidcap_mm.datasets import generate_synthetic_clips
from vidcap_mm.engine.launch import build_runner

CONFIG_ROOT = osp.join(REPO, 'configs')
CONFIGS = sorted(
    osp.relpath(path, CONFIG_ROOT)
    for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if not osp.relpath(path, CONFIG_ROOT).startswith('_base_')
)
# `work_dirs/<config name>/...`: a checkpoint of another config's run.
RUN_PATTERN = re.compile(r'^work_dirs/([^/]+)/(.+)$')


class RecipeRuns:
    """Tiny runs of the configs, each once per test session."""

    def __init__(self, root):
        self.root = root
        self.data_root = generate_synthetic_clips(
            str(root / 'clips'),
            num_train=2,
            num_val=2,
            num_test=2,
            num_frames=16,
            size=32,
            num_references=1,
        )['root']
        self.runs = {}

    def config(self, name: str) -> Config:
        """The config ``name`` (relative to configs/) with tiny stand-ins
        and its work directory; a ``load_from`` of another config's run
        points at that run's checkpoint (the run is made first)."""
        cfg = Config.fromfile(osp.join(CONFIG_ROOT, name))
        tiny_stand_in(cfg, self.data_root)
        stem = osp.splitext(name)[0]
        cfg.work_dir = str(self.root / 'work_dirs' / stem.replace('/', '_'))
        cfg.experiment_name = stem.replace('/', '_')
        cfg.launcher = 'none'
        match = RUN_PATTERN.match(cfg.get('load_from') or '')
        if match is not None:
            source, pattern = match.groups()
            source_cfg = self.run(self._find(source, name))['cfg']
            cfg.load_from = osp.join(source_cfg.work_dir, pattern)
        return cfg

    def _find(self, stem: str, name: str) -> str:
        matches = [c for c in CONFIGS if osp.basename(c) == f'{stem}.py']
        if len(matches) != 1:
            raise AssertionError(
                f'{name}: load_from names work_dirs/{stem}, but configs/ '
                f'holds {len(matches)} configs named {stem}.py'
            )
        return matches[0]

    def run(self, name: str) -> dict:
        """Train (or, for evaluation-only configs, test) ``name`` once."""
        if name not in self.runs:
            cfg = self.config(name)
            runner = build_runner(copy.deepcopy(cfg))
            if cfg.get('train_cfg') is not None:
                runner.train()
                metrics = None
            else:
                metrics = runner.test()
            self.runs[name] = dict(
                cfg=cfg,
                runner=runner,
                metrics=metrics,
                load_from=runner._load_from,
            )
        return self.runs[name]


@pytest.fixture(scope='module')
def recipe_runs(tmp_path_factory):
    # One thread: the tiny models' matrices are too small to share, and
    # on a busy 2-core machine the threads' waiting made a run 3x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield RecipeRuns(tmp_path_factory.mktemp('recipes'))
    torch.set_num_threads(threads)


def test_every_recipe_is_covered():
    names = {osp.splitext(c)[0] for c in CONFIGS}
    assert set(RECIPES) <= names
    assert {'msrvtt_flant5xl_eval', 'msvd_flant5xl_eval'} <= names


@pytest.mark.parametrize('name', CONFIGS)
def test_config_trains_and_validates(recipe_runs, name):
    run = recipe_runs.run(name)
    runner, cfg = run['runner'], run['cfg']
    if cfg.get('load_from'):
        # The glob became the source run's best checkpoint.
        (checkpoint,) = glob.glob(cfg.load_from)
        assert run['load_from'] == checkpoint
    if run['metrics'] is not None:  # evaluation only
        assert set(run['metrics']) >= {
            'caption/CIDEr',
            'caption/BLEU_4',
            'caption/CIDEr_plus_BLEU_4',
        }
        return
    assert runner.iter == 1
    hub = runner.message_hub
    losses = hub.get_scalar('train/loss').data[0]
    assert len(losses) == 1 and math.isfinite(losses[0])
    objective = cfg.model.get('objective')
    if objective is not None and objective.type == 'SCSTObjective':
        assert 'train/loss_scst' in hub.log_scalars
    assert 'val/caption/CIDEr_plus_BLEU_4' in hub.log_scalars
    # The seed's CIDEr + BLEU-4, or the demo's share of right captions.
    best = cfg.default_hooks.checkpoint.save_best.replace('/', '_')
    assert glob.glob(osp.join(cfg.work_dir, f'best_{best}_*.pth'))


@pytest.mark.parametrize(
    'name, checkpoint, load_from',
    [
        ('msrvtt_flant5xl_zeroshot.py', None, None),
        (
            'msrvtt_flant5xl_eval.py',
            None,
            'work_dirs/msrvtt_flant5xl_ft/best_caption_CIDEr_plus_BLEU_4_*.pth',
        ),
        ('msrvtt_flant5xl_eval.py', 'scst.pth', 'scst.pth'),
    ],
)
def test_test_tool_checkpoint_is_optional(
    monkeypatch, name, checkpoint, load_from
):
    # A zero-shot config has no checkpoint to give tools/test.py.
    tool = load_script(osp.join(REPO, 'tools', 'test.py'))
    config = osp.join(CONFIG_ROOT, name)
    argv = ['test.py', config] + ([checkpoint] if checkpoint else [])
    monkeypatch.setattr(sys, 'argv', argv)
    cfg = tool.merge_args(Config.fromfile(config), tool.parse_args())
    assert cfg.load_from == load_from


# The seed's reference configurations (shared/docs/seed-method.md):
# checkpoint, LoRA, frames, batch per GPU, lr, minimum lr, run length.
T5, OPT27, OPT67 = (
    'Salesforce/blip2-flan-t5-xl',
    'Salesforce/blip2-opt-2.7b',
    'Salesforce/blip2-opt-6.7b',
)
# The seed's Vicuna model: BLIP-2 assembled from InstructBLIP's weights
# (tools/model_converters/instructblip_to_blip2.py).
VICUNA = 'checkpoints/blip2-vicuna-7b'
RECIPES = {
    'msrvtt_flant5xl_ft': (T5, True, 8, 64, 5e-5, 1e-5, 15000, 'iters'),
    'msrvtt_flant5xl_scst': (T5, True, 16, 2, 1e-5, 1e-6, 20000, 'iters'),
    'msrvtt_opt2.7b_ft': (OPT27, False, 8, 64, 1e-6, 0, 30, 'epochs'),
    'msrvtt_opt2.7b_scst': (OPT27, False, 4, 16, 1e-6, 0, 20, 'epochs'),
    'msrvtt_opt6.7b_ft': (OPT67, False, 8, 64, 1e-6, 0, 30, 'epochs'),
    'msrvtt_vicuna7b_ft': (VICUNA, False, 8, 16, 1e-5, 0, 20, 'epochs'),
    'msvd_flant5xl_ft': (T5, True, 16, 64, 5e-5, 1e-5, 15000, 'iters'),
    'msvd_flant5xl_scst': (T5, True, 16, 2, 1e-6, 1e-7, 15000, 'iters'),
    'vatex_flant5xl_ft': (T5, True, 8, 64, 5e-5, 1e-5, 20, 'epochs'),
}


# LAVIS's iters_per_inner_epoch of the iteration-based recipes.
INNER_EPOCHS = {
    'msrvtt_flant5xl_ft': 500,
    'msrvtt_flant5xl_scst': 1000,
    'msvd_flant5xl_ft': 1000,
    'msvd_flant5xl_scst': 1000,
}


def _frames(pipeline):
    return {step.num_frames for step in pipeline if 'num_frames' in step}


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipe_hyperparameters(name):
    pretrained, lora, frames, batch, lr, min_lr, length, unit = RECIPES[name]
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, f'{name}.py'))
    model = cfg.model
    assert model.pretrained == pretrained
    assert model.backbone.dtype == 'float16'
    assert model.head.dtype == 'bfloat16'
    if lora:
        assert model.head.lora == dict(
            r=8, lora_alpha=16, lora_dropout=0.05, target_modules=['q', 'v']
        )
    else:
        assert 'lora' not in model.head
    assert _frames(cfg.train_dataloader.dataset.pipeline) == {frames}
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert _frames(loader.dataset.pipeline) == {frames}
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == 8 * batch
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr) == ('AdamW', lr)
    assert optimizer.weight_decay == 0.05
    assert cfg.optim_wrapper.constructor == 'LavisParamGroupsConstructor'
    assert cfg.randomness == dict(seed=42, diff_rank_seed=True)
    assert cfg.train_dataloader.drop_last is True
    assert model.backbone.train_final_norm is True
    assert model.backbone.final_norm_eps == 1e-5  # LAVIS's ln_vision
    (schedule,) = cfg.param_scheduler
    assert schedule.type == 'LavisWarmupCosineLR'
    assert (schedule.warmup_start_lr, schedule.warmup_iters) == (1e-8, 1000)
    assert (schedule.eta_min, schedule.begin, schedule.end) == (
        min_lr,
        0,
        length,
    )
    if unit == 'iters':
        inner_epoch = INNER_EPOCHS[name]
        assert cfg.train_cfg.type == 'IterBasedTrainLoop'
        assert cfg.train_cfg.max_iters == length
        assert cfg.train_cfg.val_interval == inner_epoch
        assert not schedule.by_epoch
        assert schedule.iters_per_epoch == inner_epoch
        checkpoint = cfg.default_hooks.checkpoint
        assert (checkpoint.by_epoch, checkpoint.interval) == (
            False,
            inner_epoch,
        )
        assert cfg.log_processor.by_epoch is False
    else:
        assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
        assert cfg.train_cfg.max_epochs == length
        assert cfg.train_cfg.val_interval == 1
        assert schedule.by_epoch and schedule.convert_to_iter_based
    if pretrained in (OPT27, OPT67):
        # The seed's OPT loss targets BOS; its frozen OPT keeps dropout.
        assert model.head.bos_as_target is True
        assert model.head.eval_when_frozen is False
    assert (
        cfg.default_hooks.checkpoint.save_best == 'caption/CIDEr_plus_BLEU_4'
    )
    if name.endswith('_scst'):
        xe = name.replace('_scst', '_ft')
        objective = dict(type='SCSTObjective', num_candidates=5)
        if lora:  # T5: the seed's max_length=32 counts the start token
            objective['generation_cfg'] = dict(max_new_tokens=31)
        assert cfg.model.objective == objective
        # The seed's recipes run the seed's reward.
        assert cfg.custom_hooks == [
            dict(
                type='SCSTRewardHook',
                terms=[dict(type='CiderDRewardTerm', mode='seed')],
            )
        ]
        if name == 'msrvtt_opt2.7b_scst':
            # The seed's YAML starts it from the pretrained BLIP-2.
            assert cfg.load_from is None
        else:
            assert cfg.load_from == (
                f'work_dirs/{xe}/best_caption_CIDEr_plus_BLEU_4_*.pth'
            )
    elif pretrained == VICUNA:
        # The seed's Q-Former reads no text; its LAVIS weights, converted.
        assert 'objective' not in cfg.model
        assert 'instruction' not in cfg.model.neck
        assert cfg.model.head.prompt == ''
        assert cfg.load_from == (
            'checkpoints/blip2_pretrained_vicuna7b_vidcap.pth'
        )
    else:
        assert 'objective' not in cfg.model
        assert cfg.load_from is None
