"""Keep non-finite losses and gradients out of an optimizer's updates.

:class:`NonFiniteStepGuard` sits between the backward pass and the
optimizer step of a built MMEngine optimizer wrapper; the
:class:`~vidcap_mm.engine.hooks.NonFiniteStepHook` installs it and decides,
with the runner's context at hand, whether the run stops or goes on.
"""

import functools
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional

import torch
from mmengine import dist
from mmengine.optim import AmpOptimWrapper, ApexOptimWrapper, OptimWrapper


class NonFiniteTrainingError(FloatingPointError):
    """A NaN or infinite loss or gradient: the run stops rather than train
    on it (like :class:`~vidcap_mm.models.SCSTError`, a
    ``FloatingPointError``)."""


@dataclass
class StepReport:
    """What a guard saw since it was last read (one training iteration).

    Attributes:
        loss_ranks (list[int]): Processes whose loss was not finite.
        grad_ranks (list[int]): Processes whose trainable gradients were
            not all finite at an update.
        bad_grads (list[str]): This process's parameters with non-finite
            gradients.
        num_grads (int): Gradients checked on this process.
        stepped (int): Optimizer steps taken.
        skipped (int): Optimizer steps skipped (gradients zeroed instead).
    """

    loss_ranks: List[int] = field(default_factory=list)
    grad_ranks: List[int] = field(default_factory=list)
    bad_grads: List[str] = field(default_factory=list)
    num_grads: int = 0
    stepped: int = 0
    skipped: int = 0

    @property
    def found(self) -> bool:
        """Whether a non-finite loss or gradient was seen on any process."""
        return bool(self.loss_ranks or self.grad_ranks)

    def merge(self, other: 'StepReport') -> 'StepReport':
        """Both reports in one (for several optimizer wrappers)."""
        return StepReport(
            loss_ranks=sorted(set(self.loss_ranks + other.loss_ranks)),
            grad_ranks=sorted(set(self.grad_ranks + other.grad_ranks)),
            bad_grads=self.bad_grads + other.bad_grads,
            num_grads=self.num_grads + other.num_grads,
            stepped=self.stepped + other.stepped,
            skipped=self.skipped + other.skipped,
        )


def nonfinite_grads(grads: List[torch.Tensor]) -> torch.Tensor:
    """Per gradient, whether it holds a NaN or an infinity.

    One fused reduction (``torch._foreach_norm``) per device: the max-norm
    (``ord=inf``) of a gradient is NaN or infinite exactly when the gradient
    holds such a value and, unlike the 2-norm, cannot overflow on large
    finite values.

    Args:
        grads (list[torch.Tensor]): Gradients (any devices and dtypes).

    Returns:
        torch.Tensor: ``(len(grads),)`` bool on the first gradient's device.
    """
    by_device: Dict[torch.device, List[int]] = {}
    for index, grad in enumerate(grads):
        by_device.setdefault(grad.device, []).append(index)
    device = grads[0].device
    norms: List[torch.Tensor] = [None] * len(grads)
    for indices in by_device.values():
        group = torch._foreach_norm([grads[i] for i in indices], float('inf'))
        for index, norm in zip(indices, group):
            norms[index] = norm.to(device)
    return ~torch.stack(norms).isfinite()


def _ranks(local_flag: torch.Tensor) -> List[int]:
    """The processes whose ``local_flag`` (a 0-d bool tensor) is set.

    Every process gets the same answer, so that all take the same decision
    (one that stepped while another skipped would diverge, and one that
    stopped would leave the others waiting in the next collective).
    """
    world_size = dist.get_world_size()
    flags = torch.zeros(
        world_size, dtype=torch.int32, device=local_flag.device
    )
    flags[dist.get_rank()] = local_flag.to(torch.int32)
    dist.all_reduce(flags, op='max')  # a no-op without a process group
    return torch.nonzero(flags).flatten().tolist()


def _calling(guarded: Callable, original: Callable) -> Callable:
    """``guarded`` dressed as ``original``: its name, docstring and marks
    (the parameter schedulers look for their ``_with_counter`` on
    ``step``)."""

    def method(*args, **kwargs):
        return guarded(*args, **kwargs)

    return functools.update_wrapper(method, original)


class NonFiniteStepGuard:
    """Skips the optimizer update of a step whose loss or gradients are not
    finite.

    It wraps ``backward`` and ``step`` of one built optimizer wrapper
    (instance attributes; the wrapper's type comes from the config, e.g.
    ``AmpOptimWrapper`` under ``--amp``, and the parameter schedulers hold
    the wrapper, so it is kept rather than replaced). Every ``backward``
    checks the loss before back-propagating it (the backward still runs:
    under DDP it is where the processes exchange gradients, and it counts
    the accumulation steps). Every ``step`` checks the gradients of the
    parameters that have one (the trainable ones) in one fused reduction,
    then steps, or zeroes the gradients without stepping when the loss of
    any micro-batch since the last update, or a gradient, was not finite on
    any process: no parameter or optimizer state changes. With
    ``accumulative_counts > 1`` the whole accumulated update is skipped.

    Under ``AmpOptimWrapper`` (and Apex) the gradients are not checked:
    the loss scaler already skips steps with infinite gradients and lowers
    its scale; a non-finite loss is still caught (a lower scale cannot fix
    an overflow in the forward pass).

    Args:
        optim_wrapper (OptimWrapper): The wrapper to guard.
        param_names (dict, optional): ``id(parameter) -> name``, to name
            the parameters whose gradients are not finite.
    """

    def __init__(
        self,
        optim_wrapper: OptimWrapper,
        param_names: Optional[Dict[int, str]] = None,
    ) -> None:
        self.optim_wrapper = optim_wrapper
        self.param_names = param_names or {}
        self.check_grads = not isinstance(
            optim_wrapper, (AmpOptimWrapper, ApexOptimWrapper)
        )
        self.report = StepReport()
        self._window_loss_bad = False
        # What the instance itself held (MMEngine's parameter schedulers
        # wrap ``step`` the same way, to count the steps), for ``remove``.
        self._own = {
            name: optim_wrapper.__dict__.get(name)
            for name in ('backward', 'step')
        }
        self._backward = optim_wrapper.backward
        self._step = optim_wrapper.step
        optim_wrapper.backward = _calling(self.backward, self._backward)
        optim_wrapper.step = _calling(self.step, self._step)

    def remove(self) -> None:
        """Give the wrapper its own ``backward`` and ``step`` back."""
        for name, own in self._own.items():
            if own is None:
                self.optim_wrapper.__dict__.pop(name, None)
            else:
                setattr(self.optim_wrapper, name, own)

    def pop_report(self) -> StepReport:
        """What was seen since the last call."""
        report, self.report = self.report, StepReport()
        return report

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Note whether ``loss`` is finite on every process, then the
        wrapper's own backward."""
        ranks = _ranks(~torch.isfinite(loss.detach()).all())
        if ranks:
            self._window_loss_bad = True
            self.report.loss_ranks = sorted(
                set(self.report.loss_ranks + ranks)
            )
        self._backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        """The wrapper's step, or zeroed gradients if anything since the
        last update was not finite."""
        # After a non-finite loss (known to every process) the gradients
        # are not checked: they would only repeat it.
        skip = self._window_loss_bad or (
            self.check_grads and self._grads_nonfinite()
        )
        self._window_loss_bad = False
        if skip:
            self.optim_wrapper.zero_grad()
            self.report.skipped += 1
        else:
            self._step(**kwargs)
            self.report.stepped += 1

    def _grads_nonfinite(self) -> bool:
        """Whether a trainable gradient is not finite on any process."""
        params = self._params_with_grads()
        flags = torch.zeros(0, dtype=torch.bool)
        if params:
            flags = nonfinite_grads([p.grad for p in params])
            self.report.num_grads += len(params)
        ranks = _ranks(flags.any())
        if not ranks:
            return False
        self.report.grad_ranks = sorted(set(self.report.grad_ranks + ranks))
        self.report.bad_grads += self._names(
            params, flags.nonzero().flatten().tolist()
        )
        return True

    def _params_with_grads(self) -> List[torch.Tensor]:
        # Frozen parameters never get a gradient, so this is the trainable
        # part however the model freezes the rest.
        return [
            p
            for group in self.optim_wrapper.optimizer.param_groups
            for p in group['params']
            if p.grad is not None
        ]

    def _names(self, params: List, indices: Iterable[int]) -> List[str]:
        return [
            self.param_names.get(id(params[i]), f'parameter {i}')
            for i in indices
        ]
