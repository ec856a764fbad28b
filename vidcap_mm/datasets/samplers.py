"""Samplers: epoch-seeded per-sample streams, and mixing datasets by ratio."""

import math
from typing import Iterator, List, Optional, Sequence

import numpy as np
from mmaction.registry import DATA_SAMPLERS
from mmengine.dataset import ConcatDataset, DefaultSampler
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from .sample_random_state import sample_random_states


@DATA_SAMPLERS.register_module()
class EpochSeededSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` that also seeds the datasets'
    per-sample random streams (:class:`SampleRandomState`) with its seed and
    epoch, so that a resumed run draws the same frames and captions as an
    uninterrupted one, whatever the number of dataloader workers.

    The sampler, not a hook, hands them over because it is the one piece
    that knows the epoch at the moment a pass starts: the dataloader asks
    for the first indices right when a pass begins, and mmengine's
    iteration-based loop starts the next pass inside its data iterator,
    where no hook runs. Datasets without per-sample streams (e.g. mmaction's)
    are sampled as by ``DefaultSampler``.

    Within one pass every index is drawn once (``round_up`` may repeat a
    few at the end: they draw the same frames as their first draw).

    Args:
        dataset: The dataset to sample.
        **kwargs: ``shuffle``, ``seed``, ``round_up`` of ``DefaultSampler``.
    """

    def __init__(self, dataset, **kwargs) -> None:
        super().__init__(dataset, **kwargs)
        self.sample_states = sample_random_states(dataset)

    def __iter__(self) -> Iterator[int]:
        for state in self.sample_states:
            state.set_seed(self.seed)
            state.set_epoch(self.epoch)
        return super().__iter__()


@DATA_SAMPLERS.register_module()
class RatioMixSampler(Sampler):
    """Draw from the parts of a ``ConcatDataset`` in a fixed ratio.

    The seed mixed WebVid clips into MSR-VTT at 1:7. A sampler, not a
    dataset wrapper, does it here because the mix is a property of how
    samples are drawn, not of the data: each part keeps its own pipeline
    and annotation inside mmengine's ``ConcatDataset``; any ratio works
    (``RepeatDataset`` only repeats by whole factors and cannot shrink a
    large part); the epoch length is set independently of the parts'
    sizes; and the index is never copied.

    Each epoch holds ``num_samples`` indices, part ``k`` giving
    ``round(num_samples * ratios[k] / sum(ratios))`` of them. Within a part,
    indices follow shuffled passes over it, so every sample of a part is
    drawn once before any is drawn twice. The indices of all parts are then
    shuffled together (when ``shuffle``) and split across ranks like
    mmengine's ``DefaultSampler`` does.

    Args:
        dataset (ConcatDataset): The datasets to mix.
        ratios (Sequence[float]): Relative share of each part, e.g.
            ``[7, 1]``.
        num_samples (int, optional): Samples per epoch over all ranks.
            Defaults to the number that draws the first part exactly once.
        shuffle (bool): Shuffle the order of samples. Defaults to True.
        seed (int, optional): Random seed, shared by all ranks. Defaults to
            a synchronised random one.
    """

    def __init__(
        self,
        dataset: ConcatDataset,
        ratios: Sequence[float],
        num_samples: Optional[int] = None,
        shuffle: bool = True,
        seed: Optional[int] = None,
    ) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise TypeError(
                'RatioMixSampler needs an mmengine ConcatDataset, got '
                f'{type(dataset).__name__}'
            )
        sizes = [len(part) for part in dataset.datasets]
        if len(ratios) != len(sizes):
            raise ValueError(
                f'RatioMixSampler: {len(ratios)} ratios for {len(sizes)} '
                'datasets'
            )
        if any(r < 0 for r in ratios) or not sum(ratios) > 0:
            raise ValueError(
                f'ratios must be >= 0 with a positive sum, got {ratios}'
            )
        if any(size == 0 and r > 0 for size, r in zip(sizes, ratios)):
            raise ValueError(f'a dataset with a ratio > 0 is empty: {sizes}')
        self.dataset = dataset
        self.ratios = [float(r) for r in ratios]
        self.sizes = sizes
        self.offsets = [0] + list(np.cumsum(sizes)[:-1])
        if num_samples is None:
            if self.ratios[0] == 0:
                raise ValueError('give num_samples when ratios[0] is 0')
            num_samples = round(sizes[0] * sum(self.ratios) / self.ratios[0])
        self.total = int(num_samples)
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.num_samples = math.ceil(self.total / self.world_size)
        self.epoch = 0

    def _counts(self) -> List[int]:
        """Samples per part in one epoch, summing to ``self.total``."""
        share = np.array(self.ratios) / sum(self.ratios) * self.total
        counts = np.floor(share).astype(int)
        # Hand the rounding remainder to the largest fractional parts.
        rest = self.total - counts.sum()
        counts[np.argsort(counts - share)[:rest]] += 1
        return counts.tolist()

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        indices = []
        for size, offset, count in zip(
            self.sizes, self.offsets, self._counts()
        ):
            if count == 0:
                continue
            passes = math.ceil(count / size)
            if self.shuffle:
                order = np.concatenate(
                    [rng.permutation(size) for _ in range(passes)]
                )
            else:
                order = np.tile(np.arange(size), passes)
            indices.append(order[:count] + offset)
        indices = np.concatenate(indices)
        if self.shuffle:
            indices = indices[rng.permutation(len(indices))]
        total_size = self.num_samples * self.world_size
        indices = np.resize(indices, total_size)  # pad by wrapping around
        return iter(indices[self.rank : total_size : self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which reseeds the draw.

        Args:
            epoch (int): The epoch number.
        """
        self.epoch = epoch
