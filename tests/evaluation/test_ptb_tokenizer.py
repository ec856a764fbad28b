"""Our PTB tokenizer gives pycocoevalcap's (Java) tokens."""

import os.path as osp
import random
import runpy
import sys

import numpy as np
import pytest
from pycocoevalcap.cider.cider import Cider

from tests.evaluation.java_reference import java_tokenize, require_java
from tests.evaluation.ptb_corpus import (
    ENDINGS,
    FRAGMENTS,
    adversarial_captions,
    character_soup,
    period_endings,
    shortcut_boundaries,
    synthetic_captions,
)
from tests.helpers import REPO
from vidcap_mm.evaluation import ptb_tokenizer
from vidcap_mm.evaluation.cider import CiderD
from vidcap_mm.evaluation.ptb_tokenizer import PTBTokenizer, tokenize_captions

NUM_ADVERSARIAL = 2400
BENCHMARK = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_reward.py')


@pytest.fixture(scope='module')
def corpus():
    return (
        adversarial_captions(NUM_ADVERSARIAL)
        + period_endings()
        + character_soup(1000)
        + shortcut_boundaries(1000)
        + synthetic_captions()
    )


@pytest.fixture(scope='module')
def prose():
    """The sentences ``benchmark_reward.py --prose`` times: English prose
    (opencv-python's third-party licences) with mixed case, punctuation,
    numbers, URLs and e-mail addresses."""
    benchmark = runpy.run_path(BENCHMARK)
    return benchmark['prose_sentences'](benchmark['prose_text']())


@pytest.fixture(scope='module')
def java_tokens(corpus):
    """All captions through pycocoevalcap's Java tokenizer, in one call."""
    return java_tokenize(corpus)


def test_corpus_covers_every_rule(corpus):
    assert len(corpus) >= 3000
    text = '\n'.join(corpus)
    for group, fragments in FRAGMENTS.items():
        missing = [f for f in fragments if f not in text]
        assert not missing, f'{group}: {missing}'


def test_same_tokens_as_java_for_every_caption(corpus, java_tokens):
    ours = tokenize_captions(corpus)
    differ = [
        (c, j, o) for c, j, o in zip(corpus, java_tokens, ours) if j != o
    ]
    assert not differ, f'{len(differ)} of {len(corpus)} differ: {differ[:5]}'
    # A real check: Java changed most adversarial captions.
    changed = sum(c != j for c, j in zip(corpus, java_tokens))
    assert changed > NUM_ADVERSARIAL // 2


def test_cider_from_raw_captions_matches_pycocoevalcap(corpus, java_tokens):
    """Raw captions -> our tokens -> our CIDEr-D equals raw captions ->
    Java tokens -> pycocoevalcap's Cider, for every candidate."""
    rng = random.Random(0)
    positions = list(range(len(corpus)))
    rng.shuffle(positions)
    gts_java, res_java, gts_ours, res_ours = {}, {}, {}, {}
    ours = tokenize_captions(corpus)
    for video in range(len(corpus) // 6):
        refs = positions[6 * video : 6 * video + 5]
        cand = positions[6 * video + 5]
        gts_java[video] = [java_tokens[i] for i in refs]
        res_java[video] = [java_tokens[cand]]
        gts_ours[video] = [ours[i] for i in refs]
        res_ours[video] = [ours[cand]]
    _, expected = Cider().compute_score(gts_java, res_java)
    _, scores = CiderD().compute_score(gts_ours, res_ours)
    assert len(scores) >= 500
    assert np.abs(scores - np.asarray(expected)).max() <= 1e-9


def test_same_tokens_as_java_on_prose(prose):
    java = java_tokenize(prose)
    ours = tokenize_captions(prose)
    differ = [(c, j, o) for c, j, o in zip(prose, java, ours) if j != o]
    assert not differ, f'{len(differ)} of {len(prose)} differ: {differ[:5]}'
    # A real check: many sentences, and Java's tokens are not just the
    # lower-cased words of most of them.
    assert len(prose) >= 1000
    plain = sum(' '.join(c.lower().split()) == j for c, j in zip(prose, java))
    assert plain < len(prose) // 10


def test_benchmark_prose_mode(monkeypatch, capsys):
    require_java()
    monkeypatch.setattr(
        sys,
        'argv',
        [BENCHMARK, '--prose', '--sentences', '40', '--repeat', '1'],
    )
    runpy.run_path(BENCHMARK, run_name='__main__')
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith('prose: 40 sentences (')
    assert lines[1].startswith('Java (pycocoevalcap)')
    assert lines[2].startswith('ours (Python)')
    assert lines[3].endswith('sentences tokenized differently: 0')


def _lex_every_rule(text: str, end: int) -> list:
    """The lexer without shortcuts or dispatch: every rule everywhere."""
    tokens, pos = [], 0
    while pos < end:
        best_len, best = -1, None
        for pattern, action in ptb_tokenizer._COMPILED:
            match = pattern.match(text, pos)
            if match is not None and match.end() - pos > best_len:
                best_len, best = match.end() - pos, (match, action)
        match, action = best
        token, consumed = action(match.group('m'))
        if token is not None:
            tokens.append(token)
        pos += consumed
    return tokens


def test_shortcuts_give_the_tokens_of_the_rules(prose):
    """The plain-word runs and the rules tried by first characters give
    what every rule tried at every position gives (no Java needed)."""
    captions = (
        shortcut_boundaries(1000, seed=1)
        + character_soup(300, seed=1)
        + prose[::6]
    )
    lines = [c.translate(ptb_tokenizer.JAVA_LINE_BREAKS) for c in captions]
    for i, line in enumerate(lines):
        text = line + ptb_tokenizer._context(lines, i)
        # Lower-cased, as the output is ("Cannot": "can" "not" either way).
        expected = [t.lower() for t in _lex_every_rule(text, len(line))]
        tokens = ptb_tokenizer._lex(text, len(line))
        assert [t.lower() for t in tokens] == expected, repr(text)


@pytest.mark.parametrize('ending', ENDINGS[:8] + ('it is a.', 'etc.'))
def test_last_caption_of_a_call(ending):
    # The look-ahead of the last line hits the end of the file.
    captions = ['The dog runs', f'a man said {ending}']
    assert tokenize_captions(captions) == java_tokenize(captions)


@pytest.mark.parametrize(
    'between', ['', ' ', '\u2009', '\x85', '\u200b', '\u00a0\t', '.']
)
def test_blank_captions_between(between):
    # Look-ahead from "a." runs through blank captions to "The".
    captions = ['it is a.', between, between, 'The dog runs', 'x']
    assert tokenize_captions(captions) == java_tokenize(captions)


# Java's output, recorded; these run without Java.
@pytest.mark.parametrize(
    'captions, expected',
    [
        (['it is a.', 'The dog runs'], ['it is a', 'the dog runs']),
        (['it is a.', 'the dog runs'], ['it is a.', 'the dog runs']),
        (['it is a.'], ['it is a.']),
        (['the U.S.', 'He left'], ['the u.s.', 'he left']),
        (['Acme Inc.', 'The end'], ['acme inc.', 'the end']),
        (
            ['He isn\'t (really) "happy"!!'],
            ["he is n't -lrb- really -rrb- happy !!"],
        ),
        (
            ["AT&T's 1,000.50 e-mail and/or 3/4"],
            ["at&t 's 1,000.50 e-mail and/or 3/4"],
        ),
        (
            ['  café \u00d7 \U0001f600 Zürich  '],
            ['café \u00d7 zürich'],
        ),
        ([''], ['']),
        (['I cannot, gonna'], ['i can not gon na']),
        (['-LRB- [x] {y}'], ['-lrb- -lsb- x -rsb- -lcb- y -rcb-']),
    ],
)
def test_recorded_java_output(captions, expected):
    assert tokenize_captions(captions) == expected


def test_java_line_breaks_are_spaces():
    # Java would start new lines here and shift later captions; we read
    # them as spaces, as CaptionMetric feeds Java.
    broken = ['a man\rwalks.\u2028It', 'a\x0bb\x0cc\u2029d', 'e\nf', 'The end']
    spaced = ['a man walks. It', 'a b c d', 'e f', 'The end']
    assert tokenize_captions(broken) == tokenize_captions(spaced)
    assert tokenize_captions(broken) == java_tokenize(broken)


def test_pycocoevalcap_interface():
    captions = {
        'v1': [{'caption': 'A dog, running.'}, {'caption': 'a cat'}],
        'v0': [{'caption': 'Mr. Smith'}],
        'empty': [],
    }
    assert PTBTokenizer().tokenize(captions) == {
        'v1': ['a dog running', 'a cat'],
        'v0': ['mr. smith'],
    }
    assert PTBTokenizer().tokenize({}) == {}
