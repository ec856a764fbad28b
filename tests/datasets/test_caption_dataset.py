import json
import os.path as osp

import pytest
from mmaction.registry import DATASETS

from vidcap_mm.datasets import VideoCaptionDataset

RECORDS = [
    dict(video='a.mp4', caption='a one', image_id='vid_a'),
    dict(video='b.mp4', caption=['b one', 'b two'], image_id='vid_b'),
    dict(video='a.mp4', caption='a two', image_id='vid_a'),
    dict(video='sub/c.mp4', caption='c one'),  # id from the file stem
    dict(video='d.mp4', caption='d one', image_id=7),  # integer ids occur
]


def _write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)
    return str(path)


def _build(ann_file, **kwargs):
    return DATASETS.build(
        dict(
            type='VideoCaptionDataset',
            ann_file=ann_file,
            pipeline=[],
            data_prefix=dict(video='/videos'),
            **kwargs,
        )
    )


def _summary(dataset):
    return [
        (info['video_id'], info['caption'], info['gt_captions'])
        for info in (dataset.get_data_info(i) for i in range(len(dataset)))
    ]


def test_train_mode(tmp_path):
    dataset = _build(_write(tmp_path / 'ann.json', RECORDS))
    assert isinstance(dataset, VideoCaptionDataset)
    gt_a, gt_b = ['a one', 'a two'], ['b one', 'b two']
    assert _summary(dataset) == [
        ('vid_a', 'a one', gt_a),
        ('vid_b', 'b one', gt_b),
        ('vid_b', 'b two', gt_b),
        ('vid_a', 'a two', gt_a),
        ('c', 'c one', ['c one']),
        ('7', 'd one', ['d one']),
    ]
    info = dataset[3]  # no pipeline: the data info itself
    assert info['filename'] == '/videos/a.mp4'
    assert info['start_index'] == 0 and info['modality'] == 'RGB'
    assert dataset[4]['filename'] == '/videos/sub/c.mp4'


def test_test_mode(tmp_path):
    dataset = _build(_write(tmp_path / 'ann.json', RECORDS), test_mode=True)
    assert _summary(dataset) == [
        ('vid_a', 'a one', ['a one', 'a two']),
        ('vid_b', 'b one', ['b one', 'b two']),
        ('c', 'c one', ['c one']),
        ('7', 'd one', ['d one']),
    ]
    assert [dataset[i]['filename'] for i in range(len(dataset))] == [
        '/videos/a.mp4',
        '/videos/b.mp4',
        '/videos/sub/c.mp4',
        '/videos/d.mp4',
    ]


def test_data_root(tmp_path):
    _write(tmp_path / 'ann.json', RECORDS[:1])
    dataset = VideoCaptionDataset(
        'ann.json',
        pipeline=[],
        data_root=str(tmp_path),
        data_prefix=dict(video='videos'),
    )
    assert dataset[0]['filename'] == osp.join(str(tmp_path), 'videos', 'a.mp4')


@pytest.mark.parametrize(
    'content, message',
    [
        (dict(video='a.mp4', caption='x'), 'expected a JSON list'),
        ([], 'holds no records'),
        ([RECORDS[0], dict(caption='x')], "record 1 has no 'video'"),
        ([RECORDS[0], dict(video='a.mp4')], "record 1 has no 'caption'"),
        ([RECORDS[0], 'a.mp4'], 'record 1 is a str'),
        ([dict(video='a.mp4', caption=[])], 'record 0: "caption"'),
        ([dict(video='a.mp4', caption=3)], 'record 0: "caption"'),
        ([dict(video='', caption='x')], 'record 0: "video"'),
        (
            [RECORDS[0], dict(video='z.mp4', caption='x', image_id='vid_a')],
            'record 1 gives video id',
        ),
    ],
)
def test_bad_records(tmp_path, content, message):
    ann_file = _write(tmp_path / 'bad_ann.json', content)
    with pytest.raises(ValueError, match=message) as info:
        _build(ann_file)
    assert 'bad_ann.json' in str(info.value)


def test_not_json(tmp_path):
    ann_file = tmp_path / 'broken.json'
    ann_file.write_text('[{"video": ')
    with pytest.raises(ValueError, match='not valid JSON') as info:
        _build(str(ann_file))
    assert 'broken.json' in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        _build(str(tmp_path / 'nowhere.json'))


def test_per_video_training(tmp_path):
    dataset = _build(
        _write(tmp_path / 'ann.json', RECORDS), train_samples='per_video'
    )
    assert [dataset.get_data_info(i)['video_id'] for i in range(4)] == [
        'vid_a',
        'vid_b',
        'c',
        '7',
    ]
    assert len(dataset) == 4
    drawn = {dataset[1]['caption'] for _ in range(50)}
    assert drawn == {'b one', 'b two'}  # a random reference each fetch
    assert dataset[1]['gt_captions'] == ['b one', 'b two']
    with pytest.raises(ValueError, match='train_samples'):
        _build(_write(tmp_path / 'b.json', RECORDS), train_samples='x')


def test_get_references(tmp_path):
    for test_mode in (False, True):
        dataset = _build(
            _write(tmp_path / 'ann.json', RECORDS), test_mode=test_mode
        )
        assert dataset.get_references() == {
            'vid_a': ['a one', 'a two'],
            'vid_b': ['b one', 'b two'],
            'c': ['c one'],
            '7': ['d one'],
        }
    lazy = _build(_write(tmp_path / 'ann.json', RECORDS), lazy_init=True)
    assert lazy.get_references()['vid_b'] == ['b one', 'b two']


@pytest.mark.parametrize(
    'dataset_type',
    [
        'VideoCaptionDataset',
        'MSRVTTCaptionDataset',
        'MSVDCaptionDataset',
        'VATEXCaptionDataset',
    ],
)
def test_presets_by_split(tmp_path, dataset_type):
    (tmp_path / 'annotations').mkdir()
    _write(tmp_path / 'annotations' / 'train.json', RECORDS)
    _write(tmp_path / 'annotations' / 'val.json', RECORDS[:2])
    build = dict(type=dataset_type, data_root=str(tmp_path), pipeline=[])
    train = DATASETS.build(dict(build, split='train'))
    val = DATASETS.build(dict(build, split='val'))
    assert isinstance(train, VideoCaptionDataset)
    assert not train.test_mode and val.test_mode
    assert len(train) == 6 and len(val) == 2
    assert val[1]['filename'] == osp.join(str(tmp_path), 'videos', 'b.mp4')
    assert val[1]['gt_captions'] == ['b one', 'b two']
    with pytest.raises(ValueError, match='split must be one of'):
        DATASETS.build(dict(build, split='dev'))
    with pytest.raises(FileNotFoundError, match='annotations/test.json'):
        DATASETS.build(dict(build, split='test'))
