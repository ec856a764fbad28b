"""Our CIDEr-D equals pycocoevalcap's Cider, per candidate."""

import random

import numpy as np
import pytest
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.cider.cider_scorer import CiderScorer, cook_refs

from tests.evaluation.ptb_corpus import (
    adversarial_captions,
    synthetic_captions,
)
from vidcap_mm.evaluation.cider import CiderD
from vidcap_mm.evaluation.cider_reward import CiderDReward
from vidcap_mm.evaluation.ptb_tokenizer import tokenize_captions

TOLERANCE = 1e-9


@pytest.fixture(scope='module')
def captions():
    """Tokenized adversarial and synthetic captions (many share n-grams)."""
    raw = adversarial_captions(1200, seed=3) + synthetic_captions()
    return tokenize_captions(raw)


def random_batch(captions, num_videos, seed):
    rng = random.Random(seed)
    gts, res = {}, {}
    for i in range(num_videos):
        gts[f'v{i}'] = rng.sample(captions, rng.randint(1, 6))
        if rng.random() < 0.3:
            res[f'v{i}'] = [rng.choice(gts[f'v{i}'])]
        else:
            res[f'v{i}'] = [rng.choice(captions)]
    # Empty captions and one-word captions (no bigrams: length 0).
    res['v0'] = ['']
    gts['v1'] = ['', 'a']
    res['v2'] = ['a']
    gts['v3'] = ['a man a man a man', 'man']
    res['v3'] = ['a man a man']
    return gts, res


def corpus_df_reference(corpus, gts, res):
    """pycocoevalcap's arithmetic with df and log N from ``corpus``."""

    class CorpusSize(list):
        # compute_cider takes log N from len(crefs).
        def __len__(self):
            return len(corpus)

    df_scorer = CiderScorer()
    df_scorer.crefs = [cook_refs(refs) for refs in corpus.values()]
    df_scorer.compute_doc_freq()
    scorer = CiderScorer()
    for key in res:
        scorer += (res[key][0], gts[key])
    scorer.crefs = CorpusSize(scorer.crefs)
    scorer.document_frequency = df_scorer.document_frequency
    return np.array(scorer.compute_cider())


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_batch_df_matches_pycocoevalcap(captions, seed):
    gts, res = random_batch(captions, 400, seed)
    mean, scores = Cider().compute_score(gts, res)
    our_mean, ours = CiderD().compute_score(gts, res)
    assert np.abs(ours - np.asarray(scores)).max() <= TOLERANCE
    assert our_mean == pytest.approx(mean, abs=TOLERANCE)
    assert (np.asarray(scores) > 0).sum() > 100  # not all zeros


def test_corpus_df_matches_pycocoevalcap_arithmetic(captions):
    corpus, _ = random_batch(captions, 500, seed=5)
    scorer = CiderD.from_corpus(corpus)
    rng = random.Random(6)
    keys = rng.sample(list(corpus), 120) * 2  # repeated videos
    candidates = [rng.choice(captions) for _ in keys]
    ours = scorer.score_corpus_videos(candidates, keys)
    # pycocoevalcap keys must be unique: score each position on its own.
    gts = {i: corpus[k] for i, k in enumerate(keys)}
    res = {i: [c] for i, c in enumerate(candidates)}
    expected = corpus_df_reference(corpus, gts, res)
    assert np.abs(ours - expected).max() <= TOLERANCE
    # Corpus df is not batch df.
    _, batch = Cider().compute_score(gts, res)
    assert np.abs(ours - batch).max() > 1e-3


def test_corpus_equal_to_batch_when_the_batch_is_the_corpus(captions):
    gts, res = random_batch(captions, 300, seed=7)
    _, expected = Cider().compute_score(gts, res)
    scorer = CiderD.from_corpus(gts)
    ours = scorer.score_corpus_videos([res[k][0] for k in gts], list(gts))
    assert np.abs(ours - expected).max() <= TOLERANCE


def test_unseen_words_and_errors(captions):
    scorer = CiderD.from_corpus({'a': ['a red dog runs'], 'b': ['a cat']})
    # Words never seen in the corpus still count in the candidate's norm.
    one, two = scorer.score_corpus_videos(
        ['a red dog runs', 'a red dog runs zzz yyy'], ['a', 'a']
    )
    assert one > two > 0
    with pytest.raises(KeyError, match='not in the reference corpus'):
        scorer.score_corpus_videos(['a dog'], ['nope'])
    with pytest.raises(ValueError, match='2 candidates but 1 video'):
        scorer.score_corpus_videos(['a', 'b'], ['a'])
    assert scorer.score_corpus_videos([], []).shape == (0,)
    with pytest.raises(ValueError, match='n=4'):
        CiderD(n=3)


def test_reward_corpus_mode(captions):
    rng = random.Random(8)
    raw = adversarial_captions(400, seed=9)
    corpus = {f'v{i}': rng.sample(raw, 5) for i in range(60)}
    reward = CiderDReward(corpus)
    videos = [f'v{rng.randrange(60)}' for _ in range(50)]
    candidates = [rng.choice(raw) for _ in videos]
    ours = reward(candidates, videos)
    flat = iter(tokenize_captions([c for v in corpus.values() for c in v]))
    tokenized = {k: [next(flat) for _ in v] for k, v in corpus.items()}
    cands = tokenize_captions(candidates)
    expected = corpus_df_reference(
        tokenized,
        {i: tokenized[v] for i, v in enumerate(videos)},
        {i: [c] for i, c in enumerate(cands)},
    )
    assert ours.dtype == np.float64 and ours.shape == (50,)
    assert np.abs(ours - expected).max() <= TOLERANCE
    # pycocoevalcap-style interface: keys are corpus videos.
    mean, scores = reward.compute_score(
        {v: [] for v in videos[:5]},
        {v: [c] for v, c in zip(videos[:5], cands)},
    )
    assert np.allclose(
        scores, reward.scorer.score_corpus_videos(cands[:5], videos[:5])
    )
    with pytest.raises(ValueError, match='video_ids'):
        reward(candidates)


def test_reward_record_mode(captions):
    """Each candidate against its record's own caption, df from the
    records: pycocoevalcap's Cider on those arguments."""
    rng = random.Random(10)
    raw = adversarial_captions(300, seed=11)
    candidates = [rng.choice(raw) for _ in range(80)]
    own = [rng.choice(raw) for _ in range(80)]
    reward = CiderDReward(mode='record')
    gts = dict(enumerate([[r] for r in tokenize_captions(own)]))
    res = dict(enumerate([[c] for c in tokenize_captions(candidates)]))
    _, expected = Cider().compute_score(gts, res)
    assert (
        np.abs(reward(candidates, references=own) - expected).max()
        <= TOLERANCE
    )
    _, scores = reward.compute_score(gts, res)
    assert np.abs(scores - expected).max() <= TOLERANCE
