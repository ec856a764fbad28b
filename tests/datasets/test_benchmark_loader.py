import os.path as osp
import runpy
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_loader.py')
TINY = ['--num-frames', '2', '--size', '32', '--workers', '0']


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, 'argv', [SCRIPT, *args])
    runpy.run_path(SCRIPT, run_name='__main__')
    return capsys.readouterr().out.strip().splitlines()


def test_benchmark_loader_runs(monkeypatch, capsys):
    lines = run(
        monkeypatch,
        capsys,
        '--num-clips',
        '4',
        '--batch-size',
        '1',
        '--max-batches',
        '2',
        '--repeats',
        '1',
        *TINY,
    )
    assert lines[0].startswith(
        '4 clips, 2 frames at 32 x 32, batch 1, 2 batches (2 clips) timed '
        'after the first, best of 1,'
    )
    workers, ours, plain, ratio = lines[-1].split()
    assert workers == '0' and ours.endswith('/s') and ratio.endswith('x')


def test_timed_batches_are_counted_exactly():
    tool = runpy.run_path(SCRIPT)
    batches = [[0] * 3] * 5
    seen = []
    tool['_time'](batches, lambda batch: seen.append(batch) or len(batch), 3)
    assert len(seen) == 1 + 3  # the first batch, then the three timed
    # Fewer clips than --max-batches asks for: what is there, last one short.
    assert tool['_batches_to_time'](9, 4, 12) == (2, 5)
    assert tool['_batches_to_time'](96, 8, 12) == (11, 88)
    assert tool['_batches_to_time'](200, 8, 12) == (12, 96)


def test_fewer_clips_than_two_batches(monkeypatch, capsys):
    lines = run(
        monkeypatch, capsys, '--num-clips', '5', '--batch-size', '4', *TINY
    )
    assert ', batch 4, 1 batches (1 clips) timed after the first,' in lines[0]
    with pytest.raises(SystemExit) as info:
        run(
            monkeypatch, capsys, '--num-clips', '4', '--batch-size', '4', *TINY
        )
    assert str(info.value) == (
        'benchmark_loader.py: 4 clip(s) make 1 batch(es) of 4, and the first '
        'batch is not timed (it includes starting the workers): give at '
        'least 5 clips (--num-clips) or a smaller --batch-size'
    )


def test_bad_counts_are_refused(monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, '--num-clips', '0')
    assert info.value.code == 2
    assert '--num-clips: must be at least 1, got 0' in capsys.readouterr().err
