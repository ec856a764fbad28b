"""Stop the run at the first non-finite loss or gradient, or skip such
steps."""

import logging
from typing import List, Optional

from mmaction.registry import HOOKS
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop

from vidcap_mm.engine.non_finite_guard import (
    NonFiniteStepGuard,
    NonFiniteTrainingError,
    StepReport,
)

from .runner_model import runner_model

#: The logged count of skipped steps (LogProcessor shows its current value:
#: the name matches none of its smoothed patterns).
SKIPPED_STEPS = 'train/skipped_steps'
#: Video ids and parameter names listed in a message at most.
LISTED = 16


def _scalar(value) -> float:
    # Logged losses still require grad; float() of such a tensor warns.
    return value.item() if hasattr(value, 'item') else float(value)


def _listing(names: List[str]) -> str:
    more = len(names) - LISTED
    listed = ', '.join(names[:LISTED])
    return listed + (f', ... and {more} more' if more > 0 else '')


@HOOKS.register_module()
class NonFiniteStepHook(Hook):
    """Stops the run at the first NaN or infinite loss or gradient, or skips
    such steps.

    Before training it puts a
    :class:`~vidcap_mm.engine.non_finite_guard.NonFiniteStepGuard` on the
    runner's optimizer wrapper, which never applies the update of such a
    step (see there for ``AmpOptimWrapper``, gradient accumulation and
    DDP). After each iteration:

    - by default it raises :class:`NonFiniteTrainingError` naming the
      iteration (and epoch), the step's logged losses, the learning rates
      and the video ids of the batch;
    - with ``skip=True`` it warns with the same details, counts the skipped
      steps (logged as ``skipped_steps``, carried over by ``--resume``), and
      still stops after ``max_consecutive_skips`` skipped steps in a row, so
      that a diverged run does not go on for ever.

    Its priority (``ABOVE_NORMAL``) runs it before the logger, the parameter
    schedulers and the checkpoint hook in ``after_train_iter``, and it
    raises there, before validation: a stopped run saves no checkpoint (and
    no "best" one) after the step that went wrong.

    Args:
        skip (bool): Skip such steps instead of stopping. Defaults to False.
        max_consecutive_skips (int): With ``skip``, stop after this many
            skipped steps in a row. Defaults to 10.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, skip: bool = False, max_consecutive_skips: int = 10):
        if not isinstance(max_consecutive_skips, int) or (
            max_consecutive_skips < 1
        ):
            raise ValueError(
                'NonFiniteStepHook: max_consecutive_skips='
                f'{max_consecutive_skips!r}; expected a positive integer.'
            )
        self.skip = skip
        self.max_consecutive_skips = max_consecutive_skips
        self.guards: List[NonFiniteStepGuard] = []
        self.skipped_steps = 0
        self.consecutive_skips = 0
        self._streak_start = 0

    def before_train(self, runner) -> None:
        model = runner_model(runner)
        names = {id(p): name for name, p in model.named_parameters()}
        wrappers = runner.optim_wrapper
        if isinstance(wrappers, OptimWrapperDict):
            wrappers = list(wrappers.values())
        else:
            wrappers = [wrappers]
        self.guards = [NonFiniteStepGuard(w, names) for w in wrappers]
        # A resumed run (it starts past iteration 0) goes on counting from
        # the message hub's logs, which the checkpoint restored.
        logged = runner.message_hub.log_scalars.get(SKIPPED_STEPS)
        self.skipped_steps = 0
        if runner.iter > 0 and logged is not None:
            self.skipped_steps = int(logged.current())
        self.consecutive_skips = 0

    def after_train(self, runner) -> None:
        for guard in self.guards:
            guard.remove()
        self.guards = []

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch=None,
        outputs: Optional[dict] = None,
    ) -> None:
        report = StepReport()
        for guard in self.guards:
            report = report.merge(guard.pop_report())
        details = ''
        if report.found:
            details = self._details(runner, data_batch, outputs, report)
            if not self.skip:
                raise NonFiniteTrainingError(
                    f'NonFiniteStepHook: {self._found(report)} at '
                    f'{self._where(runner, batch_idx)}; no update was '
                    f'applied and the run stops.{details}\nLower the '
                    "learning rate or check the batch's videos; to skip "
                    'such steps instead, set skip=True on NonFiniteStepHook '
                    '(default_hooks.non_finite).'
                )
        if not self.skip:
            return
        self.skipped_steps += report.skipped
        if report.skipped:
            if not self.consecutive_skips:
                self._streak_start = runner.iter + 1
            self.consecutive_skips += report.skipped
        elif report.stepped:
            self.consecutive_skips = 0
        runner.message_hub.update_scalar(SKIPPED_STEPS, self.skipped_steps)
        if not (report.found or report.skipped):
            return
        what = (
            self._found(report)
            if report.found
            else 'a non-finite loss earlier in this accumulation window'
        )
        if report.skipped:
            outcome = (
                f'optimizer step skipped ({self.skipped_steps} skipped so '
                f'far, {self.consecutive_skips} in a row; the run stops at '
                f'{self.max_consecutive_skips} in a row)'
            )
        else:
            outcome = (
                'the update at the end of this accumulation window will be '
                'skipped'
            )
        event = (
            f'{what} at {self._where(runner, batch_idx)}: {outcome}.{details}'
        )
        if self.consecutive_skips >= self.max_consecutive_skips:
            raise NonFiniteTrainingError(
                f'NonFiniteStepHook: {self.consecutive_skips} optimizer steps '
                'in a row were skipped (iterations '
                f'{self._streak_start}-{runner.iter + 1}): training has '
                f'diverged; stopping. The last one: {event}\nLower the '
                'learning rate, or resume from an earlier checkpoint.'
            )
        print_log(
            f'NonFiniteStepHook: {event}',
            logger='current',
            level=logging.WARNING,
        )

    @staticmethod
    def _where(runner, batch_idx: int) -> str:
        # Counted from 1, as the log counts them.
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += (
                f' (epoch {runner.epoch + 1}, batch {batch_idx + 1}/'
                f'{len(runner.train_dataloader)})'
            )
        return where

    @staticmethod
    def _found(report: StepReport) -> str:
        found = []
        for what, ranks in (
            ('loss', report.loss_ranks),
            ('gradient', report.grad_ranks),
        ):
            if ranks:
                where = ''
                if dist.get_world_size() > 1:
                    where = f' on process(es) {", ".join(map(str, ranks))}'
                found.append(f'non-finite {what}{where}')
        return ' and '.join(found)

    @staticmethod
    def _details(runner, data_batch, outputs, report: StepReport) -> str:
        lines = []
        if outputs:
            values = ', '.join(
                f'{key}={_scalar(value):.6g}' for key, value in outputs.items()
            )
            lines.append(f'logged values: {values}')
        if report.bad_grads:
            lines.append(
                f'non-finite gradients in {len(report.bad_grads)} of '
                f'{report.num_grads} trainable tensors: '
                f'{_listing(report.bad_grads)}'
            )
        rates = []
        for name, groups in runner.optim_wrapper.get_lr().items():
            if len(set(groups)) == 1:
                rates.append(f'{name}={groups[0]:.6g}')
            else:
                values = ', '.join(f'{value:.6g}' for value in groups)
                rates.append(f'{name}={values} (per parameter group)')
        lines.append(f'learning rate: {", ".join(rates)}')
        samples = []
        if isinstance(data_batch, dict):
            samples = data_batch.get('data_samples') or []
        video_ids = []
        for sample in samples:
            meta = getattr(sample, 'metainfo', {})
            video_ids.append(
                repr(meta.get('video_id', meta.get('filename', '?')))
            )
        whose = (
            f' of process {dist.get_rank()}'
            if dist.get_world_size() > 1
            else ''
        )
        lines.append(
            f'videos in the batch{whose}: {_listing(video_ids) or "unknown"}'
        )
        return ''.join(f'\n  {line}' for line in lines)
