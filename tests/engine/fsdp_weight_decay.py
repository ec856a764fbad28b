"""Run by tests/engine/test_lavis_optimisation.py under torchrun (2 CPU
processes, gloo): LavisParamGroupsConstructor on a tiny captioner wrapped
in FSDP (use_orig_params, as configs/_base_/strategies/fsdp.py); writes
each rank's groups, as parameter names without FSDP's prefixes, to
OUT/rank<R>.json."""

import json
import os.path as osp
import re
import sys

import torch
import torch.distributed as dist
from mmaction.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch.distributed.fsdp import FullyShardedDataParallel

from tests.helpers import build_captioner


def main(out: str) -> None:
    dist.init_process_group('gloo')
    model = build_captioner('opt', backbone=dict(train_final_norm=True))
    wrapped = FullyShardedDataParallel(
        model, use_orig_params=True, device_id=torch.device('cpu')
    )
    optim_wrapper = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='LavisParamGroupsConstructor',
            optim_wrapper_cfg=dict(
                type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
            ),
        )
    )(wrapped)
    names = {
        id(p): re.sub(r'_fsdp_wrapped_module\.', '', n)
        for n, p in wrapped.named_parameters()
    }
    groups = [
        dict(
            weight_decay=group['weight_decay'],
            params=[names[id(p)] for p in group['params']],
        )
        for group in optim_wrapper.optimizer.param_groups
    ]
    with open(osp.join(out, f'rank{dist.get_rank()}.json'), 'w') as f:
        json.dump(groups, f)
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])
