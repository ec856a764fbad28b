"""The seed's weight-decay groups as an MMEngine optimizer constructor.

LAVIS's runner (``RunnerBase.optimizer``) gives AdamW two parameter groups
of the trainable parameters: no weight decay for those with fewer than 2
dimensions or ``bias`` / ``ln`` / ``bn`` in their name, the run's weight
decay for the rest. MMEngine's ``paramwise_cfg`` comes close
(``flat_decay_mult`` + ``custom_keys``) but misses 0-d parameters and
makes a group per parameter; this constructor makes LAVIS's two groups,
also under FSDP (whose flat shards are all 1-d).
"""

import re
from typing import Dict, List, Sequence, Tuple

from mmaction.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
)
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn
from torch.distributed.fsdp import FullyShardedDataParallel
from torch.nn.parallel import DistributedDataParallel

# The name parts that put a parameter in LAVIS's no-decay group.
LAVIS_NO_DECAY_KEYS = ('bias', 'ln', 'bn')


def split_weight_decay(
    model: nn.Module, no_decay_keys: Sequence[str] = LAVIS_NO_DECAY_KEYS
) -> Tuple[List[str], List[str]]:
    """The names of ``model``'s trainable parameters with and without
    weight decay, by LAVIS's rule.

    Under FSDP the rule reads each parameter's full shape and the names
    without FSDP's wrapper prefixes.

    Returns:
        tuple[list[str], list[str]]: (decayed, not decayed), in
        ``named_parameters()`` order.
    """
    ndims = _parameter_ndims(model)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        plain = _WRAPPER_PREFIXES.sub('', name)
        if ndims[plain] < 2 or any(key in plain for key in no_decay_keys):
            no_decay.append(name)
        else:
            decay.append(name)
    return decay, no_decay


# What FSDP and activation checkpointing insert into parameter names.
_WRAPPER_PREFIXES = re.compile(
    r'(_fsdp_wrapped_module|_checkpoint_wrapped_module)\.'
)


def _parameter_ndims(model: nn.Module) -> Dict[str, int]:
    """Each parameter's number of dimensions as built, by its name without
    wrapper prefixes. FSDP (with
    ``use_orig_params``) leaves 1-d shards in the parameters' place
    between steps; their full shapes are read while it gathers them once
    (every rank takes part, as every rank builds its optimizer; the memory
    is what each rank held before FSDP sharded the model)."""
    if isinstance(model, FullyShardedDataParallel):
        with FullyShardedDataParallel.summon_full_params(
            model, writeback=False
        ):
            return _ndims_by_plain_name(model)
    return _ndims_by_plain_name(model)


def _ndims_by_plain_name(model: nn.Module) -> Dict[str, int]:
    return {
        _WRAPPER_PREFIXES.sub('', n): p.ndim
        for n, p in model.named_parameters()
    }


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LavisParamGroupsConstructor(DefaultOptimWrapperConstructor):
    """AdamW (or the config's optimizer) over LAVIS's two parameter groups:
    the trainable parameters of :func:`split_weight_decay`'s first list with
    the optimizer's ``weight_decay``, those of its second with none. Frozen
    parameters are left out, as LAVIS does.

    ``paramwise_cfg`` may give ``no_decay_keys`` (default ``('bias', 'ln',
    'bn')``); nothing else of MMEngine's paramwise options applies.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'no_decay_keys'}
        if unknown:
            raise ValueError(
                'LavisParamGroupsConstructor takes only no_decay_keys in '
                f'paramwise_cfg, got {sorted(unknown)}.'
            )
        self.no_decay_keys = tuple(
            paramwise_cfg.get('no_decay_keys', LAVIS_NO_DECAY_KEYS)
        )
        super().__init__(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if isinstance(model, DistributedDataParallel):
            model = model.module
        decay, no_decay = split_weight_decay(model, self.no_decay_keys)
        params: Dict[str, nn.Parameter] = dict(model.named_parameters())
        optimizer_cfg = dict(
            self.optimizer_cfg,
            params=[
                dict(params=[params[n] for n in decay]),
                dict(params=[params[n] for n in no_decay], weight_decay=0.0),
            ],
        )
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer)
        )
