"""pycocoevalcap's own (Java) tokenizer, and the seed's SCST reward computed
the way its code does, for parity tests."""

import numpy as np
import pytest
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from vidcap_mm.evaluation.java_runtime import ensure_java
from vidcap_mm.evaluation.ptb_tokenizer import (
    JAVA_LINE_BREAKS,
    tokenize_captions,
)


def require_java() -> None:
    """Skip the calling test, saying why, when no Java runtime is found."""
    try:
        ensure_java()
    except RuntimeError as error:
        pytest.skip(f'needs Java for the reference tokenizer: {error}')


def java_tokenize(captions):
    """pycocoevalcap's tokens of ``captions``, tokenized in one call.

    Java's extra line breaks become spaces first, as CaptionMetric does
    (otherwise pycocoevalcap moves later captions onto other keys).
    """
    require_java()
    out = PTBTokenizer().tokenize(
        {
            i: [{'caption': c.translate(JAVA_LINE_BREAKS)}]
            for i, c in enumerate(captions)
        }
    )
    return [out[i][0] for i in range(len(captions))]


def have_java() -> bool:
    try:
        ensure_java()
    except RuntimeError:
        return False
    return True


def ptb_tokenize(captions_per_key):
    """pycocoevalcap's ``PTBTokenizer().tokenize`` of ``{key: [{'caption':
    c}, ...]}``: its Java tokenizer where Java is found, ours otherwise
    (the same tokens: tests/evaluation/test_ptb_tokenizer.py)."""
    if have_java():
        return PTBTokenizer().tokenize(captions_per_key)
    keys = list(captions_per_key)
    flat = tokenize_captions(
        [c['caption'] for k in keys for c in captions_per_key[k]]
    )
    out, start = {}, 0
    for key in keys:
        size = len(captions_per_key[key])
        out[key] = flat[start : start + size]
        start += size
    return out


def seed_reward_as_its_code_runs(records, beams, beam_size):
    """The reference code's SCST reward, step by step as it runs:
    ``caps_gt`` repeats each record's caption ``beam_size`` times,
    ``tokenize(refs, cands)`` tokenizes refs, then cands, and returns them
    in that order, the call ``caps_gen, caps_gt = tokenize(caps_gt,
    caps_gen)`` swaps the names, and ``Cider().compute_score(caps_gt,
    caps_gen)[1].astype(np.float32)`` is the reward."""
    caps_gen = list(beams)
    caps_gt = [[c] for r in records for c in [r] * beam_size]

    def tokenize(refs, cands):
        refs = {
            i: [{'caption': r} for r in c_refs]
            for i, c_refs in enumerate(refs)
        }
        cands = {i: [{'caption': c}] for i, c in enumerate(cands)}
        return ptb_tokenize(refs), ptb_tokenize(cands)

    caps_gen, caps_gt = tokenize(caps_gt, caps_gen)
    return Cider().compute_score(caps_gt, caps_gen)[1].astype(np.float32)
