"""SCST reward: the seed's CIDEr-D as its code computes it, the other
modes, and reward terms."""

import random
from types import SimpleNamespace

import numpy as np
import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from tests.evaluation.java_reference import (
    ptb_tokenize,
    seed_reward_as_its_code_runs,
)
from tests.evaluation.ptb_corpus import adversarial_captions
from vidcap_mm.evaluation import (
    Bleu4RewardTerm,
    CallableRewardTerm,
    CiderDReward,
    CiderDRewardTerm,
    SCSTReward,
    tokenize_captions,
)
from vidcap_mm.evaluation.cider_reward import END_WORD
from vidcap_mm.evaluation.ptb_tokenizer import JAVA_LINE_BREAKS

TOLERANCE = 1e-9


RECORDS = ['a dog runs', 'a cat sleeps']
BEAMS = ['a dog runs', 'a dog', 'a cat sleeps', 'a cat']


def test_seed_mode_on_the_worked_example():
    """2 beams a clip: the seed's code gives 7.5, 2.2052, 7.5, 2.2052
    where the un-swapped reward (``'record'``) gives 3.4868 for the short
    beams: document frequencies come from the beams."""
    own = [r for r in RECORDS for _ in range(2)]
    seed = CiderDReward(mode='seed')(BEAMS, references=own)
    expected = seed_reward_as_its_code_runs(RECORDS, BEAMS, beam_size=2)
    assert np.abs(seed - expected).max() <= TOLERANCE
    np.testing.assert_allclose(seed, [7.5, 2.2052262, 7.5, 2.2052262], 1e-7)
    assert seed.dtype == np.float64
    np.testing.assert_array_equal(seed, seed.astype(np.float32))
    record = CiderDReward(mode='record')(BEAMS, references=own)
    np.testing.assert_allclose(record, [7.5, 3.4867687, 7.5, 3.4867687], 1e-7)
    # 'record' is pycocoevalcap's Cider with the arguments the seed meant.
    gts = ptb_tokenize({i: [{'caption': r}] for i, r in enumerate(own)})
    res = ptb_tokenize({i: [{'caption': c}] for i, c in enumerate(BEAMS)})
    assert np.abs(record - Cider().compute_score(gts, res)[1]).max() <= (
        TOLERANCE
    )


def random_step(seed, batch=4, beam_size=5):
    """A step's record captions and beams: beams that repeat the record,
    share some of its words, are other captions, or are empty."""
    rng = random.Random(seed)
    pool = [
        c
        for c in adversarial_captions(300, seed=seed + 20)
        if c == c.translate(JAVA_LINE_BREAKS)
    ]
    records = [rng.choice(pool) for _ in range(batch)]
    beams = []
    for record in records:
        words = record.split()
        for _ in range(beam_size):
            pick = rng.random()
            if pick < 0.2:
                beams.append(record)
            elif pick < 0.6 and words:
                beams.append(' '.join(words[: rng.randint(1, len(words))]))
            elif pick < 0.9:
                beams.append(rng.choice(pool))
            else:
                beams.append('')
    return records, beams


@pytest.mark.parametrize('seed', range(6))
def test_seed_mode_equals_the_seeds_code_on_random_steps(seed):
    """Random steps of 4 clips x 5 beams, empty beams among them."""
    records, beams = random_step(seed)
    own = [r for r in records for _ in range(5)]
    ours = CiderDReward(mode='seed')(beams, references=own)
    expected = seed_reward_as_its_code_runs(records, beams, beam_size=5)
    assert np.abs(ours - expected).max() <= TOLERANCE


def test_empty_beams_change_the_seeds_document_frequencies():
    """Empty beams are documents of the seed's call: leaving them out
    changes log N and so every other beam's reward."""
    records, beams = random_step(0)
    empty = [i for i, b in enumerate(beams) if not b]
    assert empty
    own = [r for r in records for _ in range(5)]
    reward = CiderDReward(mode='seed')
    full = reward(beams, references=own)
    assert (full[empty] == 0).all()
    kept = [i for i, b in enumerate(beams) if b]
    without = reward(
        [beams[i] for i in kept], references=[own[i] for i in kept]
    )
    assert np.abs(full[kept] - without).max() > 1e-3


def test_batch_mode_is_pycocoevalcap_on_all_references():
    rng = random.Random(4)
    pool = adversarial_captions(200, seed=5)
    refs = [rng.sample(pool, rng.randint(1, 4)) for _ in range(12)]
    candidates = [rng.choice(pool) for _ in refs]
    ours = CiderDReward(mode='batch')(candidates, references=refs)
    gts = dict(
        enumerate(
            tokenize_captions([c for r in refs for c in r])[i : i + len(r)]
            for i, r in zip(np.cumsum([0] + [len(r) for r in refs]), refs)
        )
    )
    res = {i: [c] for i, c in enumerate(tokenize_captions(candidates))}
    assert np.abs(ours - Cider().compute_score(gts, res)[1]).max() <= (
        TOLERANCE
    )


def test_end_token_penalises_a_caption_cut_before_its_last_word():
    """References end in 'background'; a caption cut before it keeps all
    its n-grams but loses the ones ending the reference."""
    corpus = {
        'v0': ['a red circle on a black background'],
        'v1': ['a blue square on a white background'],
        'v2': ['a green circle on a black background'],
    }
    cut = 'a red circle on a black'
    whole = 'a red circle on a black background'
    plain = CiderDReward(corpus)
    ended = CiderDReward(corpus, end_token=True)
    assert tokenize_captions([END_WORD])[0] != END_WORD  # never a real word
    ratio_plain = plain([cut], ['v0'])[0] / plain([whole], ['v0'])[0]
    ratio_ended = ended([cut], ['v0'])[0] / ended([whole], ['v0'])[0]
    assert ratio_ended < ratio_plain - 0.05
    # The end word as the scorer sees it: appended after tokenization.
    by_hand = CiderDReward(mode='batch')(
        [f'{cut} {END_WORD}'], references=[[f'{whole} {END_WORD}']]
    )
    seen = CiderDReward(mode='batch', end_token=True)(
        [cut], references=[[whole]]
    )
    np.testing.assert_array_equal(seen, by_hand)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='unknown mode'):
        CiderDReward(mode='own')
    with pytest.raises(ValueError, match='needs the training references'):
        CiderDReward()
    with pytest.raises(ValueError, match='pass `references`'):
        CiderDReward(mode='seed')(['a dog'], video_ids=['v'])
    with pytest.raises(ValueError, match='one record caption'):
        CiderDReward(mode='seed')(['a dog'], references=[['a', 'b']])
    with pytest.raises(ValueError, match='1 candidates but 2'):
        CiderDReward(mode='record')(['a dog'], references=['a', 'b'])


# Reward terms -----------------------------------------------------------

REFERENCES = {
    'v0': ['a red circle on a black background', 'there is a red circle'],
    'v1': ['a blue square on a gray background', 'a blue square'],
}


class Sample(SimpleNamespace):
    """What a term reads of an ActionDataSample."""

    def get(self, key, default=None):
        return getattr(self, key, default)


def samples(*pairs):
    return [Sample(metainfo=dict(video_id=v), gt_caption=c) for v, c in pairs]


STEP = samples(
    ('v0', 'there is a red circle'),
    ('v0', 'there is a red circle'),
    ('v1', 'a blue square'),
)
CAPTIONS = ['a red circle on a black background', 'a red square', '']


def test_cider_terms_equal_their_reward_modes():
    for mode in CiderDReward.MODES:
        term = CiderDRewardTerm(mode=mode)
        term.prepare(REFERENCES)
        if mode == 'corpus':
            expected = CiderDReward(REFERENCES)(
                CAPTIONS, video_ids=['v0', 'v0', 'v1']
            )
        elif mode == 'batch':
            expected = CiderDReward(mode='batch')(
                CAPTIONS,
                references=[REFERENCES[v] for v in 'v0 v0 v1'.split()],
            )
        else:
            expected = CiderDReward(mode=mode)(
                CAPTIONS, references=[s.gt_caption for s in STEP]
            )
        np.testing.assert_array_equal(term(CAPTIONS, STEP), expected)
        assert term.uses_record_caption == (mode in ('seed', 'record'))


def test_bleu_4_term_equals_pycocoevalcap_per_caption():
    term = Bleu4RewardTerm()
    term.prepare(REFERENCES)
    values = term(CAPTIONS, STEP)
    gts = {
        i: tokenize_captions(REFERENCES[s.metainfo['video_id']])
        for i, s in enumerate(STEP)
    }
    res = {i: [c] for i, c in enumerate(tokenize_captions(CAPTIONS))}
    _, per_order = Bleu(4).compute_score(gts, res, verbose=0)
    np.testing.assert_allclose(values, per_order[3], rtol=0, atol=1e-12)
    assert values[0] > 0.99 and values[1] < 0.1


def length_bonus(captions, data_samples):
    """A user's reward function: words per caption."""
    return np.array([len(c.split()) for c in captions], np.float64)


def test_weighted_sum_and_term_means():
    cider = CiderDRewardTerm()
    bleu = Bleu4RewardTerm()
    reward = SCSTReward(
        [
            (cider, 1.0),
            (bleu, 2.0),
            (CallableRewardTerm(f'{__name__}.length_bonus'), -0.5),
            (CallableRewardTerm(length_bonus, name='words'), 0.0),
        ]
    )
    reward.prepare(REFERENCES)
    total = reward(CAPTIONS, STEP)
    parts = [term(CAPTIONS, STEP) for term in (cider, bleu)]
    words = length_bonus(CAPTIONS, STEP)
    np.testing.assert_allclose(
        total, parts[0] + 2.0 * parts[1] - 0.5 * words, rtol=0, atol=1e-12
    )
    assert reward.last_means == pytest.approx(
        dict(
            cider_d=parts[0].mean(),
            bleu_4=parts[1].mean(),
            length_bonus=words.mean(),
            words=words.mean(),
        )
    )


def test_term_errors_are_named():
    with pytest.raises(ValueError, match='unknown mode'):
        CiderDRewardTerm(mode='own')
    with pytest.raises(RuntimeError, match='prepare'):
        CiderDRewardTerm()(CAPTIONS, STEP)
    with pytest.raises(ImportError, match='cannot import'):
        CallableRewardTerm('tests.nowhere.length_bonus')
    with pytest.raises(ValueError, match='import path'):
        CallableRewardTerm('length_bonus')
    bad = SCSTReward([(CallableRewardTerm(lambda c, s: [1.0]), 1.0)])
    with pytest.raises(ValueError, match='returned shape'):
        bad(CAPTIONS, STEP)
    term = CiderDRewardTerm(mode='record')
    with pytest.raises(ValueError, match='gt_caption'):
        term(CAPTIONS, samples(('v0', ''), ('v0', 'x'), ('v1', 'y')))
    corpus = CiderDRewardTerm()
    corpus.prepare(REFERENCES)
    with pytest.raises(KeyError, match='not in the reference corpus'):
        corpus(['a'], samples(('v9', 'x')))
