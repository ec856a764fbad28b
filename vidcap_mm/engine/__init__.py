from .checkpoint_loading import allow_mmengine_checkpoints
from .distributed import init_cpu_process_group
from .hooks import SCSTRewardHook

__all__ = [
    'allow_mmengine_checkpoints',
    'init_cpu_process_group',
    'SCSTRewardHook',
]
