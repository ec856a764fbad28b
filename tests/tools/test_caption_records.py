"""demo/caption_video.py --out OUT.jsonl: many videos from a folder or a
list file, decoded in workers, one record a line, bad files counted and
listed, and a run killed with SIGKILL that resumes to the same records as
an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.apis.tiny_captioner import (
    CFG_OPTIONS,
    CONFIG,
    cfg_option_args,
    write_checkpoint,
    write_coloured_clip,
)
from tests.helpers import REPO, load_script
from tests.tools.test_caption_video_cli import SCRIPT
from tests.tools.tool_runs import fake_slurm, run_slurm, run_tool
from vidcap_mm.apis import init_captioner, iter_captions
from vidcap_mm.apis.caption_records import (
    CaptionRecordFile,
    errors_path,
    part_path,
    record_parts,
)
from vidcap_mm.apis.video_inputs import iter_video_files


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp('records') / 'ckpt.pth')


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    """A folder of 12 clips in two subfolders and one broken file."""
    folder = tmp_path_factory.mktemp('records') / 'clips'
    for i in range(12):
        where = folder / ('a' if i < 6 else 'b')
        where.mkdir(parents=True, exist_ok=True)
        write_coloured_clip(where / f'clip{i:02d}.mp4', 6, 32, 32, seed=i)
    (folder / 'b' / 'broken.mp4').write_bytes(b'not a video at all' * 20)
    return folder


def caption_args(source, out, checkpoint, *extra):
    return [
        SCRIPT,
        str(source),
        CONFIG,
        '--checkpoint',
        checkpoint,
        '--out',
        str(out),
        '--device',
        'cpu',
        '--batch-size',
        '2',
        *extra,
        '--cfg-options',
        *cfg_option_args(),
    ]


def read_records(path):
    if 'errors' in os.path.basename(str(path)) and not os.path.exists(path):
        return []  # written only when a video could not be read
    with open(path, encoding='utf-8') as f:
        text = f.read()
    assert text == '' or text.endswith('\n')
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope='module')
def expected(clips, checkpoint):
    """The Python API's captions, in this process, one video at a time."""
    model = init_captioner(CONFIG, checkpoint, 'cpu', CFG_OPTIONS)
    return {
        r.path: r.caption
        for r in iter_captions(model, str(clips), skip_unreadable=True)
        if r.error is None
    }


def test_folder_with_workers(tmp_path, clips, checkpoint, expected):
    out = tmp_path / 'records.jsonl'
    result = run_tool(
        *caption_args(clips, out, checkpoint, '--workers', '2'),
        expect_success=False,
    )
    assert result.returncode == 1  # one unreadable file
    records = read_records(out)
    # In input order, each once, the API's captions.
    order = [v.path for v in iter_video_files(str(clips))]
    assert [r['video'] for r in records] == [
        p for p in order if 'broken' not in p
    ]
    assert {r['video']: r['caption'] for r in records} == expected
    first = records[0]
    assert set(first) == {
        'video',
        'caption',
        'duration',
        'frames',
        'config',
        'checkpoint',
    }
    assert first['duration'] == pytest.approx(0.6)  # 6 frames at 10 fps
    assert len(first['frames']) == 4
    assert first['config'] == 'tiny_opt_synthetic.py'
    assert len(first['checkpoint']) == 16
    (error,) = read_records(errors_path(str(out)))
    assert error['video'].endswith('broken.mp4') and error['error']
    assert '12 videos captioned' in result.stderr
    assert '1 could not be read' in result.stderr
    # Not a terminal: plain progress lines with rate and time left.
    assert 'videos/s' in result.stderr and 'left' in result.stderr

    # A rerun captions nothing new (the broken file is tried again).
    again = run_tool(
        *caption_args(clips, out, checkpoint), expect_success=False
    )
    assert 'holds 12 records: captioning the other 1 videos' in again.stderr
    assert read_records(out) == records
    assert len(read_records(errors_path(str(out)))) == 2


def test_list_files(tmp_path, clips, checkpoint, expected):
    # In this process: a subprocess per list file would import torch and
    # mmaction each time.
    script = load_script(SCRIPT)
    paths = sorted(expected)[:3]
    lists = {
        'videos.txt': '# a comment\n\n' + '\n'.join(paths) + '\n',
        'videos.csv': 'id,path\n'
        + ''.join(f'{i},"{p}"\n' for i, p in enumerate(paths))
        + '9,\n',
        'videos.jsonl': ''.join(json.dumps(dict(path=p)) + '\n' for p in paths)
        + '{"name": "no path"}\n',
    }
    for name, text in lists.items():
        source = tmp_path / name
        source.write_text(text)
        out = tmp_path / f'{name}.jsonl'
        args = caption_args(source, out, checkpoint, '--workers', '0')
        status = script.main(args[1:])
        records = read_records(out)
        assert [r['video'] for r in records] == paths, name
        assert [r['caption'] for r in records] == [expected[p] for p in paths]
        errors = read_records(errors_path(str(out)))
        if name == 'videos.txt':
            assert status == 0 and errors == []
        else:
            # The entry without a path, named by file and line.
            assert status == 1
            (error,) = errors
            line = 5 if name == 'videos.csv' else 4  # after a header
            assert error['video'] == f'{source}:{line}'


def test_cut_last_line_is_repaired(tmp_path, clips, checkpoint):
    out = tmp_path / 'records.jsonl'
    some = sorted(str(p) for p in (clips / 'a').iterdir())[:2]
    source = tmp_path / 'two.txt'
    source.write_text('\n'.join(some) + '\n')
    run_tool(*caption_args(source, out, checkpoint))
    whole = read_records(out)
    with open(out, 'a') as f:
        f.write('{"video": "' + some[1][:5])  # what a kill can leave
    assert CaptionRecordFile(str(out)).videos() == set(some)
    assert read_records(out) == whole


def test_not_a_records_file_is_refused(tmp_path, clips, checkpoint):
    out = tmp_path / 'other.jsonl'
    out.write_text('{"id": 1}\n')
    result = run_tool(
        *caption_args(clips, out, checkpoint), expect_success=False
    )
    assert result.returncode == 2
    assert f'{out}:1: not a captioning record' in result.stderr


@pytest.fixture(scope='module')
def reference(tmp_path_factory, clips, checkpoint):
    """The records file of one uninterrupted run over ``clips`` (its
    broken file makes the exit status 1), shared by the tests that compare
    other runs with it; they do not write to it."""
    path = tmp_path_factory.mktemp('reference') / 'reference.jsonl'
    run_tool(*caption_args(clips, path, checkpoint), expect_success=False)
    return path


def test_killed_run_resumes_to_the_same_records(
    tmp_path, clips, checkpoint, reference
):
    out = tmp_path / 'killed.jsonl'
    env = dict(os.environ, PYTHONPATH=REPO)
    process = subprocess.Popen(
        [sys.executable, *caption_args(clips, out, checkpoint)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.stat().st_size > 0:
            break
        time.sleep(0.05)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait()
    assert killed, 'the run ended before it could be killed'
    partial = read_records(out)
    assert 0 < len(partial) < 12
    run_tool(*caption_args(clips, out, checkpoint), expect_success=False)
    resumed = read_records(out)
    assert sorted(r['video'] for r in resumed) == sorted(
        r['video'] for r in read_records(reference)
    )
    assert len({r['video'] for r in resumed}) == len(resumed) == 12
    assert {r['video']: r['caption'] for r in resumed} == {
        r['video']: r['caption'] for r in read_records(reference)
    }


def dist_caption(out, source, checkpoint, processes):
    env = {k: v for k, v in os.environ.items() if k not in ('PORT', 'NNODES')}
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env['PATH']
    return subprocess.run(
        [
            'bash',
            'tools/dist_caption.sh',
            CONFIG,
            checkpoint,
            str(source),
            str(out),
            str(processes),
            *caption_args(source, out, checkpoint)[7:],
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_two_processes_give_the_lines_of_one(
    tmp_path, clips, checkpoint, reference
):
    one = reference
    two = tmp_path / 'two.jsonl'
    result = dist_caption(two, clips, checkpoint, 2)
    assert result.returncode != 0, result.stderr  # the broken file
    assert two.read_text() == one.read_text()
    assert record_parts(str(two)) == []
    (error,) = read_records(errors_path(str(two)))
    assert error['video'].endswith('broken.mp4')
    assert '12 videos captioned' in result.stderr
    # Again on 2: nothing left to caption but the broken file.
    again = dist_caption(two, clips, checkpoint, 2)
    assert 'holds 12 records' in again.stderr
    assert two.read_text() == one.read_text()


def test_parts_of_a_crashed_run_are_resumed_on_one_process(
    tmp_path, clips, checkpoint, reference
):
    lines = reference.read_text().splitlines(keepends=True)
    out = tmp_path / 'crashed.jsonl'
    # A 2-process run killed after some batches: two parts, one cut short.
    with open(part_path(str(out), 0, 2), 'w') as f:
        f.writelines(lines[0:2] + lines[4:6])
    with open(part_path(str(out), 1, 2), 'w') as f:
        f.writelines(lines[2:4] + [lines[6][:20]])
    result = run_tool(
        *caption_args(clips, out, checkpoint), expect_success=False
    )
    assert 'holds 6 records: captioning the other 7 videos' in result.stderr
    assert out.read_text() == reference.read_text()
    assert record_parts(str(out)) == []


def test_slurm_caption_runs_one_task_per_gpu(tmp_path, clips, checkpoint):
    videos = sorted(str(p) for p in (clips / 'a').iterdir())
    source = tmp_path / 'videos.txt'
    source.write_text('\n'.join(videos) + '\n')
    one = tmp_path / 'one.jsonl'
    run_tool(*caption_args(source, one, checkpoint))
    out = tmp_path / 'slurm.jsonl'
    slurm_dir = fake_slurm(tmp_path / 'slurm')
    run_slurm(
        'slurm_caption.sh',
        slurm_dir,
        'partition',
        'job',
        CONFIG,
        checkpoint,
        str(source),
        str(out),
        *caption_args(source, out, checkpoint)[7:],
    )
    assert out.read_text() == one.read_text()
    srun_args = (tmp_path / 'slurm' / 'srun_args').read_text().split('\n')
    assert '--ntasks=2' in srun_args and '--launcher=slurm' in srun_args
