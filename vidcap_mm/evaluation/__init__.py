"""Evaluation of vidcap_mm: the caption metric (registered into mmaction's
METRICS), a Java-free PTB tokenizer and CIDEr-D, the SCST reward and its
terms (registered into TASK_UTILS), and the synthetic set's caption
accuracy."""

from .caption_metric import CaptionMetric
from .cider import CiderD
from .cider_reward import CiderDReward
from .ptb_tokenizer import PTBTokenizer, tokenize_captions
from .scst_reward import (
    Bleu4RewardTerm,
    CallableRewardTerm,
    CiderDRewardTerm,
    SCSTReward,
)
from .synthetic_caption_accuracy import SyntheticCaptionAccuracy

__all__ = [
    'Bleu4RewardTerm',
    'CallableRewardTerm',
    'CaptionMetric',
    'CiderD',
    'CiderDReward',
    'CiderDRewardTerm',
    'PTBTokenizer',
    'SCSTReward',
    'SyntheticCaptionAccuracy',
    'tokenize_captions',
]
