import os.path as osp
import runpy
import sys

from tests.helpers import REPO


def test_benchmark_scst_step_runs(monkeypatch, capsys):
    script = osp.join(
        REPO, 'tools', 'analysis_tools', 'benchmark_scst_step.py'
    )
    monkeypatch.setattr(
        sys,
        'argv',
        [
            script,
            '--model',
            'tiny-opt',
            '--frames',
            '2',
            '--batch',
            '2',
            '--candidates',
            '3',
            '--max-new-tokens',
            '6',
            '--corpus-videos',
            '20',
            '--refs',
            '3',
            '--steps',
            '2',
            '--warmup',
            '0',
            '--no-java',
        ],
    )
    runpy.run_path(script, run_name='__main__')
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('SCST step: tiny-opt, 2 frames, batch 2')
    rows = {}
    for line in lines:
        parts = line.rsplit(None, 2)
        if len(parts) == 3 and parts[2].endswith('%'):
            rows[parts[0]] = (float(parts[1]), float(parts[2][:-1]))
    phases = [
        'visual tokens',
        'generation',
        'reward',
        're-scoring',
        'backward',
        'other',
    ]
    assert list(rows) == [*phases, 'step']
    assert all(rows[p][0] > 0 for p in phases[:-1])
    total = sum(rows[p][0] for p in phases)
    assert abs(total - rows['step'][0]) < 0.2
    assert lines[-1].startswith('peak resident memory')
