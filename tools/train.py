"""Train a video captioner: ``python tools/train.py CONFIG [options]``.

The arguments are MMAction2's; the script merges them into the config and
hands it to MMEngine's Runner.
"""

import argparse
import logging

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner.checkpoint import find_latest_checkpoint

from vidcap_mm.engine.launch import (
    add_launch_arguments,
    apply_launch_arguments,
    build_runner,
)


def parse_args() -> argparse.Namespace:
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
        help='scale the learning rate with the total batch size',
    )
    parser.add_argument('--seed', type=int, help='random seed')
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
    add_launch_arguments(parser, example='train_cfg.max_epochs=2')
    return parser.parse_args()


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
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(
                f'--amp needs an OptimWrapper, the config has {wrapper}.'
            )
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness') is None:
        cfg.randomness = dict(
            seed=args.seed,
            diff_rank_seed=args.diff_rank_seed,
            deterministic=args.deterministic,
        )
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.resume is not None:
        resolve_resume(cfg, args.resume)
    return cfg


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
    build_runner(cfg).train()


if __name__ == '__main__':
    main()
