import json
import os.path as osp
from collections import Counter

import pytest
from mmaction.registry import DATA_SAMPLERS, DATASETS
from mmengine.config import Config
from mmengine.dataset import ConcatDataset, RepeatDataset

from tests.helpers import REPO
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


WEBVID_VARIANT = osp.join(
    REPO, 'configs', 'variants', 'msrvtt_flant5xl_ft_webvid.py'
)


def _webvid_variant(tmp_path, with_webvid):
    """The variant's training set: MSR-VTT from 4 records, WebVid from 3
    (or its default, absent path)."""
    cfg = Config.fromfile(WEBVID_VARIANT)
    msrvtt, webvid = cfg.train_dataloader.dataset.datasets
    for part, name, size in ((msrvtt, 'msrvtt', 4), (webvid, 'webvid', 3)):
        if part is webvid and not with_webvid:
            continue
        records = [
            dict(video=f'{name}{i}.mp4', caption=f'{name} {i}')
            for i in range(size)
        ]
        path = tmp_path / f'{name}.json'
        path.write_text(json.dumps(records))
        part.update(ann_file=str(path), data_root=None, pipeline=[])
    return cfg


def test_webvid_variant_mixes_one_to_seven(tmp_path, mmaction_scope):
    cfg = _webvid_variant(tmp_path, with_webvid=True)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    sampler = DATA_SAMPLERS.build(
        dict(cfg.train_dataloader.sampler, seed=0),
        default_args=dict(dataset=dataset),
    )
    parts = Counter(index >= 4 for index in sampler)
    # One pass over MSR-VTT, 7 times as many WebVid samples.
    assert (parts[False], parts[True]) == (4, 28)


def test_webvid_variant_without_the_data_names_the_file(
    tmp_path, mmaction_scope, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cfg = _webvid_variant(tmp_path, with_webvid=False)
    with pytest.raises(FileNotFoundError) as error:
        DATASETS.build(cfg.train_dataloader.dataset)
    assert 'data/webvid_2m_msrvtt/annotations/train.json' in str(error.value)
