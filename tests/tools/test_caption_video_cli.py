"""demo/caption_video.py: a folder with an unreadable file, results file,
pictures and exit status, as a user runs it."""

import json
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from tests.apis.tiny_captioner import (
    CFG_OPTIONS,
    CONFIG,
    cfg_option_args,
    write_checkpoint,
    write_coloured_clip,
)
from tests.datasets.conftest import REAL_CLIP
from tests.helpers import REPO, load_script
from tests.tools.tool_runs import run_tool
from vidcap_mm.apis import caption_videos, init_captioner
from vidcap_mm.visualization import CaptionVisualizer

SCRIPT = osp.join(REPO, 'demo', 'caption_video.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp('cli') / 'trained.pth')


def test_folder_with_an_unreadable_file(tmp_path, checkpoint):
    folder = tmp_path / 'my clips ü'
    folder.mkdir()
    shutil.copy(REAL_CLIP, folder / 'bikes é.mp4')
    write_coloured_clip(folder / 'portrait.mp4', 9, 40, 96, seed=1)
    write_coloured_clip(folder / 'short.mp4', 2, 48, 48, seed=2)
    (folder / 'broken.mp4').write_bytes(b'\x00\x00\x00\x18ftypmp42' * 40)
    (folder / 'notes.txt').write_text('not a video')
    out = tmp_path / 'out' / 'results.json'
    show_dir = tmp_path / 'pictures'

    result = run_tool(
        SCRIPT,
        str(folder),
        CONFIG,
        '--checkpoint',
        checkpoint,
        '--out',
        str(out),
        '--show-dir',
        str(show_dir),
        '--device',
        'cpu',
        '--batch-size',
        '2',
        '--cfg-options',
        *cfg_option_args(),
        expect_success=False,
    )
    assert result.returncode == 1, result.stderr[-3000:]

    model = init_captioner(
        CONFIG, checkpoint, device='cpu', cfg_options=CFG_OPTIONS
    )
    good = [folder / f for f in ('bikes é.mp4', 'portrait.mp4', 'short.mp4')]
    expected = caption_videos(model, [str(p) for p in good])
    assert result.stdout.splitlines() == [
        f'{r.name}\t{r.caption}' for r in expected
    ]
    # The unreadable file is named, with the reason, after the others.
    failures = result.stderr[result.stderr.index('1 of 4 videos') :]
    first, second = failures.splitlines()
    assert first == '1 of 4 videos could not be read:'
    assert second.startswith(
        f'  {folder / "broken.mp4"}: decord cannot open it: not a video, '
        'or a damaged or truncated one ('
    )
    assert '4/4' in result.stderr  # the progress bar reached the end

    assert json.loads(out.read_text(encoding='utf-8')) == [
        dict(image_id=r.name, caption=r.caption, video=r.path)
        for r in expected
    ]
    assert sorted(p.name for p in show_dir.iterdir()) == [
        'bikes é.png',
        'portrait.png',
        'short.png',
    ]
    # Each picture is the visualizer's drawing of the frames the model saw.
    picture = CaptionVisualizer(name='cli_test').add_datasample(
        'portrait',
        expected[1].frames,
        expected[1].data_sample,
        out_file=str(tmp_path / 'expected.png'),
    )
    written = cv2.imread(str(show_dir / 'portrait.png'))[..., ::-1]
    np.testing.assert_array_equal(written, picture)


def test_nothing_to_caption(tmp_path, capsys):
    (tmp_path / 'notes.txt').write_text('x')
    args = [str(tmp_path), CONFIG, '--device', 'cpu']
    status = load_script(SCRIPT).main(args)
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: {tmp_path}: no video file')
    status = load_script(SCRIPT).main(
        [str(tmp_path / 'missing.mp4'), CONFIG, '--device', 'cpu']
    )
    assert status == 2
    assert 'no such video file or folder' in capsys.readouterr().err


def test_nothing_readable(tmp_path, capsys):
    (tmp_path / 'empty.mp4').write_bytes(b'')
    args = [str(tmp_path), CONFIG, '--device', 'cpu']
    status = load_script(SCRIPT).main(args)
    assert status == 1
    captured = capsys.readouterr()
    assert captured.out == ''
    assert f'  {tmp_path / "empty.mp4"}: video file is empty (0 bytes)' in (
        captured.err
    )
    assert captured.err.rstrip().endswith(
        f'error: no readable video in {tmp_path}; nothing was captioned.'
    )
