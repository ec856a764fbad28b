from .blip2_loading import load_blip2, load_tokenizer
from .caption_contrastive_loss import CaptionContrastiveLoss
from .caption_head import LLMCaptionHead
from .captioner import Blip2VideoCaptioner
from .data_preprocessor import CaptionerDataPreprocessor
from .feature_cache import FeatureCacheError, FrameFeatureCache
from .qformer_neck import QFormerFusionNeck
from .scst_objective import SCSTError, SCSTObjective
from .trainable_weights import (
    CheckpointMismatchError,
    architecture_signature,
    load_trainable_checkpoint,
    merge_trainable_state,
    trainable_keys,
)
from .vision_backbone import Blip2VisionBackbone
from .word_tokenizer import build_word_tokenizer

__all__ = [
    'Blip2VideoCaptioner',
    'CaptionerDataPreprocessor',
    'CaptionContrastiveLoss',
    'Blip2VisionBackbone',
    'FrameFeatureCache',
    'FeatureCacheError',
    'QFormerFusionNeck',
    'LLMCaptionHead',
    'SCSTObjective',
    'SCSTError',
    'load_blip2',
    'load_tokenizer',
    'build_word_tokenizer',
    'CheckpointMismatchError',
    'architecture_signature',
    'load_trainable_checkpoint',
    'merge_trainable_state',
    'trainable_keys',
]
