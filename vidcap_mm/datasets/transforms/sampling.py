"""Frame index sampling of the seed method: head-tail (train) and evenly
spaced (evaluation)."""

from typing import Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


def _check_num_frames(num_frames: int) -> int:
    if int(num_frames) != num_frames or num_frames < 1:
        raise ValueError(f'num_frames must be an int >= 1, got {num_frames}')
    return int(num_frames)


@TRANSFORMS.register_module()
class HeadTailSample(BaseTransform):
    """Head-tail sampling for training, the seed's ``headtail``.

    ``num_frames // 2`` distinct random frames from the first half of the
    video and ``num_frames - num_frames // 2`` from the second half, sorted.
    The halves are ``[0, n // 2)`` and ``[n // 2, n)`` for ``n`` frames.

    Differences from the seed, both where it would fail or drop frames:

    - an odd ``num_frames`` gives the extra frame to the second half (the
      seed takes ``num_frames // 2`` from each, one frame short);
    - a half with fewer frames than it must give is sampled with
      replacement, so short videos repeat frames instead of raising (a
      one-frame video gives its frame ``num_frames`` times).

    Required Keys:

        - total_frames

    Added Keys:

        - frame_inds (np.ndarray): ``(num_frames,)`` int64, sorted.
        - clip_len
        - frame_interval (None)
        - num_clips (1)

    Args:
        num_frames (int): Frames per clip (T).
    """

    def __init__(self, num_frames: int) -> None:
        self.num_frames = _check_num_frames(num_frames)

    @staticmethod
    def _sample(low: int, high: int, count: int) -> np.ndarray:
        size = high - low
        replace = size < count
        offsets = np.random.choice(size, count, replace=replace)
        return low + offsets

    def transform(self, results: Dict) -> Dict:
        """Sample ``frame_inds`` from ``total_frames``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``frame_inds``.
        """
        total = int(results['total_frames'])
        if total < 1:
            raise ValueError(
                f'HeadTailSample: {results.get("filename")} has no frames'
            )
        head = self.num_frames // 2
        middle = total // 2
        if middle == 0:  # a one-frame video has no first half
            inds = np.zeros(self.num_frames, dtype=np.int64)
        else:
            inds = np.concatenate(
                [
                    self._sample(0, middle, head),
                    self._sample(middle, total, self.num_frames - head),
                ]
            )
        results['frame_inds'] = np.sort(inds).astype(np.int64)
        results['clip_len'] = self.num_frames
        results['frame_interval'] = None
        results['num_clips'] = 1
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_frames={self.num_frames})'


@TRANSFORMS.register_module()
class EvenlySpacedSample(BaseTransform):
    """Evenly spaced frames for evaluation, the seed's ``uniform``.

    Frame ``i`` of ``T`` is ``floor(i * n / T)`` for ``n`` frames: the first
    frame is always taken, as the seed's ``arange(0, n, n / T)`` does.

    mmaction's ``UniformSample(test_mode=True)`` is not the same: it takes
    the middle of ``T`` rounded segments (16 frames, T=4: ``[1, 5, 9, 12]``
    against ``[0, 4, 8, 12]`` here), so it is not reused.

    The seed's float ``arange`` agrees with this integer formula whenever
    ``T`` is a power of two (all its configs: 4, 8, 16, 32). For other
    ``T`` its rounding can give ``T + 1`` indices (n=1, T=49) or an index
    one lower; here there are always exactly ``T``. Videos shorter than
    ``T`` repeat frames, as the seed's formula does.

    Required Keys:

        - total_frames

    Added Keys:

        - frame_inds (np.ndarray): ``(num_frames,)`` int64, sorted.
        - clip_len
        - frame_interval (None)
        - num_clips (1)

    Args:
        num_frames (int): Frames per clip (T).
    """

    def __init__(self, num_frames: int) -> None:
        self.num_frames = _check_num_frames(num_frames)

    def transform(self, results: Dict) -> Dict:
        """Compute ``frame_inds`` from ``total_frames``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``frame_inds``.
        """
        total = int(results['total_frames'])
        if total < 1:
            raise ValueError(
                f'EvenlySpacedSample: {results.get("filename")} has no '
                'frames'
            )
        inds = np.arange(self.num_frames, dtype=np.int64) * total
        results['frame_inds'] = inds // self.num_frames
        results['clip_len'] = self.num_frames
        results['frame_interval'] = None
        results['num_clips'] = 1
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_frames={self.num_frames})'


@TRANSFORMS.register_module()
class SampleInWindow(BaseTransform):
    """Run a frame sampler on a window of the video instead of all of it:
    captioning a long video in timed segments, each the model's way.

    ``results['window'] = (first, end)`` (frame indices, ``end``
    exclusive) restricts ``total_frames`` to the window for the sampler and
    shifts the indices it draws by ``first``; without a window the sampler
    sees the whole video.

    Required Keys:

        - total_frames
        - window (optional)

    Modified Keys:

        - frame_inds (and what the sampler adds)

    Args:
        sample (dict): The sampler's config, e.g.
            ``dict(type='EvenlySpacedSample', num_frames=8)``.
    """

    def __init__(self, sample: dict) -> None:
        self.sample_cfg = dict(sample)
        self.sample = TRANSFORMS.build(sample)

    def transform(self, results: Dict) -> Dict:
        window = results.get('window')
        if window is None:
            return self.sample(results)
        first, end = (int(i) for i in window)
        total = int(results['total_frames'])
        if not 0 <= first < end <= total:
            raise ValueError(
                f'SampleInWindow: window {window} is not within the '
                f'{total} frames of {results.get("filename")}'
            )
        results['total_frames'] = end - first
        results = self.sample(results)
        results['frame_inds'] = np.asarray(results['frame_inds']) + first
        results['total_frames'] = total
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(sample={self.sample!r})'
