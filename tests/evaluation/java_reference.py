"""pycocoevalcap's own (Java) tokenizer, for parity tests."""

import pytest
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from vidcap_mm.evaluation.java_runtime import ensure_java
from vidcap_mm.evaluation.ptb_tokenizer import JAVA_LINE_BREAKS


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
