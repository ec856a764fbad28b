"""Exact resume: the training process's random states travel with the
checkpoint, and validation does not draw from them."""

import logging
from typing import Optional

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ...datasets.sample_random_state import (
    get_random_states,
    sample_random_states,
    set_random_states,
)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random states of the training process in every checkpoint
    and restore them on ``--resume``, so that the iterations after a resume
    draw the same dropout masks and samples as an uninterrupted run.

    MMEngine re-seeds the process when it resumes and saves no generator
    state, so a resumed run drew new random numbers from its first
    iteration on. What this hook adds:

    - ``rng_states`` in each checkpoint (Python, numpy, torch CPU and CUDA
      generators of the saving process: rank 0), restored before the first
      resumed iteration. A plain ``load_from`` (e.g. SCST from a
      cross-entropy checkpoint) starts a new run and keeps its own seed.
    - Validation runs on a copy: the states are put back after it, so
      validating (or not) does not change training, and the states in a
      checkpoint saved before validation are the ones the next training
      iteration starts from. A best checkpoint, saved during validation,
      stores the training states too.

    Data loading draws from per-sample streams seeded by the sampler
    (:class:`EpochSeededSampler`); without it, resumed dataloader workers
    restart their streams and the run warns that resume is not exact.
    Under ``diff_rank_seed`` the other ranks restore rank 0's states (their
    own are not gathered).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None
        self._training_states: Optional[dict] = None

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        sampler = loader.sampler
        seeds_samples = hasattr(sampler, 'sample_states') or hasattr(
            getattr(loader.batch_sampler, 'sampler', None), 'sample_states'
        )
        if sample_random_states(loader.dataset) and not seeds_samples:
            print_log(
                f'RandomStateHook: the train sampler is '
                f'{type(sampler).__name__}, which does not seed the '
                "datasets' per-sample streams; use "
                "sampler=dict(type='EpochSeededSampler') for a resume that "
                'samples the same frames as an uninterrupted run.',
                logger='current',
                level=logging.WARNING,
            )
        # A new dataloader iterator draws its workers' base seed from the
        # global torch generator, and with persistent workers only the first
        # pass makes one: a resumed run would draw once more than an
        # uninterrupted one. The loader's own generator keeps that draw out
        # of the global stream (samples are seeded by the sampler anyway).
        if loader.generator is None:
            loader.generator = torch.Generator().manual_seed(runner.seed)
        if self._loaded is not None and runner.iter > 0:
            set_random_states(self._loaded)
            print_log(
                f'RandomStateHook: random states restored at iteration '
                f'{runner.iter}',
                logger='current',
            )
        self._loaded = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('rng_states')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Fresh copies either way: the getters return new objects.
        states = self._training_states or get_random_states()
        checkpoint['rng_states'] = states

    def before_val(self, runner) -> None:
        self._training_states = get_random_states()

    def after_val(self, runner) -> None:
        if self._training_states is not None:
            set_random_states(self._training_states)
            self._training_states = None
