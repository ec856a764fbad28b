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
