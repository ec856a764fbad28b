"""In-process training runs of the tiny demo config on synthetic clips."""

import copy
import os.path as osp

from mmengine.config import Config
from mmengine.hooks import Hook

from tests.helpers import REPO
from vidcap_mm.engine.launch import build_runner

DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')
_runs = 0


def tiny_run_cfg(work_dir, data_root, num_workers=0, **options):
    """The demo config on the clips of ``data_root``: batch 4, logging
    every iteration."""
    cfg = Config.fromfile(DEMO_CONFIG)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.ann_file = f'{data_root}/annotations/{split}.json'
        loader.dataset.data_prefix.video = f'{data_root}/videos'
        loader.batch_size = 4
        loader.num_workers = num_workers
        loader.persistent_workers = num_workers > 0
    cfg.work_dir = str(work_dir)
    # A name per run: runners built in the same second would otherwise
    # share MMEngine's message hub (its logged losses).
    global _runs
    _runs += 1
    cfg.experiment_name = f'{osp.basename(str(work_dir))}_{_runs}'
    cfg.launcher = 'none'
    # Java-free scores: METEOR's Java start-up would take most of the time.
    # The share of right captions picks the demo's best checkpoint.
    cfg.val_evaluator = [
        dict(
            type='CaptionMetric', scorers=('BLEU', 'CIDEr'), tokenizer='python'
        ),
        dict(type='SyntheticCaptionAccuracy'),
    ]
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
    cfg.merge_from_dict(copy.deepcopy(options))
    return cfg


class StopAfter(Hook):
    """Stop training after ``iters`` iterations (an interrupted run)."""

    priority = 'LOWEST'

    def __init__(self, iters):
        self.iters = iters

    def after_train_iter(self, runner, batch_idx, data_batch, outputs):
        if runner.iter + 1 >= self.iters:
            runner.train_loop.stop_training = True


def train(cfg, stop_after=None):
    """Train; returns the logged loss of every iteration, by iteration."""
    runner = build_runner(copy.deepcopy(cfg))
    if stop_after is not None:
        runner.register_hook(StopAfter(stop_after))
    runner.train()
    end_persistent_workers(runner)
    history = runner.message_hub.get_scalar('train/loss')
    return runner, list(history.data[0])


def end_persistent_workers(runner) -> None:
    """Stop the run's persistent dataloader workers now. Left to the
    garbage collector, they were stopped during a later run, which then
    waited 5 s on each (torch's join timeout): 57 s instead of 17 s for
    a test after one with persistent workers."""
    for name in ('_train_loop', '_val_loop', '_test_loop'):
        loop = getattr(runner, name, None)
        loader = getattr(loop, 'dataloader', None)
        iterator = getattr(loader, '_iterator', None)
        if iterator is not None:
            iterator._shutdown_workers()
            loader._iterator = None
