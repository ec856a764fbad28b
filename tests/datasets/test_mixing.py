import json
from collections import Counter

import pytest
from mmaction.registry import DATA_SAMPLERS, DATASETS
from mmengine.dataset import ConcatDataset, RepeatDataset

from vidcap_mm.datasets import RatioMixSampler


def _dataset(tmp_path, name, num_videos, **kwargs):
    records = [
        dict(video=f'{name}{i}.mp4', caption=f'{name} {i}')
        for i in range(num_videos)
    ]
    path = tmp_path / f'{name}.json'
    path.write_text(json.dumps(records))
    return DATASETS.build(
        dict(
            type='VideoCaptionDataset',
            ann_file=str(path),
            pipeline=[],
            **kwargs,
        )
    )


def test_wrappers(tmp_path, mmaction_scope):
    small = _dataset(tmp_path, 'small', 3)
    big = _dataset(tmp_path, 'big', 5)
    concat = ConcatDataset([small, big])
    assert len(concat) == 8
    assert concat[4]['video_id'] == 'big1'
    assert concat[4]['gt_captions'] == ['big 1']
    repeat = RepeatDataset(small, times=3)
    assert len(repeat) == 9 and repeat[7]['video_id'] == 'small1'
    # A built ConcatDataset keeps each part's own settings; presets mix
    # with user data (equal metainfo, as ConcatDataset requires).
    built = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(
                    type='MSRVTTCaptionDataset',
                    ann_file=str(tmp_path / 'small.json'),
                ),
                dict(
                    type='VideoCaptionDataset',
                    ann_file=str(tmp_path / 'big.json'),
                    test_mode=True,
                ),
            ],
        )
    )
    assert len(built) == 8


def test_ratio_mix_sampler(tmp_path):
    main = _dataset(tmp_path, 'main', 70)
    extra = _dataset(tmp_path, 'extra', 1000)
    concat = ConcatDataset([main, extra])
    sampler = DATA_SAMPLERS.build(
        dict(type='RatioMixSampler', ratios=[7, 1]),
        default_args=dict(dataset=concat, seed=0),
    )
    assert isinstance(sampler, RatioMixSampler)
    # Default epoch: the first dataset once, the second at 1 : 7.
    assert len(sampler) == 80
    epoch0 = list(sampler)
    sources = Counter('main' if i < 70 else 'extra' for i in epoch0)
    assert sources == {'main': 70, 'extra': 10}
    assert sorted(i for i in epoch0 if i < 70) == list(range(70))
    assert len(set(epoch0)) == 80  # no repeats while a part lasts
    assert list(sampler) == epoch0  # same epoch, same order
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch1 != epoch0
    assert set(epoch1) - set(range(70)) != set(epoch0) - set(range(70))


def test_ratio_mix_sampler_ranks_and_repeats(tmp_path, monkeypatch):
    concat = ConcatDataset(
        [_dataset(tmp_path, 'a', 3), _dataset(tmp_path, 'b', 2)]
    )
    sampler = RatioMixSampler(concat, [1, 1], num_samples=11, seed=1)
    indices = list(sampler)
    assert len(indices) == 11
    counts = Counter('a' if i < 3 else 'b' for i in indices)
    assert sorted(counts.values()) == [5, 6]
    # A part smaller than its share: each sample before any repeats.
    b = sorted(i for i in indices if i >= 3)
    assert Counter(b)[3] >= 2 and Counter(b)[4] >= 2

    shards = []
    for rank in range(2):
        monkeypatch.setattr(
            'vidcap_mm.datasets.samplers.get_dist_info', lambda r=rank: (r, 2)
        )
        shard = RatioMixSampler(concat, [1, 1], num_samples=11, seed=1)
        assert len(shard) == 6
        shards.append(list(shard))
    merged = [i for pair in zip(*shards) for i in pair]
    assert merged[:11] == indices


@pytest.mark.parametrize(
    'ratios, message',
    [([1], '1 ratios for 2 datasets'), ([1, -1], 'ratios must be')],
)
def test_ratio_mix_sampler_errors(tmp_path, ratios, message):
    concat = ConcatDataset(
        [_dataset(tmp_path, 'a', 3), _dataset(tmp_path, 'b', 2)]
    )
    with pytest.raises(ValueError, match=message):
        RatioMixSampler(concat, ratios, seed=0)
    with pytest.raises(TypeError, match='ConcatDataset'):
        RatioMixSampler(concat.datasets[0], [1], seed=0)
