"""The seed's learning-rate schedule as an MMEngine parameter scheduler.

LAVIS's ``linear_warmup_cosine_lr`` (lavis/common/optims.py), which every
seed recipe uses, is not a warm-up followed by a smooth cosine: it warms
up per iteration inside the first epoch only and then holds one value per
epoch. MMEngine's ``LinearLR`` + ``CosineAnnealingLR`` cannot express
either part exactly (the warm-up would run past the first epoch, the
cosine would move every iteration), hence this scheduler.
"""

import math

from mmaction.registry import PARAM_SCHEDULERS
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler


@PARAM_SCHEDULERS.register_module()
class LavisWarmupCosineLR(LRSchedulerMixin, _ParamScheduler):
    """LAVIS's ``linear_warmup_cosine_lr``, stepped every iteration.

    With ``init`` the optimizer's lr, ``E`` iterations an epoch and
    ``max_epoch = (end - begin) // E`` epochs, iteration ``i`` of epoch
    ``e`` (both counted from 0, from ``begin``) gets

    - ``e == 0``: ``min(init, warmup_start_lr + (init - warmup_start_lr)
      * i / max(warmup_iters, 1))``; a warm-up longer than the epoch stops
      where the epoch ends and the lr jumps at epoch 1, as in LAVIS;
    - ``e >= 1``: ``(init - eta_min) * 0.5 * (1 + cos(pi * e / max_epoch))
      + eta_min``, the same for every iteration of the epoch.

    An iteration-based recipe (LAVIS's ``runner_iter``) gives ``E`` as
    ``iters_per_epoch``, LAVIS's ``iters_per_inner_epoch``, with
    ``by_epoch=False`` and ``end`` = the run's iterations. An epoch-based one
    sets ``by_epoch=True, convert_to_iter_based=True`` and ``end`` = its
    epochs: MMEngine then hands over the train loader's length as ``E``.

    Args:
        optimizer (Optimizer or OptimWrapper): The wrapped optimizer.
        eta_min (float): LAVIS's ``min_lr``. Defaults to 0.
        warmup_start_lr (float): LAVIS's ``warmup_lr``. Defaults to 1e-8.
        warmup_iters (int): LAVIS's ``warmup_steps``. Defaults to 1000.
        iters_per_epoch (int): ``E``. Required unless built through
            ``convert_to_iter_based``.
        begin (int): The iteration the schedule starts at. Defaults to 0.
        end (int): The iteration it ends before (the run's length); the
            cosine counts ``(end - begin) // iters_per_epoch`` epochs.
        by_epoch (bool): Must be False once built (the lr changes within
            the first epoch).
    """

    def __init__(
        self,
        optimizer,
        eta_min: float = 0.0,
        warmup_start_lr: float = 1e-8,
        warmup_iters: int = 1000,
        iters_per_epoch: int = 0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = False,
        verbose: bool = False,
    ) -> None:
        if by_epoch:
            raise ValueError(
                'LavisWarmupCosineLR changes the lr every iteration: give '
                'by_epoch=False with iters_per_epoch, or by_epoch=True with '
                'convert_to_iter_based=True.'
            )
        if iters_per_epoch <= 0:
            raise ValueError(
                'LavisWarmupCosineLR needs iters_per_epoch > 0 (LAVIS '
                f'iters_per_inner_epoch), got {iters_per_epoch}.'
            )
        if end == INF:
            raise ValueError(
                'LavisWarmupCosineLR needs an end (the run length): its '
                'cosine runs over (end - begin) // iters_per_epoch epochs.'
            )
        self.eta_min = eta_min
        self.warmup_start_lr = warmup_start_lr
        self.warmup_iters = warmup_iters
        self.iters_per_epoch = iters_per_epoch
        # LAVIS: int(max_iters / iters_per_inner_epoch).
        self.max_epoch = max((end - begin) // iters_per_epoch, 1)
        super().__init__(
            optimizer,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=False,
            verbose=verbose,
        )

    @classmethod
    def build_iter_from_epoch(
        cls,
        *args,
        begin=0,
        end=INF,
        by_epoch=True,
        epoch_length=None,
        **kwargs,
    ):
        """Build from an epoch-based config: ``begin`` and ``end`` in
        epochs, the epoch length from the train loader."""
        if not by_epoch or not epoch_length:
            raise ValueError(
                'convert_to_iter_based needs by_epoch=True and the train '
                f'loader length (got by_epoch={by_epoch}, epoch_length='
                f'{epoch_length}).'
            )
        if end != INF:
            end = end * epoch_length
        return cls(
            *args,
            iters_per_epoch=epoch_length,
            begin=begin * epoch_length,
            end=end,
            by_epoch=False,
            **kwargs,
        )

    def lr_at(self, step: int, init_lr: float) -> float:
        """The lr of the ``step``-th iteration after ``begin``."""
        epoch, iteration = divmod(step, self.iters_per_epoch)
        if epoch == 0:
            warm = self.warmup_start_lr
            return min(
                init_lr,
                warm
                + (init_lr - warm) * iteration / max(self.warmup_iters, 1),
            )
        return (init_lr - self.eta_min) * 0.5 * (
            1.0 + math.cos(math.pi * epoch / self.max_epoch)
        ) + self.eta_min

    def _get_value(self):
        return [
            self.lr_at(self.last_step, group[f'initial_{self.param_name}'])
            for group in self.optimizer.param_groups
        ]
