"""tools/analysis_tools/eval_captions.py on COCO and LAVIS annotations."""

import json
import os.path as osp
import sys

import pytest

from tests.evaluation.caption_metric_samples import FAST_SCORERS, SAMPLES
from tests.helpers import REPO, load_script
from vidcap_mm.evaluation.caption_metric import CaptionMetric

TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'eval_captions.py')


def load_tool():
    return load_script(TOOL)


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


def _scores(monkeypatch, capsys, pred, gt):
    out = run(
        monkeypatch,
        capsys,
        pred,
        gt,
        '--scorers',
        *FAST_SCORERS,
        '--tokenizer',
        'python',
    )
    return [line for line in out.splitlines() if line.startswith('caption/')]


@pytest.mark.parametrize('gt', ['coco', 'lavis'])
def test_byte_order_mark_is_accepted(files, gt, tmp_path, monkeypatch, capsys):
    """Spreadsheet programs and some editors start UTF-8 files with a BOM."""
    with_bom = {}
    for name in ('pred', gt):
        with open(files[name], encoding='utf-8') as f:
            text = f.read()
        with_bom[name] = tmp_path / f'{name}.json'
        with_bom[name].write_text(text, encoding='utf-8-sig')
    expected = _scores(monkeypatch, capsys, files['pred'], files[gt])
    assert len(expected) == 7  # BLEU-1..4, ROUGE_L, CIDEr, CIDEr+BLEU-4
    assert (
        _scores(monkeypatch, capsys, str(with_bom['pred']), str(with_bom[gt]))
        == expected
    )


@pytest.mark.parametrize('content', ['', '  \n', '{"image_id": '])
@pytest.mark.parametrize('which', ['predictions', 'annotations'])
def test_blank_or_broken_file_names_it(
    files, tmp_path, monkeypatch, capsys, content, which
):
    bad = tmp_path / 'bad.json'
    bad.write_text(content)
    args = (
        (str(bad), files['coco'])
        if which == 'predictions'
        else (files['pred'], str(bad))
    )
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, *args)
    message = str(info.value)
    assert message.startswith(f'eval_captions.py: {bad}: ')
    assert (
        'the file is blank' if content.strip() == '' else 'not valid JSON'
    ) in message
    expected = (
        'expected a COCO caption result list'
        if which == 'predictions'
        else 'expected COCO caption annotations or a LAVIS JSON list'
    )
    assert expected in message


def test_missing_relative_file_says_where_it_looked(
    files, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        run(monkeypatch, capsys, 'preds/nowhere.json', files['coco'])
    assert str(info.value) == (
        'eval_captions.py: Result file not found: preds/nowhere.json '
        f'(resolved to {tmp_path}/preds/nowhere.json, relative to the '
        f'current directory {tmp_path})'
    )


def test_result_file_of_another_layout(files, tmp_path, monkeypatch, capsys):
    bad = tmp_path / 'scores.json'
    bad.write_text('{"CIDEr": 1.0}')
    with pytest.raises(
        SystemExit, match=r'scores.json: expected a COCO .* got a dict'
    ):
        run(monkeypatch, capsys, str(bad), files['coco'])
    with pytest.raises(
        SystemExit,
        match=r'scores.json: expected COCO caption annotations .* '
        r"with \['CIDEr'\]",
    ):
        run(monkeypatch, capsys, files['pred'], str(bad))
