"""Converters fed small hand-written files in the official formats."""

import json
import os.path as osp
import runpy
import sys

import pytest
from mmaction.registry import DATASETS

from vidcap_mm.datasets.converters import (
    ConversionError,
    convert_msrvtt,
    convert_msvd,
    convert_vatex,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

MSRVTT_TRAIN_VAL = {
    'info': {'year': 2016, 'version': '1.0'},
    'videos': [
        {
            'category': 9,
            'url': 'https://www.youtube.com/watch?v=9lZi22qLlEo',
            'video_id': 'video0',
            'start time': 137.72,
            'end time': 149.44,
            'split': 'train',
            'id': 0,
        },
        {
            'category': 16,
            'url': 'https://www.youtube.com/watch?v=w4JM08PDEng',
            'video_id': 'video6513',
            'start time': 184.33,
            'end time': 206.89,
            'split': 'validate',
            'id': 6513,
        },
    ],
    'sentences': [
        {'caption': 'a car is shown', 'video_id': 'video0', 'sen_id': 1},
        {
            'caption': 'a cartoon animals runs',
            'video_id': 'video0',
            'sen_id': 0,
        },
        {
            'caption': 'a family is having conversation ',
            'video_id': 'video6513',
            'sen_id': 130260,
        },
    ],
}
MSRVTT_TEST = {
    'videos': [{'video_id': 'video7010', 'split': 'test', 'id': 7010}],
    'sentences': [
        {'caption': 'a man talks', 'video_id': 'video7010', 'sen_id': 180000},
        {'caption': '   ', 'video_id': 'video7010', 'sen_id': 180001},
        {'caption': 'a man speaks', 'video_id': 'video7010', 'sen_id': 2},
    ],
}

MSVD_DESCRIPTIONS = """\
# Microsoft Research Video Description Corpus
# one line per description: <clip> <description>

-4wsuPCjDBc_5_15 a squirrel is eating a peanut in it's shell.
-4wsuPCjDBc_5_15 A chipmunk is eating.
-7KMZQEsJW4_205_208 A woman is cutting a onion.
zv2RIbUsnSw_335_341 A man plays a guitar.
"""
MSVD_MAPPING = """\
-4wsuPCjDBc_5_15 vid1
-7KMZQEsJW4_205_208 vid1250
zv2RIbUsnSw_335_341 vid1970
"""
MSVD_CSV = """\
VideoID,Start,End,WorkerID,Source,AnnotationTime,Language,Description
-4wsuPCjDBc,5,15,337273,clean,18,English,A squirrel is eating.
-4wsuPCjDBc,5,15,337274,clean,20,German,Ein Eichhoernchen frisst.
zv2RIbUsnSw,335,341,1,clean,10,English,"A man, a guitar."
"""

VATEX_TRAIN = [
    {
        'videoID': 'Ptf_2VRj-V0_000122_000132',
        'enCap': ['A man is playing drums.', 'Someone drums.'],
        'chCap': ['一个男人在打鼓。'],
    },
]
VATEX_VAL = [
    {'videoID': 'abc_000001_000011', 'enCap': ['A dog runs.'], 'chCap': []},
]


def _write(path, content):
    if isinstance(content, str):
        path.write_text(content, encoding='utf-8')
    else:
        path.write_text(json.dumps(content), encoding='utf-8')
    return str(path)


def _run_tool(name, argv, monkeypatch, capsys):
    script = osp.join(REPO, 'tools', 'data', name, 'convert_annotations.py')
    monkeypatch.setattr(sys, 'argv', [script] + argv)
    runpy.run_path(script, run_name='__main__')
    return capsys.readouterr().out


def _read(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def test_msrvtt(tmp_path, monkeypatch, capsys):
    files = [
        _write(tmp_path / 'train_val_videodatainfo.json', MSRVTT_TRAIN_VAL),
        _write(tmp_path / 'test_videodatainfo.json', MSRVTT_TEST),
    ]
    out = tmp_path / 'msrvtt'
    printed = _run_tool('msrvtt', [str(out)] + files, monkeypatch, capsys)
    assert 'train: 1 videos, 2 captions' in printed
    assert 'test: 1 videos, 2 captions' in printed
    # Train: one record per caption, in sen_id order.
    assert _read(out / 'annotations' / 'train.json') == [
        dict(
            video='video0.mp4',
            caption='a cartoon animals runs',
            image_id='video0',
        ),
        dict(video='video0.mp4', caption='a car is shown', image_id='video0'),
    ]
    assert _read(out / 'annotations' / 'val.json') == [
        dict(
            video='video6513.mp4',
            caption=['a family is having conversation'],
            image_id='video6513',
        )
    ]
    # The blank caption is dropped.
    assert _read(out / 'annotations' / 'test.json')[0]['caption'] == [
        'a man speaks',
        'a man talks',
    ]
    # The preset reads what the converter wrote.
    test = DATASETS.build(
        dict(
            type='MSRVTTCaptionDataset',
            data_root=str(out),
            split='test',
            pipeline=[],
        )
    )
    assert test[0]['filename'] == osp.join(str(out), 'videos', 'video7010.mp4')
    assert test.get_references() == {
        'video7010': ['a man speaks', 'a man talks']
    }


def test_msvd(tmp_path, monkeypatch, capsys):
    descriptions = _write(
        tmp_path / 'AllVideoDescriptions.txt', MSVD_DESCRIPTIONS
    )
    mapping = _write(tmp_path / 'youtube_mapping.txt', MSVD_MAPPING)
    out = tmp_path / 'msvd'
    printed = _run_tool(
        'msvd', [str(out), descriptions, mapping], monkeypatch, capsys
    )
    assert 'val: 1 videos, 1 captions' in printed
    assert _read(out / 'annotations' / 'train.json') == [
        dict(
            video='-4wsuPCjDBc_5_15.avi',
            caption="a squirrel is eating a peanut in it's shell.",
            image_id='vid1',
        ),
        dict(
            video='-4wsuPCjDBc_5_15.avi',
            caption='A chipmunk is eating.',
            image_id='vid1',
        ),
    ]
    assert _read(out / 'annotations' / 'val.json')[0]['image_id'] == 'vid1250'
    assert _read(out / 'annotations' / 'test.json') == [
        dict(
            video='zv2RIbUsnSw_335_341.avi',
            caption=['A man plays a guitar.'],
            image_id='vid1970',
        )
    ]
    train = DATASETS.build(
        dict(
            type='MSVDCaptionDataset',
            data_root=str(out),
            split='train',
            pipeline=[],
        )
    )
    assert len(train) == 2 and train[0]['video_id'] == 'vid1'


def test_msvd_corpus_csv(tmp_path):
    splits = convert_msvd(
        _write(tmp_path / 'corpus.csv', MSVD_CSV),
        _write(tmp_path / 'youtube_mapping.txt', MSVD_MAPPING),
    )
    assert splits == {
        'train': [('vid1', '-4wsuPCjDBc_5_15.avi', ['A squirrel is eating.'])],
        'test': [('vid1970', 'zv2RIbUsnSw_335_341.avi', ['A man, a guitar.'])],
    }


def test_vatex(tmp_path, monkeypatch, capsys):
    train = _write(tmp_path / 'vatex_training_v1.0.json', VATEX_TRAIN)
    val = _write(tmp_path / 'vatex_validation_v1.0.json', VATEX_VAL)
    out = tmp_path / 'vatex'
    printed = _run_tool(
        'vatex',
        [str(out), '--train', train, '--val', val],
        monkeypatch,
        capsys,
    )
    assert 'train: 1 videos, 2 captions' in printed
    records = _read(out / 'annotations' / 'train.json')
    assert [r['caption'] for r in records] == [
        'A man is playing drums.',
        'Someone drums.',
    ]
    assert records[0]['video'] == 'Ptf_2VRj-V0_000122_000132.mp4'
    assert _read(out / 'annotations' / 'val.json') == [
        dict(
            video='abc_000001_000011.mp4',
            caption=['A dog runs.'],
            image_id='abc_000001_000011',
        )
    ]
    assert not (out / 'annotations' / 'test.json').exists()


@pytest.mark.parametrize(
    'convert, content, message',
    [
        (
            lambda p: convert_msrvtt([p]),
            {'videos': []},
            "expected an object with 'sentences'",
        ),
        (
            lambda p: convert_msrvtt([p]),
            dict(MSRVTT_TEST, videos=[{'video_id': 'v', 'split': 'dev'}]),
            r"videos\[0\]: unknown split 'dev'",
        ),
        (
            lambda p: convert_msrvtt([p]),
            dict(MSRVTT_TEST, videos=[]),
            r"sentences\[0\]: video 'video7010' is not among the videos",
        ),
        (
            lambda p: convert_vatex(train_file=p),
            [{'videoID': 'x'}],
            "item 0: expected an object with 'enCap'",
        ),
        (
            lambda p: convert_vatex(val_file=p),
            '{"videoID": ',
            'not valid JSON',
        ),
    ],
)
def test_bad_official_files(tmp_path, convert, content, message):
    path = _write(tmp_path / 'official.json', content)
    with pytest.raises(ConversionError, match=message) as info:
        convert(path)
    assert 'official.json' in str(info.value)


def test_bad_msvd_files(tmp_path):
    descriptions = _write(tmp_path / 'desc.txt', MSVD_DESCRIPTIONS)
    bad_mapping = _write(tmp_path / 'map.txt', 'clip_1_2 video1\n')
    with pytest.raises(ConversionError, match=r'map.txt:1: expected'):
        convert_msvd(descriptions, bad_mapping)
    with pytest.raises(FileNotFoundError, match='nowhere.txt'):
        convert_msvd(str(tmp_path / 'nowhere.txt'), bad_mapping)
