"""benchmark_captioning.py runs on the tiny demo model, checks that both
paths caption every clip the same, and stops when they do not."""

import os.path as osp
import runpy

import pytest

from tests.apis.tiny_captioner import redrawn_checkpoint
from tests.helpers import REPO

SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_captioning.py')


def test_both_paths_caption_the_same_and_the_ratio_is_printed(
    capsys, tmp_path
):
    # The demo config as it is, its Q-Former redrawn so that the captions
    # depend on the clip (untrained, every clip gets the same one).
    checkpoint = str(tmp_path / 'neck.pth')
    redrawn_checkpoint(checkpoint)
    module = runpy.run_path(SCRIPT)
    results = module['main'](
        [
            '--checkpoint',
            checkpoint,
            '--num-videos',
            '6',
            '--batch-size',
            '4',
            '--workers',
            '1',
            '--repeats',
            '1',
            '--threads',
            '1',
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        'tiny_opt_synthetic.py: config weights + '
        f'{checkpoint}; 6 clips (generated: 16-32 frames at 64-128 px), '
        '4 frames at 64 x 64; cpu;'
    )
    assert '1 PyTorch thread(s) in both paths; median of 1 runs' in lines[0]
    captions = results['captions']
    assert len(captions) == 6 and all(captions)
    assert len(set(captions)) > 1  # a check that could fail
    assert lines[1] == (
        'same captions: both paths give every one of the 6 clips the same '
        f'caption ({len(set(captions))} distinct)'
    )
    assert lines[2].split() == ['path', 'clips/s', 'model', 'busy']
    assert lines[3].startswith('ours (batch 4, workers 1) ')
    assert lines[4].startswith('hand-written (1 at a time) ')
    for name, line in (('ours', lines[3]), ('hand', lines[4])):
        rate, busy = line.split()[-2:]
        assert float(rate) == pytest.approx(
            results[name]['clips_per_s'], abs=0.006
        )
        assert 0 < results[name]['model_busy'] <= 1
        assert busy.endswith('%')
    ratio = results['ours']['clips_per_s'] / results['hand']['clips_per_s']
    assert lines[5] == f'ratio: {ratio:.2f}x the hand-written loop'


def test_differing_captions_stop_the_benchmark():
    check = runpy.run_path(SCRIPT)['check_same_captions']
    check(['a.mp4', 'b.mp4'], ['red', 'blue'], ['red', 'blue'])
    with pytest.raises(
        SystemExit,
        match=r'1 of 2 clips captioned '
        r"differently, first b.mp4: ours 'blue', "
        r"hand-written 'green'",
    ):
        check(['a.mp4', 'b.mp4'], ['red', 'blue'], ['red', 'green'])
