"""Datasets, transforms and synthetic data of vidcap_mm.

Importing this package registers the dataset and transforms into
mmaction's ``DATASETS`` and ``TRANSFORMS``.
"""

from .caption_dataset import VideoCaptionDataset
from .synthetic import SYNTHETIC_VOCABULARY, generate_synthetic_clips
from .transforms import PackCaptionInputs

__all__ = [
    'VideoCaptionDataset',
    'PackCaptionInputs',
    'SYNTHETIC_VOCABULARY',
    'generate_synthetic_clips',
]
