import pytest
from mmaction.registry import TRANSFORMS

from vidcap_mm.datasets import CleanCaptionText
from vidcap_mm.datasets.transforms import clean_caption


@pytest.mark.parametrize(
    'text, expected',
    [
        ('A Man is  Talking.', 'a man is talking'),
        ('  "Hello!" said (the) dog:  ok;~ ', 'hello said the dog ok'),
        ('end.start', 'end start'),
        # The seed keeps these: commas, apostrophes, hyphens, ?, /.
        ("a man's car, red-ish? yes/no", "a man's car, red-ish? yes/no"),
        ('tabs\tand\nnewlines', 'tabs and newlines'),
        ('...', ''),
    ],
)
def test_clean_caption(text, expected):
    assert clean_caption(text) == expected


def test_word_limit():
    text = ' '.join(f'w{i}' for i in range(60))
    assert clean_caption(text).split() == [f'w{i}' for i in range(50)]
    assert clean_caption(text, max_words=3) == 'w0 w1 w2'


def test_transform(mmaction_scope):
    transform = TRANSFORMS.build(
        dict(type='CleanCaptionText', keys=['caption', 'gt_captions'])
    )
    results = transform(
        dict(caption='A Dog.', gt_captions=['A Dog.', 'Two  CATS!'])
    )
    assert results == dict(caption='a dog', gt_captions=['a dog', 'two cats'])
    assert transform(dict(other='X.')) == dict(other='X.')
    assert repr(CleanCaptionText()) == (
        "CleanCaptionText(keys=('caption',), max_words=50, "
        "punctuation='.!\"()*#:;~')"
    )


def test_differs_from_mmpretrain_clean_caption(mmaction_scope):
    """Why mmpretrain's CleanCaption is not reused: other output."""
    theirs = TRANSFORMS.build(
        dict(type='mmpretrain.CleanCaption', keys='caption')
    )
    ours = CleanCaptionText()
    for text, their_output in [
        ("A man's car.", 'a mans car'),
        ('end.start', 'endstart'),
        ('a dog .', 'a dog '),
    ]:
        assert theirs(dict(caption=text))['caption'] == their_output
        assert ours(dict(caption=text))['caption'] != their_output
    long = ' '.join(['word'] * 60)
    assert len(theirs(dict(caption=long))['caption'].split()) == 60
    assert len(ours(dict(caption=long))['caption'].split()) == 50
