"""The bad-input table of issue 4: every case, what the user sees."""

import json
import logging

import pytest
from mmaction.registry import DATASETS
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from torch.utils.data import DataLoader

from vidcap_mm.datasets import AnnotationError, VideoReadError

from .conftest import REAL_CLIP, write_clip

PIPELINE = [
    dict(type='DecordVideoInit', resize=(32, 32), min_frames=2),
    dict(type='EvenlySpacedSample', num_frames=2),
    dict(type='DecordVideoDecode'),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackCaptionInputs'),
]
GOOD = dict(video='good.mp4', caption='a good clip', image_id='good')


@pytest.fixture
def video_dir(tmp_path):
    root = tmp_path / 'videos'
    root.mkdir()
    write_clip(root / 'good.mp4', 6, 32, 32)
    write_clip(root / 'one_frame.mp4', 1, 32, 32)
    (root / 'zero.mp4').write_bytes(b'')
    (root / 'text.mp4').write_text('not a video\n')
    data = open(REAL_CLIP, 'rb').read()
    (root / 'truncated.mp4').write_bytes(data[:60000])
    damaged = bytearray(data)
    for i in range(20000, 140000, 97):
        damaged[i] = (damaged[i] + 123) % 256
    (root / 'corrupt.mp4').write_bytes(bytes(damaged))
    return root


@pytest.fixture
def warnings():
    """Warnings logged through MMEngine's current logger."""
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _dataset(tmp_path, video_dir, records, **kwargs):
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(records))
    return DATASETS.build(
        dict(
            type='VideoCaptionDataset',
            ann_file=str(ann_file),
            data_prefix=dict(video=str(video_dir)),
            pipeline=PIPELINE,
            **kwargs,
        )
    )


VIDEO_CASES = [
    ('missing.mp4', 'video file not found'),
    ('zero.mp4', r'video file is empty \(0 bytes\)'),
    ('text.mp4', 'decord cannot open it: not a video'),
    ('truncated.mp4', 'decord cannot open it'),
    ('corrupt.mp4', r'decord fails on frames \[0, 38\] of 77 \(Check failed'),
    ('one_frame.mp4', 'has 1 frames, fewer than min_frames=2'),
]


@pytest.mark.parametrize('video, message', VIDEO_CASES)
@pytest.mark.parametrize('test_mode', [False, True])
def test_bad_video_raises(
    tmp_path, video_dir, mmaction_scope, video, message, test_mode
):
    bad = dict(video=video, caption='x', image_id='bad')
    dataset = _dataset(tmp_path, video_dir, [GOOD, bad], test_mode=test_mode)
    assert dataset[0]['inputs'].shape == (2, 3, 32, 32)
    with pytest.raises(VideoReadError, match=message) as info:
        dataset[1]
    text = str(info.value)
    assert text.startswith(f'{video_dir / video} (bad): ')
    assert f'from {tmp_path / "ann.json"}: record 1' in text
    assert "(video id 'bad')" in text


@pytest.mark.parametrize('train_samples', ['per_caption', 'per_video'])
def test_skip_invalid_videos(
    tmp_path, video_dir, mmaction_scope, warnings, train_samples
):
    records = [GOOD] + [
        dict(video=video, caption=caption, image_id=video)
        for video, _ in VIDEO_CASES
        for caption in ('x', 'y')  # two samples per bad video per epoch
    ]
    dataset = _dataset(
        tmp_path,
        video_dir,
        records,
        skip_invalid=True,
        train_samples=train_samples,
    )
    for _ in range(3):  # three epochs
        for idx in range(len(dataset)):
            packed = dataset[idx]
            # Every bad sample is replaced by the only good one.
            assert packed['data_samples'].video_id == 'good'
    # Counted every time (replacements are random, so bad ones can be
    # drawn again)...
    assert set(dataset.skipped_videos) == {
        str(video_dir / video) for video, _ in VIDEO_CASES
    }
    assert min(dataset.skipped_videos.values()) >= 3
    # ... logged once per epoch per file, whatever the replacements hit.
    messages = [r.getMessage() for r in warnings]
    assert len(messages) == 3 * len(VIDEO_CASES)
    for video, _ in VIDEO_CASES:
        assert sum(f'videos/{video} ' in m for m in messages) == 3
    assert 'skipped unreadable video' in messages[0]
    assert 'ann.json: record 1' in messages[0]
    assert '6 file(s) skipped here so far' in messages[-1]


def test_no_skip_in_test_mode(tmp_path, video_dir, mmaction_scope):
    bad = dict(video='zero.mp4', caption='x')
    dataset = _dataset(
        tmp_path, video_dir, [GOOD, bad], skip_invalid=True, test_mode=True
    )
    with pytest.raises(VideoReadError, match='zero.mp4'):
        dataset[1]


def test_error_from_a_worker_is_readable(tmp_path, video_dir, mmaction_scope):
    bad = dict(video='missing.mp4', caption='x', image_id='bad')
    dataset = _dataset(tmp_path, video_dir, [bad], test_mode=True)
    loader = DataLoader(dataset, num_workers=1, collate_fn=pseudo_collate)
    # torch re-raises it in the main process as a RuntimeError whose
    # message ends with ours.
    with pytest.raises(RuntimeError) as info:
        next(iter(loader))
    last_line = str(info.value).strip().splitlines()[-1]
    assert last_line.startswith('vidcap_mm.datasets.transforms.loading.')
    assert 'missing.mp4 (bad): video file not found' in last_line
    assert 'ann.json: record 0' in last_line


@pytest.mark.parametrize(
    'records, message',
    [
        ([GOOD, dict(caption='x')], "record 1 has no 'video' field"),
        ([GOOD, dict(video='a.mp4')], "record 1 has no 'caption' field"),
        (
            [GOOD, dict(video='a.mp4', caption='')],
            'record 1: caption is empty',
        ),
        (
            [GOOD, dict(video='a.mp4', caption=['fine', '  '])],
            'record 1: caption 1 is empty',
        ),
        (
            [GOOD, dict(video='other.mp4', caption='x', image_id='good')],
            "record 1 gives video id 'good' the file 'other.mp4', but "
            "record 0 gave it 'good.mp4'",
        ),
        (
            [GOOD, dict(video='good.mp4', caption='x', image_id='other')],
            "record 1 gives the file 'good.mp4' the video id 'other', but "
            "record 0 gave it 'good'",
        ),
    ],
)
def test_bad_records(tmp_path, video_dir, mmaction_scope, records, message):
    with pytest.raises(AnnotationError, match=message) as info:
        _dataset(tmp_path, video_dir, records)
    assert str(tmp_path / 'ann.json') in str(info.value)


def test_skip_invalid_records(tmp_path, video_dir, mmaction_scope, warnings):
    records = [
        GOOD,
        dict(caption='x'),
        dict(video='a.mp4', caption=''),
        dict(video='other.mp4', caption='x', image_id='good'),
        dict(video='good.mp4', caption='a second one', image_id='good'),
    ]
    dataset = _dataset(tmp_path, video_dir, records, skip_invalid=True)
    assert dataset.get_references() == {
        'good': ['a good clip', 'a second one']
    }
    assert len(warnings) == 1  # one warning for the whole file
    message = warnings[0].getMessage()
    assert 'skipped 3 invalid record(s) of 5' in message
    assert 'record 1' in message and 'record 3' in message

    with pytest.raises(AnnotationError, match='no valid record among 1'):
        _dataset(tmp_path, video_dir, [dict(video='a')], skip_invalid=True)


def test_malformed_json_and_missing_file(tmp_path, video_dir):
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text('[{"video": "a.mp4", "caption": ')
    with pytest.raises(AnnotationError, match='not valid JSON') as info:
        DATASETS.build(
            dict(type='VideoCaptionDataset', ann_file=str(ann_file))
        )
    assert str(ann_file) in str(info.value)
    with pytest.raises(FileNotFoundError, match='nowhere/ann.json'):
        DATASETS.build(
            dict(
                type='VideoCaptionDataset',
                ann_file=str(tmp_path / 'nowhere' / 'ann.json'),
                skip_invalid=True,
            )
        )


def test_missing_relative_file_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        DATASETS.build(
            dict(type='VideoCaptionDataset', ann_file='anns/train.json')
        )
    assert str(info.value) == (
        'Annotation file not found: anns/train.json (resolved to '
        f'{tmp_path}/anns/train.json, relative to the current directory '
        f'{tmp_path})'
    )
    # Joined to data_root (by mmengine), from split.
    with pytest.raises(FileNotFoundError) as info:
        DATASETS.build(
            dict(type='MSVDCaptionDataset', data_root='data/msvd', split='val')
        )
    assert str(info.value) == (
        'Annotation file not found: data/msvd/annotations/val.json (resolved '
        f'to {tmp_path}/data/msvd/annotations/val.json, relative to the '
        f"current directory {tmp_path}); ann_file 'annotations/val.json' "
        "(from split='val') joined to data_root 'data/msvd'"
    )
    with pytest.raises(FileNotFoundError) as info:
        DATASETS.build(
            dict(
                type='VideoCaptionDataset',
                data_root=str(tmp_path / 'root'),
                ann_file='train.json',
            )
        )
    assert str(info.value) == (
        f'Annotation file not found: {tmp_path}/root/train.json; ann_file '
        f"'train.json' joined to data_root '{tmp_path}/root'"
    )


def test_byte_order_mark_and_blank_file(tmp_path, video_dir, mmaction_scope):
    """Spreadsheet programs and some editors start UTF-8 files with a BOM."""
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps([GOOD]), encoding='utf-8-sig')
    assert ann_file.read_bytes().startswith(b'\xef\xbb\xbf')
    dataset = DATASETS.build(
        dict(type='VideoCaptionDataset', ann_file=str(ann_file))
    )
    assert dataset.get_references() == {'good': ['a good clip']}
    ann_file.write_text('\n')
    with pytest.raises(AnnotationError) as info:
        DATASETS.build(
            dict(type='VideoCaptionDataset', ann_file=str(ann_file))
        )
    assert str(info.value) == (
        f'{ann_file}: the file is blank; expected a JSON list of records '
        '(LAVIS layout)'
    )
