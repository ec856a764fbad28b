"""A hook the multi-process tool tests import into their runs: each rank
writes its trainable weights before and after training."""

import os.path as osp

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class DumpTrainableWeightsHook(Hook):
    """Write ``trainable_rank{R}_{before,after}.pth`` to the work dir."""

    def before_train(self, runner):
        self._dump(runner, 'before')

    def after_train(self, runner):
        self._dump(runner, 'after')

    def _dump(self, runner, when):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        weights = {
            name: param.detach().clone()
            for name, param in model.named_parameters()
            if param.requires_grad
        }
        name = f'trainable_rank{runner.rank}_{when}.pth'
        torch.save(weights, osp.join(runner.work_dir, name))


def rank_weights(work_dir, rank, when):
    """The weights :class:`DumpTrainableWeightsHook` wrote."""
    return torch.load(
        osp.join(work_dir, f'trainable_rank{rank}_{when}.pth'),
        weights_only=True,
    )


def config_with_dump(base_config, path):
    """Write a config at ``path``: ``base_config`` plus the hook."""
    with open(path, 'w') as f:
        f.write(
            f'_base_ = [{base_config!r}]\n'
            'custom_imports = dict(\n'
            "    imports=['vidcap_mm', 'tests.tools.rank_weights'],\n"
            '    allow_failed_imports=False,\n'
            ')\n'
            "custom_hooks = [dict(type='DumpTrainableWeightsHook')]\n"
        )
    return str(path)
