import pytest
from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample

from vidcap_mm.datasets.synthetic import ClipContent, make_captions
from vidcap_mm.evaluation import SyntheticCaptionAccuracy

RED_CIRCLE = ClipContent((('red', 'circle'),), 'black')
PAIR = ClipContent((('blue', 'square'), ('red', 'circle')), 'white')


def sample(video_id, prediction, content):
    return dict(
        video_id=video_id,
        pred_caption=prediction,
        gt_captions=make_captions(content, 3),
    )


def evaluate(samples, size=None):
    metric = SyntheticCaptionAccuracy()
    metric.process(None, samples)
    return metric.evaluate(size or len(samples))


def test_registered_with_its_prefix():
    metric = METRICS.build(dict(type='SyntheticCaptionAccuracy'))
    assert isinstance(metric, SyntheticCaptionAccuracy)
    assert metric.prefix == 'synthetic'


def test_exact_shares():
    samples = [
        # Right: the canonical reference, another template of the grammar
        # (the fourth, which num_references=3 leaves out), the two shapes
        # in the other order, capitals and a full stop.
        sample('a', 'a red circle on a black background', RED_CIRCLE),
        sample('b', 'a black background with a red circle', RED_CIRCLE),
        sample('c', 'there are a red circle and a blue square on white', PAIR),
        sample(
            'd',
            'A Blue square and a red circle over a white background.',
            PAIR,
        ),
        # Wrong shape, wrong colour, wrong background.
        sample('e', 'a red square on a black background', RED_CIRCLE),
        sample('f', 'there are a blue circle and a red square on white', PAIR),
        sample('g', 'there is a red circle on gray', RED_CIRCLE),
        # One shape of two named; a third shape named.
        sample('h', 'a blue square on a white background', PAIR),
        sample(
            'i',
            'there are a blue square and a red circle and a green '
            'triangle on white',
            PAIR,
        ),
        # Not a sentence of the grammar: cut short, "is" with two shapes.
        sample('j', 'a red circle on a black', RED_CIRCLE),
        sample('k', 'there is a blue square and a red circle on white', PAIR),
    ]
    assert evaluate(samples) == {
        'synthetic/accuracy': 4 / 11,  # a-d
        'synthetic/objects_accuracy': 5 / 11,  # a-d, g
        'synthetic/background_accuracy': 7 / 11,  # a-f, h
    }


def test_full_stop_and_spacing_are_ignored():
    samples = [
        sample('a', '  A red  circle on a BLACK background. ', RED_CIRCLE),
        sample(
            'b',
            'a blue square and a red circle over a white background.',
            PAIR,
        ),
    ]
    assert evaluate(samples)['synthetic/accuracy'] == 1.0


def test_every_phrasing_of_every_order_is_right():
    swapped = ClipContent(PAIR.objects[::-1], PAIR.background)
    predictions = make_captions(PAIR, 4) + make_captions(swapped, 4)
    samples = [sample(str(i), p, PAIR) for i, p in enumerate(predictions)]
    assert evaluate(samples)['synthetic/accuracy'] == 1.0


def test_a_video_counts_once():
    samples = [
        sample('a', 'a red circle on a black background', RED_CIRCLE),
        sample('a', 'a red circle on a black background', RED_CIRCLE),
        sample('b', 'a red square on a black background', RED_CIRCLE),
    ]
    assert evaluate(samples)['synthetic/accuracy'] == 0.5


def test_data_samples_as_the_model_returns_them():
    data_sample = ActionDataSample(metainfo=dict(video_id='v'))
    data_sample.pred_caption = 'there is a red circle on black'
    data_sample.gt_captions = make_captions(RED_CIRCLE, 3)
    assert evaluate([data_sample.to_dict()])['synthetic/accuracy'] == 1.0
    assert evaluate([data_sample])['synthetic/accuracy'] == 1.0


@pytest.mark.parametrize(
    'gt_captions, message',
    [
        (['a man rides a bike'], "reference 'a man rides a bike' is not"),
        (
            [
                'a red circle on a black background',
                'there is a red circle ' 'on gray',
            ],
            'describe different clips',
        ),
        ([], 'non-empty list'),
        ('a red circle on a black background', 'non-empty list'),
    ],
)
def test_references_of_another_dataset(gt_captions, message):
    metric = SyntheticCaptionAccuracy()
    bad = dict(video_id='v7', pred_caption='a', gt_captions=gt_captions)
    with pytest.raises(ValueError, match=message) as error:
        metric.process(None, [bad])
    assert "video 'v7'" in str(error.value)


def test_missing_fields():
    metric = SyntheticCaptionAccuracy()
    with pytest.raises(KeyError, match=r"video 'v7' lacks \['pred_caption'\]"):
        metric.process(None, [dict(video_id='v7', gt_captions=['x'])])


def test_no_results():
    assert SyntheticCaptionAccuracy().compute_metrics([]) == {}


def test_default_parser_is_the_registered_grammar():
    from vidcap_mm.datasets.synthetic import parse_caption

    assert SyntheticCaptionAccuracy().parser is parse_caption
    built = METRICS.build(
        dict(type='SyntheticCaptionAccuracy', parser='parse_synthetic_caption')
    )
    assert built.parser is parse_caption


def test_a_parser_handed_in_decides():
    """Another grammar: the last word is the background, the rest one
    shape. The metric reads both sides with it and knows no grammar."""

    def last_word_background(caption):
        words = caption.split()
        if len(words) < 2:
            return None
        return ClipContent(((' '.join(words[:-1]), 'shape'),), words[-1])

    metric = SyntheticCaptionAccuracy(parser=last_word_background)
    predictions = ['big dot sky', 'big dot sea', 'dot', 'small dot sky']
    metric.process(
        None,
        [
            dict(video_id=i, pred_caption=p, gt_captions=['big dot sky'])
            for i, p in enumerate(predictions)
        ],
    )
    assert metric.evaluate(4) == {
        'synthetic/accuracy': 0.25,
        'synthetic/objects_accuracy': 0.5,
        'synthetic/background_accuracy': 0.5,
    }


def test_unknown_parser_name_is_refused():
    with pytest.raises(ValueError, match="no function 'nope' in mmaction"):
        SyntheticCaptionAccuracy(parser='nope')
