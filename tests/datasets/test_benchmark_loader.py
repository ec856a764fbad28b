import os.path as osp
import runpy
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_benchmark_loader_runs(monkeypatch, capsys):
    script = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_loader.py')
    monkeypatch.setattr(
        sys,
        'argv',
        [
            script,
            '--num-clips',
            '4',
            '--num-frames',
            '2',
            '--size',
            '32',
            '--batch-size',
            '1',
            '--max-batches',
            '2',
            '--workers',
            '0',
            '--repeats',
            '1',
        ],
    )
    runpy.run_path(script, run_name='__main__')
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('4 clips, 2 frames at 32 x 32')
    workers, ours, plain, ratio = lines[-1].split()
    assert workers == '0' and ours.endswith('/s') and ratio.endswith('x')
