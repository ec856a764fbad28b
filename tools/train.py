"""Train a video captioner: ``python tools/train.py CONFIG [options]``.

The arguments are MMAction2's; the script merges them into the config and
hands it to MMEngine's Runner.
"""

import argparse
import copy
import logging
from typing import List, Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner.checkpoint import find_latest_checkpoint

from vidcap_mm.engine.launch import (
    add_launch_arguments,
    apply_launch_arguments,
    build_runner,
    end_process_group,
    use_amp,
    use_cpu_threads,
)
from vidcap_mm.engine.schedule_rescaling import rescale_schedule


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a video captioner.')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint in the work dir',
    )
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision'
    )
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the total batch size over the '
        "config's auto_scale_lr.base_batch_size",
    )
    parser.add_argument(
        '--seed', type=int, help="random seed (overrides the config's)"
    )
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='a different seed on each rank',
    )
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic cuDNN kernels',
    )
    add_launch_arguments(
        parser,
        example='train_cfg.max_epochs=2 (the schedule is stretched to fit)',
    )
    return parser.parse_args(argv)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    apply_launch_arguments(cfg, args)
    if args.amp:
        if not torch.cuda.is_available():
            raise ValueError(
                "--amp needs a GPU (MMEngine's AmpOptimWrapper); this "
                'machine has none. Train without --amp on CPU.'
            )
        use_amp(cfg)
    merge_randomness(cfg, args)
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.resume is not None:
        resolve_resume(cfg, args.resume)
    return cfg


def merge_randomness(cfg: Config, args: argparse.Namespace) -> None:
    """``--seed``, ``--deterministic`` and ``--diff-rank-seed`` replace
    those entries of the config's ``randomness``; the others stay."""
    given = dict(
        seed=args.seed,
        deterministic=args.deterministic or None,
        diff_rank_seed=args.diff_rank_seed or None,
    )
    given = {key: value for key, value in given.items() if value is not None}
    if given:
        cfg.randomness = {**(cfg.get('randomness') or {}), **given}


def merge_cfg_options(cfg: Config, options: dict) -> None:
    """Merge ``--cfg-options``; a changed ``train_cfg.max_epochs`` or
    ``max_iters`` stretches the schedule to fit
    (:func:`~vidcap_mm.engine.schedule_rescaling.rescale_schedule`)."""
    train_cfg = copy.deepcopy(cfg.get('train_cfg'))
    cfg.merge_from_dict(options)
    for key in ('max_epochs', 'max_iters'):
        # Such a variable was already substituted when the file was read.
        if key in options and f'train_cfg.{key}' not in options:
            print_log(
                f'--cfg-options {key}={options[key]} sets a variable that '
                'nothing reads any more; the run length is '
                f'train_cfg.{key}.',
                logger='current',
                level=logging.WARNING,
            )
    rescale_schedule(cfg, train_cfg, options)


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on MMEngine's lr scaling (``Runner.scale_lr``): lr times the
    total batch size over ``auto_scale_lr.base_batch_size``."""
    if (cfg.get('auto_scale_lr') or {}).get('base_batch_size') is None:
        raise ValueError(
            f'--auto-scale-lr: {cfg.filename or "the config"} has no '
            'auto_scale_lr.base_batch_size. Add auto_scale_lr = dict('
            'enable=False, base_batch_size=N) to it, N being the total batch '
            '(processes x train_dataloader.batch_size) its lr was set for, '
            'or pass --cfg-options auto_scale_lr.base_batch_size=N.'
        )
    cfg.auto_scale_lr.enable = True


def resolve_resume(cfg: Config, resume: str) -> None:
    """``--resume CKPT`` resumes from CKPT; ``--resume`` alone from the
    work directory's latest checkpoint or, when it has none yet, starts the
    run afresh from the config's ``load_from`` (e.g. an SCST run from its
    cross-entropy checkpoint), saying so. MMEngine's own auto-resume would
    start from random weights there."""
    if resume != 'auto':
        cfg.resume, cfg.load_from = True, resume
        return
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest is not None:
        cfg.resume, cfg.load_from = True, latest
        return
    start = cfg.get('load_from')
    print_log(
        f'--resume: no checkpoint in {cfg.work_dir} to resume from; '
        + (
            f'starting the run from load_from={start}'
            if start
            else 'starting the run from the initial weights'
        ),
        logger='current',
        level=logging.WARNING,
    )
    cfg.resume = False


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    use_cpu_threads(cfg, 'train_dataloader')
    build_runner(cfg).train()
    end_process_group()


if __name__ == '__main__':
    main()
