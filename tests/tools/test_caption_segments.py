"""demo/caption_video.py --segment-seconds: a long video captioned in timed
windows, each sampled the model's way within it, as JSON Lines records and
SubRip / WebVTT files."""

import re

import cv2
import decord
import numpy as np
import pytest

from tests.apis.tiny_captioner import CFG_OPTIONS, CONFIG, write_checkpoint
from tests.helpers import load_script
from tests.tools.test_caption_records import caption_args, read_records
from tests.tools.test_caption_video_cli import SCRIPT
from tests.tools.tool_runs import run_tool
from vidcap_mm.apis import Shots, init_captioner, iter_captions
from vidcap_mm.apis.caption_loader import segment_windows
from vidcap_mm.apis.shots import shot_windows
from vidcap_mm.apis.subtitles import srt_text, vtt_text
from vidcap_mm.datasets.transforms.loading import FrameArrayReader

FPS, SIZE = 10, 32
# Three windows of 2 seconds, each its own colour and pattern.
CONTENT = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp('seg') / 'ckpt.pth')


@pytest.fixture(scope='module')
def long_video(tmp_path_factory):
    """6 seconds at 10 fps: 2 seconds of each of three contents."""
    path = str(tmp_path_factory.mktemp('seg') / 'long.mp4')
    writer = cv2.VideoWriter(
        path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (64, 64)
    )
    rng = np.random.default_rng(0)
    for colour in CONTENT:
        pattern = rng.integers(0, 2, (4, 4, 1), dtype=np.uint8)
        block = (pattern * np.array(colour, dtype=np.uint8)).astype(np.uint8)
        frame = cv2.resize(block, (64, 64), interpolation=cv2.INTER_NEAREST)
        for _ in range(2 * FPS):
            writer.write(frame)
    writer.release()
    return path


def test_windows_cover_the_video_in_order():
    windows = segment_windows(95, 10.0, 3.0, 3.0)
    assert [w for w, _ in windows] == [
        (0.0, 3.0),
        (3.0, 6.0),
        (6.0, 9.0),
        (9.0, 9.5),
    ]
    assert [f for _, f in windows] == [(0, 30), (30, 60), (60, 90), (90, 95)]
    sliding = segment_windows(60, 10.0, 3.0, 1.0)
    assert len(sliding) == 6 and sliding[-1] == ((5.0, 6.0), (50, 60))
    assert all(0 <= f < e <= 60 for _, (f, e) in sliding)


def test_each_segment_is_its_window_captioned_alone(
    tmp_path, long_video, checkpoint
):
    out = tmp_path / 'segments.jsonl'
    subtitles = tmp_path / 'subtitles'
    run_tool(
        *caption_args(
            long_video,
            out,
            checkpoint,
            '--segment-seconds',
            '2',
            '--subtitles',
            str(subtitles),
        )
    )
    (record,) = read_records(out)
    assert record['video'] == long_video
    assert record['duration'] == pytest.approx(6.0)
    segments = record['segments']
    assert [(s['start'], s['end']) for s in segments] == [
        (0.0, 2.0),
        (2.0, 4.0),
        (4.0, 6.0),
    ]
    # Each window sampled as the test pipeline samples a whole video
    # (4 evenly spaced frames of its 20), then shifted to the window.
    assert [s['frames'] for s in segments] == [
        [first + i for i in (0, 5, 10, 15)] for first in (0, 20, 40)
    ]
    # The same caption as the window's frames (decoded at the model's size
    # as the pipeline decodes them) captioned as a video of their own.
    reader = decord.VideoReader(long_video, width=SIZE, height=SIZE)
    frames = reader.get_batch(list(range(60))).asnumpy()
    model = init_captioner(CONFIG, checkpoint, 'cpu', CFG_OPTIONS)
    alone = {
        r.name: r.caption
        for r in iter_captions(
            model, {str(w): frames[w * 20 : (w + 1) * 20] for w in range(3)}
        )
    }
    assert [s['caption'] for s in segments] == [
        alone[str(w)] for w in range(3)
    ]
    assert len(set(alone.values())) > 1  # the windows' contents differ

    srt = (subtitles / 'long.srt').read_text()
    vtt = (subtitles / 'long.vtt').read_text()
    assert srt == srt_text(segments) and vtt == vtt_text(segments)
    assert vtt.startswith('WEBVTT\n\n')
    stamps = re.findall(r'(\d\d):(\d\d):(\d\d),(\d\d\d)', srt)
    seconds = [
        int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000
        for h, m, s, ms in stamps
    ]
    assert seconds == sorted(seconds) and seconds[-1] <= 6.0
    assert srt.splitlines()[:3] == [
        '1',
        '00:00:00,000 --> 00:00:02,000',
        segments[0]['caption'],
    ]


@pytest.fixture(scope='module')
def shots_video(tmp_path_factory):
    """Shots of 16, 27 and 17 frames at 10 fps: cuts where the content
    changes, not on a clock. The frames of a shot stay the same but for
    one pixel block that moves (motion, not a cut)."""
    path = str(tmp_path_factory.mktemp('shots') / 'shots.mp4')
    writer = cv2.VideoWriter(
        path, cv2.VideoWriter_fourcc(*'mp4v'), FPS, (64, 64)
    )
    rng = np.random.default_rng(1)
    for colour, length in zip(CONTENT, (16, 27, 17)):
        pattern = rng.integers(0, 2, (4, 4, 1), dtype=np.uint8)
        block = (pattern * np.array(colour, dtype=np.uint8)).astype(np.uint8)
        base = cv2.resize(block, (64, 64), interpolation=cv2.INTER_NEAREST)
        for t in range(length):
            frame = base.copy()
            frame[4:8, 4 + t : 8 + t] = 128
            writer.write(frame)
    writer.release()
    return path


def test_shots_are_found_where_the_content_changes(shots_video):
    reader = decord.VideoReader(shots_video, width=SIZE, height=SIZE)
    windows = shot_windows(reader, len(reader), FPS, Shots())
    assert windows == [
        ((0.0, 1.6), (0, 16)),
        ((1.6, 4.3), (16, 43)),
        ((4.3, 6.0), (43, 60)),
    ]
    # A threshold over every change finds one shot; min_frames longer
    # than the first shot drops its cut.
    assert shot_windows(reader, 60, FPS, Shots(threshold=250)) == [
        ((0.0, 6.0), (0, 60))
    ]
    assert [f for _, f in shot_windows(reader, 60, FPS, Shots(27, 20))] == [
        (0, 43),
        (43, 60),
    ]
    # Frames in memory are cut the same.
    frames = reader.get_batch(list(range(60))).asnumpy()
    in_memory = FrameArrayReader(frames, None)
    assert shot_windows(in_memory, 60, FPS, Shots()) == windows


def test_each_shot_is_its_frames_captioned_alone(
    tmp_path, shots_video, checkpoint
):
    out = tmp_path / 'shots.jsonl'
    subtitles = tmp_path / 'subtitles'
    run_tool(
        *caption_args(
            shots_video,
            out,
            checkpoint,
            '--shots',
            '--subtitles',
            str(subtitles),
        )
    )
    (record,) = read_records(out)
    segments = record['segments']
    assert [(s['start'], s['end']) for s in segments] == [
        (0.0, 1.6),
        (1.6, 4.3),
        (4.3, 6.0),
    ]
    reader = decord.VideoReader(shots_video, width=SIZE, height=SIZE)
    frames = reader.get_batch(list(range(60))).asnumpy()
    model = init_captioner(CONFIG, checkpoint, 'cpu', CFG_OPTIONS)
    bounds = [(0, 16), (16, 43), (43, 60)]
    alone = [
        r.caption
        for r in iter_captions(
            model, {str(i): frames[a:b] for i, (a, b) in enumerate(bounds)}
        )
    ]
    assert [s['caption'] for s in segments] == alone
    assert [s['frames'][0] for s in segments] == [0, 16, 43]
    assert (subtitles / 'shots.srt').read_text() == srt_text(segments)
    # The Python API gives the same.
    (result,) = iter_captions(model, [shots_video], segments=Shots())
    assert result.segments == segments


def test_segment_and_shot_options_are_checked(
    tmp_path, shots_video, checkpoint, capsys
):
    script = load_script(SCRIPT)
    for extra, message in [
        (['--subtitles', str(tmp_path)], '--subtitles need --segment-seconds'),
        (['--shots', '--segment-seconds', '2'], 'not both'),
        (['--shots', '--shot-threshold', '0'], 'must be > 0'),
        (['--shots', '--show-dir', str(tmp_path)], 'not with segments'),
    ]:
        args = caption_args(shots_video, tmp_path / 'x.jsonl', checkpoint)
        assert script.main([*args[1:], *extra]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match='threshold > 0'):
        Shots(threshold=-1).check()
