"""Convert checkpoints of LAVIS's BLIP-2 models to our captioner's keys.

LAVIS (salesforce/LAVIS, the reference code's base) names the parts of
``Blip2T5``, ``Blip2T5Instruct``, ``Blip2OPT`` and ``Blip2VicunaInstruct``
after its own modules; transformers' BLIP-2, which our captioner wraps, names
them otherwise. The mapping (the one transformers' own BLIP-2 and
InstructBLIP converters apply), LAVIS -> transformers:

- ``visual_encoder.cls_token`` / ``.pos_embed`` / ``.patch_embed.proj`` ->
  ``vision_model.embeddings.class_embedding`` / ``.position_embedding`` /
  ``.patch_embedding``;
- ``visual_encoder.blocks.N.{norm1, norm2, attn.qkv, attn.proj, mlp.fc1,
  mlp.fc2}`` -> ``vision_model.encoder.layers.N.{layer_norm1, layer_norm2,
  self_attn.qkv, self_attn.projection, mlp.fc1, mlp.fc2}``;
- ``....attn.q_bias`` and ``....attn.v_bias`` -> one
  ``....self_attn.qkv.bias``: EVA's fused attention has no key bias, so the
  middle third is zero;
- ``ln_vision`` (LAVIS keeps the ViT's final norm outside it) ->
  ``vision_model.post_layernorm``;
- ``query_tokens`` -> ``query_tokens``;
- ``Qformer.bert.embeddings.LayerNorm`` -> ``qformer.layernorm`` (BLIP-2) or
  ``qformer.embeddings.layernorm`` (InstructBLIP, whose Q-Former also keeps
  ``word_embeddings`` and ``position_embeddings`` under
  ``qformer.embeddings.``);
- ``Qformer.bert.encoder.layer.N.{attention, crossattention}.self`` ->
  ``qformer.encoder.layer.N.{...}.attention``; the rest of
  ``Qformer.bert.encoder`` keeps its names under ``qformer.encoder``;
- ``t5_proj`` / ``opt_proj`` / ``llm_proj`` -> ``language_projection``;
- ``t5_model`` / ``opt_model`` / ``llm_model`` -> ``language_model`` (the
  same transformers T5 / OPT / Llama keys inside);

and our captioner keeps the ViT under ``backbone.``, the query tokens,
Q-Former and projection under ``neck.`` and the LLM under ``head.`` (with
LoRA, peft's ``base_model.model.`` and ``.base_layer`` inside it).

LAVIS's trainer saves every buffer but only the parameters that require a
gradient, so a fine-tuned checkpoint usually holds the Q-Former, query
tokens, projection and ``ln_vision`` (trainable in LAVIS even with a frozen
ViT) and no ViT or LLM weights (those then come from the config's
``pretrained=``); a whole model's state dict converts as well. An LLM
wrapped by peft keeps peft's key layout under ``t5_model.`` etc., so its
LoRA adapters convert too (LoRA's ``lora_alpha`` is not in the weights: the
config's must be the one trained with).

Two constant buffers have no counterpart and are dropped: the Q-Former's
``position_ids`` (``arange``) and the Llama copy's rotary ``inv_freq``.
"""

import os.path as osp
import pickle
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

import torch
from mmaction.registry import MODELS
from torch import nn
from transformers import AutoConfig

from vidcap_mm.engine.hooks import architecture_signature, trainable_keys

# The LLM families of LAVIS's BLIP-2 classes: key prefix -> (LAVIS class,
# transformers model types they hold).
LLM_FAMILIES = {
    't5': ('Blip2T5', ('t5',)),
    'opt': ('Blip2OPT', ('opt',)),
    'llm': ('Blip2VicunaInstruct', ('llama',)),
}

# LAVIS names inside ``visual_encoder.blocks.N.`` -> transformers' names
# inside ``vision_model.encoder.layers.N.``.
_VIT_BLOCK_NAMES = {
    'norm1': 'layer_norm1',
    'norm2': 'layer_norm2',
    'attn.qkv': 'self_attn.qkv',
    'attn.proj': 'self_attn.projection',
    'mlp.fc1': 'mlp.fc1',
    'mlp.fc2': 'mlp.fc2',
}
_VIT_EMBEDDINGS = {
    'visual_encoder.cls_token': 'vision_model.embeddings.class_embedding',
    'visual_encoder.pos_embed': 'vision_model.embeddings.position_embedding',
    'visual_encoder.patch_embed.proj.weight': (
        'vision_model.embeddings.patch_embedding.weight'
    ),
    'visual_encoder.patch_embed.proj.bias': (
        'vision_model.embeddings.patch_embedding.bias'
    ),
}
# Where the captioner keeps each part of the transformers model.
_OUR_PREFIXES = {
    'vision_model.': 'backbone.vision_model.',
    'query_tokens': 'neck.query_tokens',
    'qformer.': 'neck.qformer.',
    'language_projection.': 'neck.language_projection.',
    'language_model.': 'head.language_model.',
}
_CONSTANT_BUFFERS = re.compile(
    r'^Qformer\.bert\.embeddings\.position_ids$'
    r'|^llm_model\..*rotary_emb\.inv_freq$'
)
_PEFT_WRAPPING = re.compile(r'base_model\.model\.|\.base_layer(?=\.)')
MAX_KEYS = 5


class LavisCheckpointError(ValueError):
    """A LAVIS checkpoint that cannot be converted for the given model."""


@dataclass
class LavisConversion:
    """The result of :func:`convert_lavis_state_dict`.

    Attributes:
        state_dict (dict): Our captioner's keys -> the checkpoint's tensors.
        layout (str): The LAVIS class whose layout the checkpoint has.
        complete (bool): Whether every key of the model is there (else the
            checkpoint holds at least its trainable part).
        dropped (list[str]): LAVIS keys left out (constant buffers).
    """

    state_dict: Dict[str, torch.Tensor]
    layout: str
    complete: bool
    dropped: List[str] = field(default_factory=list)


def _some(keys: Iterable[str]) -> str:
    keys = sorted(keys)
    shown = ', '.join(keys[:MAX_KEYS])
    more = len(keys) - MAX_KEYS
    return f'{len(keys)} ({shown}' + (
        f', and {more} more)' if more > 0 else ')'
    )


def detect_llm_family(keys: Iterable[str], source: str) -> str:
    """The LLM prefix (``'t5'``, ``'opt'`` or ``'llm'``) of a LAVIS state
    dict, from its ``*_proj.`` / ``*_model.`` keys.

    Raises:
        LavisCheckpointError: If there is none, or more than one.
    """
    keys = list(keys)
    found = {
        key.split('_', 1)[0]
        for key in keys
        if re.match(r'^(t5|opt|llm)_(proj|model)\.', key)
    }
    if len(found) != 1:
        expected = ', '.join(
            f'{name} ({prefix}_proj. / {prefix}_model.)'
            for prefix, (name, _) in LLM_FAMILIES.items()
        )
        what = (
            'no projection or LLM keys'
            if not found
            else f'keys of several LLMs ({sorted(found)})'
        )
        raise LavisCheckpointError(
            f'{source}: unknown layout, {what}; expected the keys of one of '
            f'LAVIS {expected}. Its keys: {_some(keys)}.'
        )
    return found.pop()


def _to_transformers_key(key: str, family: str, instruct: bool) -> str:
    """The transformers key of one LAVIS key, or '' if it has none."""
    if key in _VIT_EMBEDDINGS:
        return _VIT_EMBEDDINGS[key]
    match = re.match(
        r'^visual_encoder\.blocks\.(\d+)\.(norm1|norm2|attn\.qkv|attn\.proj'
        r'|mlp\.fc1|mlp\.fc2)\.(weight|bias)$',
        key,
    )
    if match:
        block, name, kind = match.groups()
        return (
            f'vision_model.encoder.layers.{block}.'
            f'{_VIT_BLOCK_NAMES[name]}.{kind}'
        )
    match = re.match(r'^ln_vision\.(weight|bias)$', key)
    if match:
        return f'vision_model.post_layernorm.{match.group(1)}'
    if key == 'query_tokens':
        return key
    match = re.match(
        r'^Qformer\.bert\.embeddings\.LayerNorm\.(weight|bias)$', key
    )
    if match:
        where = (
            'qformer.embeddings.layernorm' if instruct else 'qformer.layernorm'
        )
        return f'{where}.{match.group(1)}'
    match = re.match(
        r'^Qformer\.bert\.embeddings\.(word|position)_embeddings\.weight$', key
    )
    if match:
        return f'qformer.embeddings.{match.group(1)}_embeddings.weight'
    match = re.match(r'^Qformer\.bert\.encoder\.layer\.(\d+)\.(.+)$', key)
    if match:
        layer, rest = match.groups()
        rest = re.sub(
            r'^(attention|crossattention)\.self\.', r'\1.attention.', rest
        )
        return f'qformer.encoder.layer.{layer}.{rest}'
    if key.startswith(f'{family}_proj.'):
        return 'language_projection.' + key[len(family) + 6 :]
    if key.startswith(f'{family}_model.'):
        return 'language_model.' + key[len(family) + 7 :]
    return ''


def _to_our_key(key: str) -> str:
    for theirs, ours in _OUR_PREFIXES.items():
        if key.startswith(theirs):
            return ours + key[len(theirs) :]
    raise AssertionError(f'no prefix of ours for {key}')  # pragma: no cover


def _without_peft(key: str) -> str:
    """A key with peft's wrapping removed, so that an LLM saved with or
    without peft matches the model's LLM with or without it."""
    return _PEFT_WRAPPING.sub('', key)


def _merge_qkv_biases(
    state: Dict[str, torch.Tensor], source: str
) -> Dict[str, torch.Tensor]:
    """Replace each block's ``attn.q_bias`` and ``attn.v_bias`` by one
    ``attn.qkv.bias``: EVA's attention has no key bias, transformers' one
    fused bias whose key third is then zero."""
    state = dict(state)
    pattern = re.compile(r'^(visual_encoder\.blocks\.\d+\.attn)\.(q|v)_bias$')
    blocks = sorted(
        {m.group(1) for m in map(pattern.match, state) if m is not None}
    )
    lonely = [
        f'{block}.{kind}_bias'
        for block in blocks
        for kind, other in (('q', 'v'), ('v', 'q'))
        if f'{block}.{other}_bias' not in state
    ]
    if lonely:
        raise LavisCheckpointError(
            f'{source}: EVA attention biases come in pairs (q_bias and '
            f'v_bias); only one of the pair for {_some(lonely)}.'
        )
    for block in blocks:
        q_bias = state.pop(f'{block}.q_bias')
        v_bias = state.pop(f'{block}.v_bias')
        state[f'{block}.qkv.bias'] = torch.cat(
            [q_bias, torch.zeros_like(v_bias), v_bias]
        )
    return state


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
    dropped = sorted(k for k in lavis_state if _CONSTANT_BUFFERS.match(k))
    state = {
        k: v for k, v in lavis_state.items() if not _CONSTANT_BUFFERS.match(k)
    }
    state = _merge_qkv_biases(state, source)

    own_by_plain_key = {_without_peft(k): k for k in own}
    converted: Dict[str, torch.Tensor] = {}
    unknown: List[str] = []
    unexpected: List[str] = []
    shapes: List[str] = []
    for key, value in state.items():
        theirs = _to_transformers_key(key, family, instruct)
        if not theirs:
            unknown.append(key)
            continue
        ours = own_by_plain_key.get(_without_peft(_to_our_key(theirs)))
        if ours is None:
            unexpected.append(f'{key} -> {_to_our_key(theirs)}')
        elif tuple(value.shape) != tuple(own[ours].shape):
            shapes.append(
                f'{key} {tuple(value.shape)} vs {ours} '
                f'{tuple(own[ours].shape)}'
            )
        else:
            converted[ours] = value
    problems = []
    if unknown:
        problems.append(
            f'{_some(unknown)} keys of no LAVIS {layout} part this '
            'converter knows'
        )
    if unexpected:
        problems.append(
            f'{_some(unexpected)} keys with no counterpart in the model'
        )
    if shapes:
        problems.append(f'{_some(shapes)} shape mismatches (LAVIS vs ours)')
    problems += _coverage_problems(
        converted.keys(), own, trainable_keys(model)
    )
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
    )


def _coverage_problems(
    converted: Iterable[str], own: Dict[str, torch.Tensor], trainable: Set[str]
) -> List[str]:
    converted = set(converted)
    problems = []
    held_parts = {_part(k) for k in converted}
    for part in sorted(held_parts):
        lacking = [k for k in own if _part(k) == part and k not in converted]
        if lacking:
            problems.append(
                f'{part} is there only in part: {_some(lacking)} of its '
                'keys are missing'
            )
    missing = sorted(trainable - converted)
    if missing and not problems:
        hint = (
            ' (the config trains LoRA adapters: a checkpoint without them '
            'needs a config without lora=)'
            if any(_part(k) == 'the LoRA adapters' for k in missing)
            else ''
        )
        problems.append(
            f'{_some(missing)} trainable keys of the model are missing' + hint
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
            f'{_some(not_tensors)}.'
        )
    return checkpoint


def build_model_skeleton(model_cfg: dict) -> nn.Module:
    """The captioner of a config on the meta device: its keys, shapes and
    trainable parameters without loading or allocating any weight.

    A ``pretrained=`` model is built from its ``config.json`` (read from
    the directory or the hub cache) instead, with its tokenizers from the
    same place.

    Args:
        model_cfg (dict): The config's ``model``.
    """
    model_cfg = dict(model_cfg)
    pretrained: Optional[str] = model_cfg.pop('pretrained', None)
    if pretrained is not None:
        source = osp.expanduser(pretrained)
        config = AutoConfig.from_pretrained(source).to_dict()
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
            file=osp.abspath(path), format=f'LAVIS {conversion.layout}'
        ),
        config=config_name,
    )
    return dict(meta=meta, state_dict=conversion.state_dict), conversion
