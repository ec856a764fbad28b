"""Convert a LAVIS BLIP-2 checkpoint into a checkpoint of our captioner.

The keys are renamed by :mod:`vidcap_mm.models.lavis_keys` (where the
mapping is written out); this module reads the file, checks that the
converted tensors fit the config's model, part by part, and writes the
checkpoint ``load_from`` and ``tools/test.py`` load
(:mod:`vidcap_mm.models.trainable_weights`).

LAVIS's trainer saves every buffer but only the parameters that require a
gradient, so a fine-tuned checkpoint usually holds the Q-Former, query
tokens, projection and ``ln_vision`` (trainable in LAVIS even with a frozen
ViT) and no ViT or LLM weights (those then come from the config's
``pretrained=``); a whole model's state dict converts as well. The
trainer's filter keeps the second names of a frozen LLM's tied embedding
(``t5_model.encoder.embed_tokens.weight``, ``opt_model.lm_head.weight``,
see :mod:`~vidcap_mm.models.lavis_keys`): without the weight's first name
they are left out (and reported), the pretrained weights supply them. An
LLM wrapped by peft keeps peft's key layout under ``t5_model.`` etc., so
its LoRA adapters convert too (LoRA's ``lora_alpha`` is not in the weights:
the config's must be the one trained with).

Where the model holds one tensor under several keys (tied weights, e.g. a
T5 ``lm_head`` tied to ``shared``), the checkpoint's tensors for them must
be equal: Flan-T5's ``lm_head`` is its own weight in LAVIS, and loading it
into a tied model would overwrite the input embedding.
"""

import os.path as osp
import pickle
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from mmaction.registry import MODELS
from torch import nn
from transformers import AutoConfig

from .blip2_loading import lm_head_is_own_weight
from .lavis_keys import (
    CONSTANT_BUFFERS,
    LLM_FAMILIES,
    LavisCheckpointError,
    detect_llm_family,
    merge_qkv_biases,
    some_keys,
    tied_copy_of,
    to_our_key,
    to_transformers_key,
    without_peft,
)
from .trainable_weights import architecture_signature, checkpoint_mismatches


@dataclass
class LavisConversion:
    """The result of :func:`convert_lavis_state_dict`.

    Attributes:
        state_dict (dict): Our captioner's keys -> the checkpoint's tensors.
        layout (str): The LAVIS class whose layout the checkpoint has.
        complete (bool): Whether every key of the model is there (else the
            checkpoint holds at least its trainable part).
        dropped (list[str]): LAVIS keys left out (constant buffers).
        tied_copies (list[str]): LAVIS keys left out because they are
            second names of a frozen LLM weight whose first name the
            checkpoint lacks (LAVIS's trainer keeps them); the config's
            pretrained weights supply that weight. They are not compared
            with those weights.
    """

    state_dict: Dict[str, torch.Tensor]
    layout: str
    complete: bool
    dropped: List[str] = field(default_factory=list)
    tied_copies: List[str] = field(default_factory=list)


def _language_model_type(model: nn.Module) -> str:
    language_model = model.head.language_model
    if hasattr(language_model, 'get_base_model'):  # wrapped by peft
        language_model = language_model.get_base_model()
    return language_model.config.model_type


def _part(key: str) -> str:
    """Which part of our model a key belongs to; a checkpoint holds each
    part whole or not at all."""
    if key.startswith('backbone.vision_model.post_layernorm.'):
        return 'the ViT final norm (ln_vision)'
    if key.startswith('backbone.'):
        return 'the ViT'
    if key.startswith('neck.'):
        return 'the query tokens, Q-Former and projection'
    if re.search(r'\.lora_\w+\.', key):
        return 'the LoRA adapters'
    return 'the LLM'


def convert_lavis_state_dict(
    lavis_state: Dict[str, torch.Tensor],
    model: nn.Module,
    source: str = 'the LAVIS state dict',
) -> LavisConversion:
    """Rename a LAVIS BLIP-2 state dict to the keys of ``model``.

    Args:
        lavis_state (dict): A LAVIS ``Blip2T5`` / ``Blip2OPT`` /
            ``Blip2VicunaInstruct`` state dict (``checkpoint['model']``),
            whole or its trained part only.
        model (nn.Module): The ``Blip2VideoCaptioner`` to convert for; only
            its keys, shapes and trainable parameters are read (a model on
            the meta device does).
        source (str): The checkpoint's name, for messages.

    Returns:
        LavisConversion: The converted state dict and what it holds.

    Raises:
        LavisCheckpointError: If the layout is unknown or another LLM's, a
            key has no counterpart in the model, a shape differs, a part of
            the model is there only in part, or a trainable key is missing.
    """
    family = detect_llm_family(lavis_state.keys(), source)
    layout, llm_types = LLM_FAMILIES[family]
    own = model.state_dict()
    instruct = 'neck.qformer.embeddings.layernorm.weight' in own
    if family == 't5' and instruct:
        layout = 'Blip2T5Instruct'
    llm_type = _language_model_type(model)
    if llm_type not in llm_types:
        raise LavisCheckpointError(
            f'{source} is a LAVIS {layout} checkpoint ({family}_* keys, '
            f'a {" or ".join(llm_types)} LLM) but the config builds a '
            f'{llm_type} LLM; pass the config of the matching model.'
        )
    dropped = sorted(k for k in lavis_state if CONSTANT_BUFFERS.match(k))
    state = {
        k: v for k, v in lavis_state.items() if not CONSTANT_BUFFERS.match(k)
    }
    state = merge_qkv_biases(state, source)
    # A second name whose first name is there converts (a whole model);
    # alone, it is the trainer's leftover of a frozen weight.
    lonely_copies = {
        k for k in state if tied_copy_of(k) and tied_copy_of(k) not in state
    }
    frozen = {
        name
        for name, param in model.named_parameters(remove_duplicate=False)
        if not param.requires_grad
    }

    own_by_plain_key = {without_peft(k): k for k in own}
    converted: Dict[str, torch.Tensor] = {}
    lavis_names: Dict[str, str] = {}
    tied_copies: List[str] = []
    unknown: List[str] = []
    unexpected: List[str] = []
    shapes: List[str] = []
    for key, value in state.items():
        theirs = to_transformers_key(key, family, instruct)
        if not theirs:
            unknown.append(key)
            continue
        ours = own_by_plain_key.get(without_peft(to_our_key(theirs)))
        if key in lonely_copies and ours in frozen:
            tied_copies.append(key)
        elif ours is None:
            unexpected.append(f'{key} -> {to_our_key(theirs)}')
        elif tuple(value.shape) != tuple(own[ours].shape):
            shapes.append(
                f'{key} {tuple(value.shape)} vs {ours} '
                f'{tuple(own[ours].shape)}'
            )
        else:
            converted[ours] = value
            lavis_names[ours] = key
    problems = []
    if unknown:
        problems.append(
            f'{some_keys(unknown)} keys of no LAVIS {layout} part this '
            'converter knows'
        )
    if unexpected:
        problems.append(
            f'{some_keys(unexpected)} keys with no counterpart in the model'
        )
    if shapes:
        problems.append(
            f'{some_keys(shapes)} shape mismatches (LAVIS vs ours)'
        )
    problems += _tie_problems(converted, model, lavis_names)
    problems += _coverage_problems(converted, model)
    if problems:
        raise LavisCheckpointError(
            f'{source} (LAVIS {layout} layout) does not convert to the '
            'model of the config: ' + '; '.join(problems) + '.'
        )
    return LavisConversion(
        state_dict=converted,
        layout=layout,
        complete=converted.keys() == own.keys(),
        dropped=dropped,
        tied_copies=sorted(tied_copies),
    )


def _tie_problems(
    converted: Dict[str, torch.Tensor],
    model: nn.Module,
    lavis_names: Dict[str, str],
) -> List[str]:
    """Keys the model ties (one tensor) for which the checkpoint holds
    different tensors: loading would keep only the last of them."""
    groups: Dict[int, List[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(param), []).append(name)
    problems = []
    for names in groups.values():
        held = [n for n in names if n in converted]
        first = held[0] if held else None
        if all(torch.equal(converted[first], converted[n]) for n in held[1:]):
            continue
        problems.append(
            f'{", ".join(lavis_names[n] for n in held)} are different '
            f'tensors, but the model ties {", ".join(held)} (one tensor: '
            'the last would overwrite the others); build the LLM with its '
            'own weights for them (e.g. text_config tie_word_embeddings='
            "False in blip2_config: Flan-T5's lm_head is its own weight)"
        )
    return problems


def _coverage_problems(
    converted: Dict[str, torch.Tensor], model: nn.Module
) -> List[str]:
    """A part held only in part; else what keeps the converted tensors from
    loading over the model (missing trainable keys), as loading checks."""
    own = model.state_dict()
    problems = []
    for part in sorted({_part(k) for k in converted}):
        lacking = [k for k in own if _part(k) == part and k not in converted]
        if lacking:
            problems.append(
                f'{part} is there only in part: {some_keys(lacking)} of its '
                'keys are missing'
            )
    text_keys = [
        k
        for k in own
        if k not in converted
        and re.match(
            r'neck\.qformer\.(embeddings\.\w+_embeddings\.'
            r'|encoder\.layer\.\d+\.(intermediate|output)\.)',
            k,
        )
    ]
    if problems and text_keys:
        problems.append(
            "the Q-Former's text keys are missing: a LAVIS model with "
            "qformer_text_input: False (the seed's Vicuna) has none; "
            'convert it for a BLIP-2 (not InstructBLIP) model'
        )
    if problems:
        return problems
    problems = checkpoint_mismatches(model, converted)
    if problems and any(
        _part(k) == 'the LoRA adapters' for k in own.keys() - converted.keys()
    ):
        problems.append(
            'the config trains LoRA adapters: a checkpoint without them '
            'needs a config without lora='
        )
    return problems


def load_lavis_state_dict(
    path: str, weights_only: bool = True
) -> Dict[str, torch.Tensor]:
    """The model state dict of a LAVIS checkpoint file.

    Args:
        path (str): A file LAVIS saved (``{'model': state_dict, ...}``) or a
            bare state dict.
        weights_only (bool): Load with torch's safe unpickler. Defaults to
            True.

    Raises:
        FileNotFoundError: If there is no such file.
        LavisCheckpointError: If the file holds no state dict, or objects the
            safe unpickler refuses.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'LAVIS checkpoint {path!r}: no such file ({osp.abspath(path)}).'
        )
    try:
        checkpoint = torch.load(
            path, map_location='cpu', weights_only=weights_only
        )
    except pickle.UnpicklingError as error:
        reason = str(error).splitlines()[0]
        raise LavisCheckpointError(
            f'{path}: torch.load(weights_only=True) refuses it ({reason}). '
            'If you trust the file, convert with --unsafe-load.'
        ) from error
    if isinstance(checkpoint, dict) and isinstance(
        checkpoint.get('model'), dict
    ):
        checkpoint = checkpoint['model']
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise LavisCheckpointError(
            f'{path}: expected a LAVIS checkpoint ({{"model": state_dict, '
            f'...}}) or a state dict; got {type(checkpoint).__name__}.'
        )
    not_tensors = [
        k for k, v in checkpoint.items() if not isinstance(v, torch.Tensor)
    ]
    if not_tensors:
        raise LavisCheckpointError(
            f'{path}: expected a LAVIS checkpoint ({{"model": state_dict, '
            '...}}) or a state dict; these entries are no tensors: '
            f'{some_keys(not_tensors)}.'
        )
    return checkpoint


def build_model_skeleton(model_cfg: dict) -> nn.Module:
    """The captioner of a config on the meta device: its keys, shapes and
    trainable parameters without loading or allocating any weight.

    A ``pretrained=`` model is built from its ``config.json`` (read from
    the directory or the hub cache) instead, with its tokenizers from the
    same place, and its LLM's ``lm_head`` tied or not as loading the
    weights would (:func:`~.blip2_loading.lm_head_is_own_weight`).

    Args:
        model_cfg (dict): The config's ``model``.
    """
    model_cfg = dict(model_cfg)
    pretrained: Optional[str] = model_cfg.pop('pretrained', None)
    if pretrained is not None:
        source = osp.expanduser(pretrained)
        config = AutoConfig.from_pretrained(source).to_dict()
        if lm_head_is_own_weight(source):
            config['text_config']['tie_word_embeddings'] = False
        model_cfg['blip2_config'] = config
        if model_cfg.get('tokenizer') is None:
            model_cfg['tokenizer'] = source
        if (
            config['model_type'] == 'instructblip'
            and model_cfg.get('qformer_tokenizer') is None
        ):
            model_cfg['qformer_tokenizer'] = source
    with torch.device('meta'):
        return MODELS.build(model_cfg)


def convert_lavis_checkpoint(
    path: str,
    model_cfg: dict,
    config_name: str = '',
    weights_only: bool = True,
) -> Tuple[dict, LavisConversion]:
    """An MMEngine checkpoint of our captioner from a LAVIS checkpoint.

    The checkpoint holds the converted tensors in ``state_dict`` and, in
    ``meta``, what ``TrainableWeightsHook`` writes (``saved_weights``,
    ``architecture``) plus where it came from, so that ``load_from`` and
    ``tools/test.py`` load it strictly over the config's pretrained
    weights.

    Args:
        path (str): The LAVIS checkpoint file.
        model_cfg (dict): The ``model`` of the config it is for.
        config_name (str): The config's file, recorded in ``meta``.
        weights_only (bool): See :func:`load_lavis_state_dict`.

    Returns:
        tuple[dict, LavisConversion]: The checkpoint and the conversion.
    """
    lavis_state = load_lavis_state_dict(path, weights_only=weights_only)
    model = build_model_skeleton(model_cfg)
    conversion = convert_lavis_state_dict(lavis_state, model, source=path)
    meta = dict(
        saved_weights='all' if conversion.complete else 'trainable',
        architecture=architecture_signature(model.state_dict()),
        converted_from=dict(
            file=osp.abspath(path),
            format=f'LAVIS {conversion.layout}',
            tied_copies_left_out=conversion.tied_copies,
        ),
        config=config_name,
    )
    return dict(meta=meta, state_dict=conversion.state_dict), conversion
