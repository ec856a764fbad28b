import numpy as np
import pytest
from mmaction.registry import TRANSFORMS

from vidcap_mm.datasets import EvenlySpacedSample, HeadTailSample


def _inds(transform, total):
    return transform(dict(total_frames=total))['frame_inds']


def _seed_uniform(total, num_frames):
    """The seed's evaluation indices, as seed-method.md states them."""
    return np.arange(0, total, total / num_frames).astype(int)


@pytest.mark.parametrize('num_frames', [4, 8, 16, 32])
def test_evenly_spaced_matches_seed(num_frames):
    transform = EvenlySpacedSample(num_frames)
    for total in range(1, 400):
        np.testing.assert_array_equal(
            _inds(transform, total), _seed_uniform(total, num_frames)
        )


def test_evenly_spaced_values_and_other_t():
    np.testing.assert_array_equal(
        _inds(EvenlySpacedSample(4), 16), [0, 4, 8, 12]
    )
    # mmaction's UniformSample differs, hence our own transform.
    uniform = TRANSFORMS.build(
        dict(type='UniformSample', clip_len=4, num_clips=1, test_mode=True)
    )
    np.testing.assert_array_equal(
        uniform(dict(total_frames=16, start_index=0))['frame_inds'],
        [1, 5, 9, 12],
    )
    # Where the seed's float arange gives T + 1 indices, we give T.
    assert len(_seed_uniform(1, 49)) == 50
    np.testing.assert_array_equal(
        _inds(EvenlySpacedSample(49), 1), np.zeros(49)
    )
    results = EvenlySpacedSample(3)(dict(total_frames=10))
    np.testing.assert_array_equal(results['frame_inds'], [0, 3, 6])
    assert results['frame_inds'].dtype == np.int64
    assert results['clip_len'] == 3 and results['num_clips'] == 1


def test_head_tail_halves():
    np.random.seed(0)
    transform = HeadTailSample(8)
    seen = set()
    for _ in range(200):
        inds = _inds(transform, 100)
        assert len(inds) == 8 and inds.dtype == np.int64
        assert (np.diff(inds) > 0).all()  # sorted and distinct
        assert (inds[:4] < 50).all() and (inds[4:] >= 50).all()
        seen.update(inds.tolist())
    assert len(seen) > 90  # random, covering the whole video


def test_head_tail_odd_and_short():
    np.random.seed(0)
    inds = _inds(HeadTailSample(5), 10)
    assert (inds[:2] < 5).all() and (inds[2:] >= 5).all()
    # Fewer frames than asked: repeats, still head then tail, sorted.
    inds = _inds(HeadTailSample(8), 5)
    assert len(inds) == 8 and (np.diff(inds) >= 0).all()
    assert (inds[:4] < 2).all() and (inds[4:] >= 2).all()
    np.testing.assert_array_equal(_inds(HeadTailSample(4), 1), [0, 0, 0, 0])
    np.testing.assert_array_equal(_inds(HeadTailSample(2), 2), [0, 1])


@pytest.mark.parametrize('num_frames', [1, 2, 3, 4, 5, 7, 8, 16])
def test_head_tail_invariants(num_frames):
    """For many seeds and lengths (1, 2, odd, shorter and longer than the
    clip): every index lies in [0, total), sorted; the first
    ``num_frames // 2`` come from the first half ``[0, total // 2)``, the
    rest from the second ``[total // 2, total)``; a half that has enough
    frames gives distinct ones."""
    transform = HeadTailSample(num_frames)
    head = num_frames // 2
    for total in [*range(1, 41), 63, 97, 1000]:
        middle = total // 2
        for seed in range(20):
            np.random.seed(seed)
            inds = _inds(transform, total)
            where = f'T={num_frames}, {total} frames, seed {seed}: {inds}'
            assert inds.shape == (num_frames,) and inds.dtype == np.int64
            assert ((0 <= inds) & (inds < total)).all(), where
            assert (np.diff(inds) >= 0).all(), where
            if total == 1:  # no first half: the one frame throughout
                assert (inds == 0).all(), where
                continue
            assert (inds[:head] < middle).all(), where
            assert (inds[head:] >= middle).all(), where
            if middle >= head:
                assert len(set(inds[:head])) == head, where
            if total - middle >= num_frames - head:
                assert len(set(inds[head:])) == num_frames - head, where


def test_build_repr_and_errors():
    transform = TRANSFORMS.build(dict(type='HeadTailSample', num_frames=8))
    assert repr(transform) == 'HeadTailSample(num_frames=8)'
    assert repr(EvenlySpacedSample(16)) == 'EvenlySpacedSample(num_frames=16)'
    with pytest.raises(ValueError, match='num_frames'):
        HeadTailSample(0)
    with pytest.raises(ValueError, match='has no frames'):
        EvenlySpacedSample(4)(dict(total_frames=0, filename='x.mp4'))
