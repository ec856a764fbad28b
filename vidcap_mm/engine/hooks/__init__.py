from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .caption_visualization_hook import CaptionVisualizationHook
from .feature_cache_hook import FeatureCacheHook
from .non_finite_step_hook import NonFiniteStepHook
from .random_state_hook import RandomStateHook
from .scst_reward_hook import SCSTRewardHook, collect_references
from .trainable_weights_hook import TrainableWeightsHook

__all__ = [
    'AtomicCheckpointHook',
    'AtomicLocalBackend',
    'CaptionVisualizationHook',
    'FeatureCacheHook',
    'NonFiniteStepHook',
    'RandomStateHook',
    'SCSTRewardHook',
    'TrainableWeightsHook',
    'collect_references',
]
