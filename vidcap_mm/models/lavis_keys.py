"""The key mapping from LAVIS's BLIP-2 checkpoints to our captioner's.

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
LoRA, peft's ``base_model.model.`` and ``.base_layer`` inside it). A LoRA
LLM saved by an older peft matches too: peft 0.3.0 (the seed's) has no
``.base_layer`` (its LoRA layer is the ``nn.Linear`` itself) and names the
adapters ``lora_A.default.weight``; peft 0.2.0 names them ``lora_A.weight``.

LAVIS's LLMs hold some weights under two names: T5's
``encoder.embed_tokens`` and ``decoder.embed_tokens`` are its ``shared``
embedding, OPT's ``lm_head`` is its ``model.decoder.embed_tokens``
(:data:`TIED_LLM_COPIES`). ``named_parameters()`` lists such a weight once,
under its first name, so the trainer's filter (which drops the state-dict
entries of frozen parameters by those names) leaves the second names of a
frozen LLM's embedding in every checkpoint it saves.

Two constant buffers have no counterpart and are dropped: the Q-Former's
``position_ids`` (``arange``) and the Llama copy's rotary ``inv_freq``.
"""

import re
from typing import Dict, Iterable

import torch

from .trainable_weights import MAX_KEYS, listed_keys

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
CONSTANT_BUFFERS = re.compile(
    r'^Qformer\.bert\.embeddings\.position_ids$'
    r'|^llm_model\..*rotary_emb\.inv_freq$'
)
_PEFT_WRAPPING = re.compile(
    r'base_model\.model\.|\.base_layer(?=\.)'
    r'|(?<=\.lora_[AB])\.default(?=\.weight$)'
)
# A second name of one LLM weight in LAVIS's models -> its first name (the
# one ``named_parameters()`` gives), peft's wrapping kept.
TIED_LLM_COPIES = (
    (
        re.compile(
            r'^(t5_model\.(?:base_model\.model\.)?)'
            r'(?:encoder|decoder)\.embed_tokens\.weight$'
        ),
        r'\1shared.weight',
    ),
    (
        re.compile(r'^(opt_model\.(?:base_model\.model\.)?)lm_head\.weight$'),
        r'\1model.decoder.embed_tokens.weight',
    ),
)


class LavisCheckpointError(ValueError):
    """A LAVIS checkpoint that cannot be converted for the given model."""


def some_keys(keys: Iterable[str]) -> str:
    """``'N (k1, ..., and M more)'`` for a message."""
    keys = list(keys)
    return f'{len(keys)} {listed_keys(keys, MAX_KEYS)}'


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
            f'LAVIS {expected}. Its keys: {some_keys(keys)}.'
        )
    return found.pop()


def to_transformers_key(key: str, family: str, instruct: bool) -> str:
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


def to_our_key(key: str) -> str:
    for theirs, ours in _OUR_PREFIXES.items():
        if key.startswith(theirs):
            return ours + key[len(theirs) :]
    raise AssertionError(f'no prefix of ours for {key}')  # pragma: no cover


def without_peft(key: str) -> str:
    """A key with peft's wrapping removed, so that an LLM saved with or
    without peft (of any version since 0.2.0) matches the model's LLM with
    or without it."""
    return _PEFT_WRAPPING.sub('', key)


def tied_copy_of(key: str) -> str:
    """The first name of the LLM weight that LAVIS key ``key`` is a second
    name of (see :data:`TIED_LLM_COPIES`), or '' if it is none."""
    for pattern, first_name in TIED_LLM_COPIES:
        match = pattern.match(key)
        if match:
            return match.expand(first_name)
    return ''


def merge_qkv_biases(
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
            f'v_bias); only one of the pair for {some_keys(lonely)}.'
        )
    for block in blocks:
        q_bias = state.pop(f'{block}.q_bias')
        v_bias = state.pop(f'{block}.v_bias')
        state[f'{block}.qkv.bias'] = torch.cat(
            [q_bias, torch.zeros_like(v_bias), v_bias]
        )
    return state
