"""Evaluation of vidcap_mm: the caption metric (registered into mmaction's
METRICS), a Java-free PTB tokenizer and CIDEr-D, and the SCST reward."""

from .caption_metric import CaptionMetric
from .cider import CiderD
from .cider_reward import CiderDReward
from .ptb_tokenizer import PTBTokenizer, tokenize_captions

__all__ = [
    'CaptionMetric',
    'CiderD',
    'CiderDReward',
    'PTBTokenizer',
    'tokenize_captions',
]
