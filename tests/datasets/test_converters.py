"""Converters fed small hand-written files in the official formats."""

import json
import os.path as osp
import runpy
import sys
import warnings

import pytest
from mmaction.registry import DATASETS

from vidcap_mm.datasets.converters import (
    ConversionError,
    ConversionWarning,
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
    assert printed.splitlines()[-1] == (
        f'warning: dropped 1 blank caption(s) (e.g. {files[1]}: sentences[1])'
    )
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
    # vid1250 has no English row.
    with pytest.warns(ConversionWarning, match='left out 1 clip'):
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


# Headerless, as AllVideoDescriptions.txt is often shared: with a BOM its
# first clip name used to start with U+FEFF and match nothing.
MSVD_PLAIN = """\
-4wsuPCjDBc_5_15 A squirrel is eating.
zv2RIbUsnSw_335_341 A man plays a guitar.
"""


def _bom(path, content):
    """Write ``content`` as spreadsheet programs' "CSV UTF-8" does."""
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding='utf-8-sig')
    assert path.read_bytes().startswith(b'\xef\xbb\xbf')
    return str(path)


@pytest.mark.parametrize(
    'descriptions, name', [(MSVD_PLAIN, 'desc.txt'), (MSVD_CSV, 'corpus.csv')]
)
def test_msvd_byte_order_mark(tmp_path, descriptions, name):
    # Every clip has a caption: nothing may be left out, with a BOM or not.
    mapping = '-4wsuPCjDBc_5_15 vid1\nzv2RIbUsnSw_335_341 vid1970\n'
    expected = {
        'train': [('vid1', '-4wsuPCjDBc_5_15.avi', ['A squirrel is eating.'])],
        'test': [
            (
                'vid1970',
                'zv2RIbUsnSw_335_341.avi',
                ['A man plays a guitar.']
                if name == 'desc.txt'
                else ['A man, a guitar.'],
            )
        ],
    }
    with warnings.catch_warnings():
        warnings.simplefilter('error', ConversionWarning)
        assert (
            convert_msvd(
                _write(tmp_path / name, descriptions),
                _write(tmp_path / 'map.txt', mapping),
            )
            == expected
        )
        assert (
            convert_msvd(
                _bom(tmp_path / f'bom_{name}', descriptions),
                _bom(tmp_path / 'bom_map.txt', mapping),
            )
            == expected
        )


def test_json_byte_order_mark(tmp_path):
    msrvtt = dict(MSRVTT_TEST, sentences=MSRVTT_TEST['sentences'][::2])
    with warnings.catch_warnings():
        warnings.simplefilter('error', ConversionWarning)
        assert convert_msrvtt([_bom(tmp_path / 'msrvtt.json', msrvtt)]) == {
            'test': [
                ('video7010', 'video7010.mp4', ['a man speaks', 'a man talks'])
            ]
        }
        assert convert_vatex(
            train_file=_bom(tmp_path / 'vatex.json', VATEX_TRAIN)
        ) == convert_vatex(train_file=_write(tmp_path / 'p.json', VATEX_TRAIN))


def _dropped(record):
    """The messages of the ConversionWarnings recorded."""
    return [str(w.message) for w in record if w.category is ConversionWarning]


def test_msvd_warns_about_what_it_leaves_out(tmp_path, monkeypatch, capsys):
    descriptions = _write(
        tmp_path / 'desc.txt',
        MSVD_PLAIN
        + 'notmapped_1_2 A clip the mapping lacks.\n'
        + 'notmapped_1_2 Another caption of it.\n',
    )
    mapping = _write(
        tmp_path / 'map.txt',
        MSVD_MAPPING + 'outside_1_2 vid1971\n',  # vid1250 has no caption
    )
    with pytest.warns(ConversionWarning) as record:
        splits = convert_msvd(descriptions, mapping)
    assert [vid for videos in splits.values() for vid, _, _ in videos] == [
        'vid1',
        'vid1970',
    ]
    assert _dropped(record) == [
        f'{descriptions}: left out 2 caption(s) of clips that {mapping} '
        "does not list (e.g. line 3: 'notmapped_1_2', line 4: "
        "'notmapped_1_2')",
        f'{mapping}: left out 1 clip(s) without a caption in {descriptions} '
        '(e.g. vid1250 (-7KMZQEsJW4_205_208))',
        f'{mapping}: left out 1 clip(s) numbered outside the standard split '
        'vid1-vid1970 (e.g. vid1971 (outside_1_2))',
    ]
    # The tool's summary says it too.
    printed = _run_tool(
        'msvd',
        [str(tmp_path / 'out'), descriptions, mapping],
        monkeypatch,
        capsys,
    ).splitlines()
    assert printed[:2] == [
        f'train: 1 videos, 1 captions -> {tmp_path}/out/annotations/'
        'train.json',
        f'test: 1 videos, 1 captions -> {tmp_path}/out/annotations/test.json',
    ]
    assert printed[2:] == [f'warning: {m}' for m in _dropped(record)]


def test_msvd_csv_blank_caption_and_bad_header(tmp_path):
    corpus = _write(
        tmp_path / 'corpus.csv',
        MSVD_CSV + 'zv2RIbUsnSw,335,341,2,clean,10,English,"  "\n',
    )
    mapping = _write(tmp_path / 'map.txt', MSVD_MAPPING)
    with pytest.warns(ConversionWarning) as record:
        convert_msvd(corpus, mapping)
    assert _dropped(record)[0] == (
        f'dropped 1 blank caption(s) (e.g. {corpus}:5)'
    )
    headless = _write(tmp_path / 'headless.csv', MSVD_CSV.split('\n', 1)[1])
    with pytest.raises(ConversionError) as info:
        convert_msvd(headless, mapping)
    assert str(info.value) == (
        f"{headless}: missing columns ['Description', 'End', 'Language', "
        "'Start', 'VideoID'] (the header has ['-4wsuPCjDBc', '5', '15', "
        "'337273', 'clean', '18', 'English', 'A squirrel is eating.'])"
    )


def test_msrvtt_and_vatex_warn_about_what_they_leave_out(tmp_path):
    test = dict(
        MSRVTT_TEST,
        videos=MSRVTT_TEST['videos']
        + [{'video_id': 'video7011', 'split': 'test'}],
    )
    path = _write(tmp_path / 'test_videodatainfo.json', test)
    with pytest.warns(ConversionWarning) as record:
        splits = convert_msrvtt([path])
    assert [vid for vid, _, _ in splits['test']] == ['video7010']
    assert _dropped(record) == [
        f'dropped 1 blank caption(s) (e.g. {path}: sentences[1])',
        f'left out 1 video(s) without a caption (e.g. video7011 of {path})',
    ]

    vatex = VATEX_TRAIN + [
        {'videoID': 'silent', 'enCap': [' ', ''], 'chCap': ['一']}
    ]
    path = _write(tmp_path / 'vatex.json', vatex)
    with pytest.warns(ConversionWarning) as record:
        splits = convert_vatex(train_file=path)
    assert len(splits['train']) == 1
    assert _dropped(record) == [
        f'{path}: dropped 2 blank caption(s) (e.g. item 1 (silent) '
        'enCap[0], item 1 (silent) enCap[1])',
        f'{path}: left out 1 video(s) without an English caption (e.g. '
        'item 1 (silent))',
    ]


def test_nothing_left_is_an_error(tmp_path):
    descriptions = _write(tmp_path / 'desc.txt', MSVD_PLAIN)
    other = _write(tmp_path / 'map.txt', 'abc_1_2 vid1\n')
    with (
        pytest.raises(ConversionError) as info,
        pytest.warns(ConversionWarning),
    ):
        convert_msvd(descriptions, other)
    assert str(info.value) == (
        f'no clip of {other} has a caption in {descriptions} (clips there, '
        "e.g. ['-4wsuPCjDBc_5_15', 'zv2RIbUsnSw_335_341']; in the mapping, "
        "e.g. ['abc_1_2'])"
    )
    blank = _write(tmp_path / 'vatex.json', [{'videoID': 'v', 'enCap': []}])
    with (
        pytest.raises(
            ConversionError,
            match='vatex.json: no video with an English caption',
        ),
        pytest.warns(ConversionWarning),
    ):
        convert_vatex(val_file=blank)


def test_blank_and_missing_files(tmp_path, monkeypatch):
    blank = _write(tmp_path / 'blank.json', '\n')
    with pytest.raises(ConversionError) as info:
        convert_msrvtt([blank])
    assert str(info.value) == f'{blank}: the file is blank; expected JSON'
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        convert_vatex(train_file='vatex/train.json')
    assert str(info.value) == (
        'Annotation file not found: vatex/train.json (resolved to '
        f'{tmp_path}/vatex/train.json, relative to the current directory '
        f'{tmp_path})'
    )
