"""vidcap_mm: BLIP-2 video captioning as an MMAction2 plugin.

Importing the package registers every model part, dataset, transform,
metric, hook and visualizer into MMAction2's registries
(``mmaction.registry``); configs load it with
``custom_imports = dict(imports=['vidcap_mm'])``. It also lets
``torch.load(weights_only=True)`` read MMEngine checkpoints (see
:mod:`vidcap_mm.engine.checkpoint_loading`).
"""

from . import (  # noqa: F401
    datasets,
    engine,
    evaluation,
    models,
    visualization,
)
from .engine import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

__all__ = ['__version__']
