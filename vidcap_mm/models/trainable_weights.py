"""What our checkpoints hold, and the one way to load them into a model.

BLIP-2 keeps its ViT and LLM frozen, so a checkpoint holds the trainable
part of the captioner (Q-Former, query tokens, projection, LoRA adapters)
and, in ``meta['architecture']``, a fingerprint of the whole model's keys
and shapes: the trained part of two models can match key for key (the same
Q-Former before an OPT and a T5), so the keys alone cannot tell that a
checkpoint belongs to another model.

Loading puts the saved part over the weights the config built (its frozen
parts hold the pretrained weights by then) and is strict: every trainable
key must be in the checkpoint, every key of the checkpoint in the model,
with the same shape, and a recorded fingerprint must be the model's. The
``TrainableWeightsHook`` (``load_from``, ``--resume``, ``tools/test.py``)
loads through :func:`merge_trainable_state`, ``init_captioner`` through
:func:`load_trainable_checkpoint` (a file into a built model), and the LAVIS
converter checks what it writes with :func:`checkpoint_mismatches`, the
check both run.
"""

import hashlib
import logging
import re
from typing import Dict, List, Optional, Set

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

#: Keys of each kind a message names.
MAX_KEYS = 5


class CheckpointMismatchError(KeyError):
    """A checkpoint does not fit the model built from the config."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


def trainable_keys(model: torch.nn.Module) -> Set[str]:
    """State-dict keys of what training changes: parameters that require a
    gradient, and the buffers of modules that own such parameters."""
    keys = set()
    for prefix, module in model.named_modules():
        own = [
            n
            for n, p in module.named_parameters(recurse=False)
            if p.requires_grad
        ]
        if not own:
            continue
        dot = f'{prefix}.' if prefix else ''
        keys.update(dot + n for n in own)
        keys.update(
            dot + n
            for n, _ in module.named_buffers(recurse=False)
            if n not in module._non_persistent_buffers_set
        )
    return keys


def architecture_signature(state_dict: Dict[str, torch.Tensor]) -> str:
    """A fingerprint of every key and shape of a model's whole state dict
    (not of the values): a checkpoint that omits the frozen weights still
    says which model it was trained on."""
    text = ';'.join(
        f'{k}:{tuple(v.shape)}' for k, v in sorted(state_dict.items())
    )
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def listed_keys(keys, max_keys: int = MAX_KEYS) -> str:
    """``'(k1, k2, ..., and M more)'``: the first keys, sorted, for a
    message."""
    keys = sorted(keys)
    more = len(keys) - max_keys
    return f'({", ".join(keys[:max_keys])}' + (
        f', and {more} more)' if more > 0 else ')'
    )


def checkpoint_mismatches(
    model: torch.nn.Module,
    state_dict: Dict[str, torch.Tensor],
    architecture: Optional[str] = None,
    max_keys: int = MAX_KEYS,
) -> List[str]:
    """What keeps ``state_dict`` from loading over ``model``.

    Args:
        model (torch.nn.Module): The model built from the config (a model
            on the meta device does: only keys and shapes are read).
        state_dict (dict): The checkpoint's tensors, without a wrapper's
            ``module.`` prefix.
        architecture (str, optional): The checkpoint's recorded
            :func:`architecture_signature`, if any.
        max_keys (int): Keys of each kind named. Defaults to 5.

    Returns:
        list[str]: One phrase per kind of problem (another architecture,
        missing trainable keys, unexpected keys, shape mismatches); empty
        when the checkpoint fits.
    """
    own = model.state_dict()
    problems = []
    signature = architecture_signature(own)
    if architecture is not None and architecture != signature:
        problems.append(
            f'it was saved from a model of another architecture '
            f'(signature {architecture}, this model {signature}: other '
            'parts, sizes or LLM)'
        )
    missing = trainable_keys(model) - state_dict.keys()
    unexpected = state_dict.keys() - own.keys()
    shapes = [
        f'{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}'
        for k in sorted(state_dict.keys() & own.keys())
        if state_dict[k].shape != own[k].shape
    ]
    for kind, keys in (
        ('missing trainable keys', missing),
        ('unexpected keys', unexpected),
        ('shape mismatches (checkpoint vs model)', shapes),
    ):
        if keys:
            problems.append(
                f'{len(keys)} {kind} {listed_keys(keys, max_keys)}'
            )
    return problems


def merge_trainable_state(
    model: torch.nn.Module,
    checkpoint: dict,
    strict: bool = True,
    source: str = 'the checkpoint',
    config: Optional[str] = None,
    max_keys: int = MAX_KEYS,
) -> Dict[str, torch.Tensor]:
    """The state dict that loads ``checkpoint`` over ``model``: the
    model's own tensors with the saved ones put over them.

    Args:
        model (torch.nn.Module): The model built from the config, without
            a distributed wrapper.
        checkpoint (dict): An MMEngine checkpoint (``state_dict`` and
            ``meta``) or a bare state dict; a ``module.`` prefix is
            dropped.
        strict (bool): Raise on a mismatch (see
            :func:`checkpoint_mismatches`); False warns and keeps the keys
            that match, to load a part on purpose. Defaults to True.
        source (str): The checkpoint's name, for messages.
        config (str, optional): The config's file, for messages.
        max_keys (int): Keys of each kind named. Defaults to 5.

    Returns:
        dict: Every key of the model; the frozen ones hold the model's own
        Parameters, so that loading leaves them as they are.

    Raises:
        CheckpointMismatchError: If the checkpoint does not fit and
            ``strict``, naming the checkpoint, the config and the first
            keys of each kind.
    """
    state = checkpoint.get('state_dict', checkpoint)
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    meta = checkpoint.get('meta') or {}
    problems = checkpoint_mismatches(
        model, state, meta.get('architecture'), max_keys
    )
    own: Dict[str, torch.Tensor] = model.state_dict(keep_vars=True)
    if problems:
        message = f'checkpoint {source} does not fit the model' + (
            f' of config {config}' if config else ''
        )
        message += ': ' + '; '.join(problems)
        if strict:
            raise CheckpointMismatchError(
                message + '. Pass the matching config, or load with '
                'strict=False (in a config: TrainableWeightsHook(strict='
                'False)) to load a part on purpose.'
            )
        print_log(message, logger='current', level=logging.WARNING)
        state = {
            k: v
            for k, v in state.items()
            if k in own and own[k].shape == v.shape
        }
    return {**own, **state}


def load_trainable_checkpoint(
    model: torch.nn.Module,
    filename: str,
    strict: bool = True,
    config: Optional[str] = None,
    map_location: str = 'cpu',
) -> dict:
    """Load a checkpoint file over the weights ``model`` was built with.

    The file is read by MMEngine's ``CheckpointLoader`` (local paths and
    its other backends) and merged by :func:`merge_trainable_state`.

    Args:
        model (torch.nn.Module): The model built from the config.
        filename (str): The checkpoint.
        strict (bool): See :func:`merge_trainable_state`. Defaults to True.
        config (str, optional): The config's file, for messages.
        map_location (str): Where tensors are read to. Defaults to 'cpu'.

    Returns:
        dict: The checkpoint as read.

    Raises:
        CheckpointMismatchError: If it does not fit (``strict``).
        TypeError: If the file holds no checkpoint dict.
    """
    # 'silent': MMEngine would print which backend reads the file to
    # stdout, where captions go.
    checkpoint = CheckpointLoader.load_checkpoint(
        filename, map_location=map_location, logger='silent'
    )
    if not isinstance(checkpoint, dict):
        raise TypeError(
            f'{filename}: expected a checkpoint dict (with "state_dict"), '
            f'got a {type(checkpoint).__name__}.'
        )
    state = merge_trainable_state(
        model, checkpoint, strict, source=repr(filename), config=config
    )
    model.load_state_dict(state, strict=True)
    return checkpoint
