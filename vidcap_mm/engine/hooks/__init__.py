from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .caption_visualization_hook import CaptionVisualizationHook
from .feature_cache_hook import FeatureCacheHook
from .non_finite_step_hook import NonFiniteStepHook
from .random_state_hook import RandomStateHook
from .scst_reward_hook import SCSTRewardHook, collect_references
from .trainable_weights_hook import (
    CheckpointMismatchError,
    TrainableWeightsHook,
    architecture_signature,
    trainable_keys,
)

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'CaptionVisualizationHook',
    'CheckpointMismatchError',
    'FeatureCacheHook',
    'NonFiniteStepHook',
    'RandomStateHook',
    'SCSTRewardHook',
    'TrainableWeightsHook',
    'architecture_signature',
    'collect_references',
    'trainable_keys',
]
