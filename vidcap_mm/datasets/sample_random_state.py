"""Random streams per training sample, so that a resumed run draws the same
frames and captions as an uninterrupted one.

MMEngine seeds each dataloader worker once (from the run's seed, the rank
and the worker id), and the configs keep workers alive across epochs
(``persistent_workers=True``). A worker's random stream then depends on
everything it loaded before: after a resume, fresh workers start the stream
over and sample epoch 1's frames again. Seeding per SAMPLE instead, from
the run's seed, the epoch and the sample index, makes the draw independent
of the worker that loads it, of how many workers there are and of what
happened before, so a resumed epoch draws exactly what it would have.

The seed and the epoch live in a shared-memory tensor: workers are forked
when the dataloader starts (for iteration-based loops, when the loop is
built, before any hook runs) and must still see the epoch the main process
sets later.
"""

import random
from contextlib import contextmanager
from typing import Iterator, List

import numpy as np
import torch


def get_random_states(cuda: bool = True) -> dict:
    """The states of Python's, numpy's and torch's CPU generators, and of
    the CUDA ones when ``cuda`` and CUDA is in use."""
    states = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state(),
    )
    if cuda and torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict) -> None:
    """Restore what :func:`get_random_states` returned."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


class SampleRandomState:
    """The run's seed and epoch, shared with the dataloader workers.

    Until :meth:`set_seed` is called (the training run's
    ``RandomStateHook`` does), :meth:`for_sample` leaves the random
    generators alone, so a dataset used outside a training run draws from
    the global streams as before.
    """

    def __init__(self) -> None:
        # enabled, seed, epoch
        self._shared = torch.zeros(3, dtype=torch.int64).share_memory_()

    def set_seed(self, seed: int) -> None:
        """Switch per-sample streams on, derived from ``seed``."""
        self._shared[1] = int(seed)
        self._shared[0] = 1

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch the next samples belong to."""
        self._shared[2] = int(epoch)

    @property
    def enabled(self) -> bool:
        return bool(self._shared[0])

    def sample_seed(self, idx: int) -> int:
        """The 32-bit seed of sample ``idx`` in the current epoch."""
        _, seed, epoch = self._shared.tolist()
        entropy = [seed % 2**63, epoch, int(idx)]
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    @contextmanager
    def for_sample(self, idx: int) -> Iterator[None]:
        """Seed Python's, numpy's and torch's CPU generator for sample
        ``idx`` (the ones mmaction's transforms and ours draw from), and give
        the caller's states back afterwards, so that nothing outside the
        sample (e.g. dropout when data loads in the main process) sees a
        difference."""
        if not self.enabled:
            yield
            return
        seed = self.sample_seed(idx)
        states = get_random_states(cuda=False)
        random.seed(seed)
        np.random.seed(seed)
        torch.random.default_generator.manual_seed(seed)
        try:
            yield
        finally:
            set_random_states(states)


def sample_random_states(dataset) -> List[SampleRandomState]:
    """The per-sample stream states of ``dataset`` and of the datasets it
    wraps (``ConcatDataset``, ``RepeatDataset``, ...)."""
    state = getattr(dataset, 'random_state', None)
    if isinstance(state, SampleRandomState):
        return [state]
    parts = getattr(dataset, 'datasets', None)
    if parts is None:
        inner = getattr(dataset, 'dataset', None)
        parts = [] if inner is None else [inner]
    return [s for part in parts for s in sample_random_states(part)]
