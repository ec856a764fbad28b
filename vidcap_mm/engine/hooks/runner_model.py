"""The model a hook works on."""

import torch
from mmengine.model import is_model_wrapper


def runner_model(runner) -> torch.nn.Module:
    """The runner's model without its distributed wrapper (DDP, FSDP or
    MMEngine's own), so that hooks reach its parts by name."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model
