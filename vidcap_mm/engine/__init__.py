from .checkpoint_loading import allow_mmengine_checkpoints
from .distributed import init_cpu_process_group
from .hooks import SCSTRewardHook
from .hooks.non_finite_step_hook import NonFiniteStepHook
from .lavis_lr_schedule import LavisWarmupCosineLR
from .lavis_param_groups import LavisParamGroupsConstructor
from .non_finite_guard import NonFiniteStepGuard, NonFiniteTrainingError

__all__ = [
    'allow_mmengine_checkpoints',
    'init_cpu_process_group',
    'LavisParamGroupsConstructor',
    'LavisWarmupCosineLR',
    'NonFiniteStepGuard',
    'NonFiniteStepHook',
    'NonFiniteTrainingError',
    'SCSTRewardHook',
]
