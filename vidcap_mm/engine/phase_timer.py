"""Wall time of a training step's phases, for the step benchmarks."""

import functools
import time
from collections import defaultdict

import torch


class PhaseTimer:
    """Wraps methods so that their wall time adds up per phase.

    The device is synchronised around each timed call, so the phases of
    a GPU step add up to a little more than the step without the timer.

    Args:
        device (torch.device): Where the step runs.

    Attributes:
        totals (defaultdict): Phase -> seconds so far.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.totals = defaultdict(float)

    def sync(self) -> None:
        """Wait for the device's queued work (CUDA only)."""
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def wrap(self, owner, name: str, phase: str) -> None:
        """Time every call of ``owner.name`` as ``phase``."""
        method = getattr(owner, name)

        @functools.wraps(method)
        def timed(*args, **kwargs):
            self.sync()
            start = time.perf_counter()
            result = method(*args, **kwargs)
            self.sync()
            self.totals[phase] += time.perf_counter() - start
            return result

        setattr(owner, name, timed)
