"""Data transforms of vidcap_mm (registered in mmaction's TRANSFORMS)."""

from .formatting import PackCaptionInputs
from .loading import (
    DecordVideoDecode,
    DecordVideoInit,
    FrameArrayInit,
    VideoReadError,
)
from .sampling import EvenlySpacedSample, HeadTailSample, SampleInWindow
from .text import SEED_PUNCTUATION, CleanCaptionText, clean_caption

__all__ = [
    'PackCaptionInputs',
    'DecordVideoInit',
    'DecordVideoDecode',
    'FrameArrayInit',
    'VideoReadError',
    'HeadTailSample',
    'EvenlySpacedSample',
    'SampleInWindow',
    'CleanCaptionText',
    'clean_caption',
    'SEED_PUNCTUATION',
]
