"""Checkpoints that hold what training changes, loaded strictly over the
pretrained weights."""

import hashlib
import logging
import re
from typing import Dict, List, Set

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from .runner_model import runner_model


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


@HOOKS.register_module()
class TrainableWeightsHook(Hook):
    """Save only the trained part of the model, and load checkpoints
    strictly over the weights the config builds.

    BLIP-2 keeps its ViT and LLM frozen: saving them makes each checkpoint
    of OPT-2.7B about 9 GB where the Q-Former, its projection, LoRA
    adapters and their optimizer state take about 1.3 GB. MMEngine saves
    ``model.state_dict()`` whole and loads with ``strict=False``, so a
    checkpoint of another model loads with a warning and the run goes on
    with random weights. This hook:

    - before a checkpoint is written, keeps in its ``state_dict`` only the
      trainable parameters (and LoRA adapters, which are trainable) and the
      buffers of their modules, and records ``meta['saved_weights'] =
      'trainable'``; ``save_frozen=True`` keeps everything. The
      :func:`architecture_signature` of the whole model goes in
      ``meta['architecture']``: the trained part of two models can match
      key for key (the same Q-Former before an OPT and a T5), so the keys
      alone cannot tell that a checkpoint belongs to another model;
    - when any checkpoint is loaded (``load_from``, ``--resume``,
      ``tools/test.py``), checks it against the model built from the config
      (its frozen parts hold the pretrained weights by then): every
      trainable key must be in the checkpoint, every key of the checkpoint
      must be in the model, with the same shape. A mismatch raises
      :class:`CheckpointMismatchError` naming the config, the checkpoint and
      the first keys of each kind; ``strict=False`` only warns (to load a
      part on purpose). The keys the checkpoint lacks are then filled with
      the model's own tensors, so that loading puts the saved part over the
      pretrained weights and MMEngine reports nothing missing.

    Args:
        save_frozen (bool): Save the frozen weights as well. Defaults to
            False.
        strict (bool): Fail on a mismatch instead of warning. Defaults to
            True.
        max_keys (int): Keys of each kind named in a message. Defaults to 5.
    """

    priority = 'VERY_HIGH'

    def __init__(
        self, save_frozen: bool = False, strict: bool = True, max_keys: int = 5
    ) -> None:
        self.save_frozen = save_frozen
        self.strict = strict
        self.max_keys = max_keys

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint['state_dict']  # the whole model's
        checkpoint['meta']['architecture'] = architecture_signature(state)
        if self.save_frozen:
            checkpoint['meta']['saved_weights'] = 'all'
            return
        keep = trainable_keys(runner_model(runner))
        checkpoint['state_dict'] = type(state)(
            (k, v) for k, v in state.items() if k in keep
        )
        checkpoint['meta']['saved_weights'] = 'trainable'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner_model(runner)
        state = checkpoint.get('state_dict', checkpoint)
        state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
        own: Dict[str, torch.Tensor] = model.state_dict(keep_vars=True)
        problems = self._mismatches(state, own, trainable_keys(model))
        saved_on = checkpoint.get('meta', {}).get('architecture')
        signature = architecture_signature(own)
        if saved_on is not None and saved_on != signature:
            problems.insert(
                0,
                f'it was saved from a model of another architecture '
                f'(signature {saved_on}, this model {signature}: other '
                'parts, sizes or LLM)',
            )
        if problems:
            message = (
                f'checkpoint {self._checkpoint_name(runner)} does not fit '
                f'the model of config {runner.cfg.filename}: '
                + '; '.join(problems)
            )
            if self.strict:
                raise CheckpointMismatchError(
                    message + '. Pass the matching config, or set '
                    "TrainableWeightsHook's strict=False to load a part "
                    'on purpose.'
                )
            print_log(message, logger='current', level=logging.WARNING)
            state = {
                k: v
                for k, v in state.items()
                if k in own and own[k].shape == v.shape
            }
        # The model's own Parameters: loading one onto itself copies
        # nothing, and the frozen parts keep their pretrained weights.
        checkpoint['state_dict'] = {**own, **state}

    def _mismatches(
        self,
        state: Dict[str, torch.Tensor],
        own: Dict[str, torch.Tensor],
        trainable: Set[str],
    ) -> List[str]:
        missing = sorted(trainable - state.keys())
        unexpected = sorted(state.keys() - own.keys())
        shapes = [
            f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}'
            for k in sorted(state.keys() & own.keys())
            if state[k].shape != own[k].shape
        ]
        problems = []
        for kind, keys in (
            ('missing trainable keys', missing),
            ('unexpected keys', unexpected),
            ('shape mismatches (checkpoint vs model)', shapes),
        ):
            if keys:
                shown = ', '.join(keys[: self.max_keys])
                more = len(keys) - self.max_keys
                problems.append(
                    f'{len(keys)} {kind} ({shown}'
                    + (f', and {more} more)' if more > 0 else ')')
                )
        return problems

    @staticmethod
    def _checkpoint_name(runner) -> str:
        name = runner.cfg.get('load_from')
        return repr(name) if name else '(the latest in the work directory)'
