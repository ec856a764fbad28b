"""Evaluation of vidcap_mm: the caption metric (registered into mmaction's
METRICS), a Java-free PTB tokenizer and CIDEr-D, the SCST reward, and the
synthetic set's caption accuracy."""

from .caption_metric import CaptionMetric
from .cider import CiderD
from .cider_reward import CiderDReward
from .ptb_tokenizer import PTBTokenizer, tokenize_captions
from .synthetic_caption_accuracy import SyntheticCaptionAccuracy

__all__ = [
    'CaptionMetric',
    'CiderD',
    'CiderDReward',
    'PTBTokenizer',
    'SyntheticCaptionAccuracy',
    'tokenize_captions',
]
