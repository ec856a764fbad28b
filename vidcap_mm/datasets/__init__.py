"""Datasets, transforms, samplers and synthetic data of vidcap_mm.

Importing this package registers the datasets, transforms and samplers into
mmaction's ``DATASETS``, ``TRANSFORMS`` and ``DATA_SAMPLERS``.
"""

from .annotation_files import AnnotationError, read_csv_records
from .caption_dataset import (
    MSRVTTCaptionDataset,
    MSVDCaptionDataset,
    VATEXCaptionDataset,
    VideoCaptionDataset,
)
from .sample_random_state import SampleRandomState
from .samplers import EpochSeededSampler, RatioMixSampler
from .synthetic import SYNTHETIC_VOCABULARY, generate_synthetic_clips
from .transforms import (
    CleanCaptionText,
    DecordVideoDecode,
    DecordVideoInit,
    EvenlySpacedSample,
    FrameArrayInit,
    HeadTailSample,
    PackCaptionInputs,
    VideoReadError,
)

__all__ = [
    'VideoCaptionDataset',
    'MSRVTTCaptionDataset',
    'MSVDCaptionDataset',
    'VATEXCaptionDataset',
    'SampleRandomState',
    'EpochSeededSampler',
    'AnnotationError',
    'read_csv_records',
    'RatioMixSampler',
    'PackCaptionInputs',
    'DecordVideoInit',
    'DecordVideoDecode',
    'FrameArrayInit',
    'VideoReadError',
    'HeadTailSample',
    'EvenlySpacedSample',
    'CleanCaptionText',
    'SYNTHETIC_VOCABULARY',
    'generate_synthetic_clips',
]
