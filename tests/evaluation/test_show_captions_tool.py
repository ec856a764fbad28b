"""tools/analysis_tools/show_captions.py: captions beside references, and
what it says when the result files do not match the annotations."""

import json
import os.path as osp
import sys

import pytest

from tests.helpers import REPO, load_script

TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'show_captions.py')
VIDEOS = ['video0', 'video1', 'video2']


def run(monkeypatch, capsys, *args):
    """The tool in this process (a subprocess would import mmaction again)."""
    module = load_script(TOOL)
    monkeypatch.setattr(sys, 'argv', [TOOL, *args])
    module.main()
    return capsys.readouterr().out


def _write(path, data, encoding='utf-8'):
    path.write_text(json.dumps(data), encoding=encoding)
    return str(path)


@pytest.fixture
def annotations(tmp_path):
    return _write(
        tmp_path / 'test.json',
        [
            dict(video=f'{v}.mp4', caption=[f'reference of {v}'], image_id=v)
            for v in VIDEOS
        ],
    )


def test_side_by_side(tmp_path, annotations, monkeypatch, capsys):
    xe = _write(
        tmp_path / 'xe.json',
        [dict(image_id=v, caption=f'xe {v}') for v in VIDEOS],
    )
    # A BOM, as some editors write, is fine.
    scst = _write(
        tmp_path / 'scst.json',
        [dict(image_id=v, caption=f'scst {v}') for v in reversed(VIDEOS)],
        encoding='utf-8-sig',
    )
    out = run(
        monkeypatch,
        capsys,
        xe,
        scst,
        annotations,
        '--labels',
        'XE',
        'SCST',
        '--num',
        '2',
    )
    assert out.splitlines() == [
        'video0',
        "  XE:        'xe video0'",
        "  SCST:      'scst video0'",
        "  reference: 'reference of video0'",
        'video1',
        "  XE:        'xe video1'",
        "  SCST:      'scst video1'",
        "  reference: 'reference of video1'",
    ]


def test_ids_that_match_nothing(tmp_path, annotations, monkeypatch, capsys):
    # Numeric ids, as another tool might write them.
    results = _write(
        tmp_path / 'results.json',
        [dict(image_id=i, caption='x') for i in range(7)],
    )
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, results, annotations)
    assert str(info.value) == (
        "show_captions.py: none of the 3 video ids shown ('video0', "
        f"'video1', 'video2', from {annotations}) matches a prediction in "
        f"{results} (its 7 id(s): '0', '1', '2', '3', '4', ...). Is it the "
        'result of this annotation file?'
    )
    assert capsys.readouterr().out == ''  # nothing printed before


def test_ids_that_match_partly(tmp_path, annotations, monkeypatch, capsys):
    results = _write(
        tmp_path / 'results.json',
        [dict(image_id='video1', caption='x')],
    )
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, results, annotations)
    assert str(info.value) == (
        f'show_captions.py: 2 of the 3 video ids shown (from {annotations}) '
        f"match no prediction in {results} (its 1 id(s): 'video1'): 'video0', "
        "'video2'"
    )


@pytest.mark.parametrize(
    'content, message',
    [
        ('', 'the file is blank; expected a COCO caption result list'),
        ('{"video0": "x"}', 'expected a COCO caption result list'),
        ('[{"image_id": "video0"}]', 'result 0 lacks "image_id" or "caption"'),
    ],
)
def test_bad_result_file(
    tmp_path, annotations, monkeypatch, capsys, content, message
):
    bad = tmp_path / 'bad.json'
    bad.write_text(content)
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, str(bad), annotations)
    assert str(info.value).startswith(f'show_captions.py: {bad}: ')
    assert message in str(info.value)
