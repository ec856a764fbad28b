"""tools/analysis_tools/eval_captions.py on COCO and LAVIS annotations."""

import importlib.util
import json
import os.path as osp
import sys

import pytest

from tests.evaluation.caption_metric_samples import FAST_SCORERS, SAMPLES
from tests.helpers import REPO
from vidcap_mm.evaluation.caption_metric import CaptionMetric

TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'eval_captions.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('eval_captions', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(monkeypatch, capsys, *args):
    """The tool in this process (a subprocess would import mmaction again)."""
    monkeypatch.setattr(sys, 'argv', [TOOL, *args])
    load_tool().main()
    return capsys.readouterr().out


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('eval_captions')
    predictions = [
        {'image_id': s['video_id'], 'caption': s['pred_caption']}
        for s in SAMPLES
    ]
    coco = {
        'annotations': [
            {'image_id': s['video_id'], 'caption': c}
            for s in SAMPLES
            for c in s['gt_captions']
        ]
    }
    lavis = [
        {
            'video': f'{s["video_id"]}.mp4',
            'image_id': s['video_id'],
            'caption': s['gt_captions'],
        }
        for s in SAMPLES
    ]
    paths = {}
    for name, data in (
        ('pred', predictions),
        ('coco', coco),
        ('lavis', lavis),
        ('partial', predictions[:-1]),
    ):
        paths[name] = str(root / f'{name}.json')
        with open(paths[name], 'w') as f:
            json.dump(data, f)
    paths['out'] = str(root / 'scores.json')
    return paths


@pytest.mark.parametrize('gt', ['coco', 'lavis'])
def test_scores_equal_the_metric(files, gt, monkeypatch, capsys):
    out = run(
        monkeypatch,
        capsys,
        files['pred'],
        files[gt],
        '--scorers',
        *FAST_SCORERS,
        '--tokenizer',
        'python',
        '--out',
        files['out'],
    )
    assert '5 videos, python PTB tokenizer' in out
    metric = CaptionMetric(scorers=FAST_SCORERS, tokenizer='python')
    metric.process(None, SAMPLES)
    with open(files['out']) as f:
        assert json.load(f) == metric.evaluate(len(SAMPLES))


def test_missing_prediction_is_an_error(files, monkeypatch, capsys):
    with pytest.raises(SystemExit, match="1 videos of .*'video4'"):
        run(monkeypatch, capsys, files['partial'], files['coco'])
