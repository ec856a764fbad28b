"""Random-weight stand-ins for the pretrained BLIP-2 checkpoints.

Benchmarks and tests run without a model hub, so they replace a config's
``pretrained=`` (a model id) by a ``blip2_config`` of random weights:

* ``'real'``: the checkpoint's own dimensions (EVA ViT-g, the Q-Former and
  the full LLM), for speed and memory figures of the real model;
* ``'tiny'``: the tiny model of the same kind (LLM family, and BLIP-2 or
  InstructBLIP; :data:`TINY_CONFIGS` under ``configs/_base_/models/``),
  for runs in seconds on CPU.

Tokenizers become the offline word-level tokenizers of the tiny config of
the kind (its special-token convention and its words,
:func:`~vidcap_mm.models.build_word_tokenizer`), at either size.
Everything else of the config (prompt, LoRA, dtypes, objective, generation)
is kept. A random stand-in writes only its tokenizer's words when asked
(:func:`suppress_non_words`), and :func:`random_references` gives its
reward a corpus of such words.
"""

import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

# The stand-in kind of a checkpoint, from its model id or directory name
# (checked in this order: an InstructBLIP id names Vicuna too), and its
# tiny model config under configs/_base_/models/.
_KIND_MARKS = (
    ('instructblip', ('instructblip',)),
    ('vicuna', ('vicuna',)),
    ('t5', ('t5',)),
    ('opt', ('opt',)),
)
TINY_CONFIGS = dict(
    instructblip='tiny_instructblip_vicuna.py',
    vicuna='tiny_blip2_vicuna.py',
    t5='tiny_blip2_t5.py',
    opt='tiny_blip2_opt.py',
)
# The directory that tools/model_converters/instructblip_to_blip2.py
# assembles for the seed's Vicuna recipe (configs/_base_/models/
# blip2_vicuna7b.py).
BLIP2_VICUNA7B = 'checkpoints/blip2-vicuna-7b'

# EVA ViT-g at 224 px and BLIP-2's Q-Former, shared by every checkpoint.
_VIT_G = dict(
    hidden_size=1408,
    intermediate_size=6144,
    num_hidden_layers=39,
    num_attention_heads=16,
    image_size=224,
    patch_size=14,
    initializer_range=0.02,
)
_QFORMER = dict(
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    encoder_hidden_size=1408,
    cross_attention_frequency=2,
)


def _opt(hidden: int, ffn: int) -> dict:
    # Special-token ids follow the word tokenizer ('opt' style), not OPT's
    # BPE vocabulary: the vocabulary of a random model is arbitrary.
    return dict(
        model_type='opt',
        vocab_size=50272,
        hidden_size=hidden,
        word_embed_proj_dim=hidden,
        ffn_dim=ffn,
        num_hidden_layers=32,
        num_attention_heads=32,
        max_position_embeddings=2048,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=1,
    )


# Vicuna-7B v1.1 with InstructBLIP's added pad token (32001 tokens).
_VICUNA_7B = dict(
    model_type='llama',
    vocab_size=32001,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=32,
    max_position_embeddings=2048,
    rms_norm_eps=1e-6,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=3,
)

# The dimensions of the checkpoints the recipes use (their config.json).
REAL_DIMENSIONS = {
    'Salesforce/blip2-flan-t5-xl': dict(
        vision_config=_VIT_G,
        qformer_config=_QFORMER,
        text_config=dict(
            model_type='t5',
            vocab_size=32128,
            d_model=2048,
            d_kv=64,
            d_ff=5120,
            num_layers=24,
            num_decoder_layers=24,
            num_heads=32,
            feed_forward_proj='gated-gelu',
            tie_word_embeddings=False,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        ),
        num_query_tokens=32,
    ),
    'Salesforce/blip2-opt-2.7b': dict(
        vision_config=_VIT_G,
        qformer_config=_QFORMER,
        text_config=_opt(2560, 10240),
        num_query_tokens=32,
        image_token_index=50271,
    ),
    'Salesforce/blip2-opt-6.7b': dict(
        vision_config=_VIT_G,
        qformer_config=_QFORMER,
        text_config=_opt(4096, 16384),
        num_query_tokens=32,
        image_token_index=50271,
    ),
    'Salesforce/instructblip-vicuna-7b': dict(
        model_type='instructblip',
        vision_config=_VIT_G,
        qformer_config=dict(_QFORMER, vocab_size=30523, pad_token_id=0),
        text_config=_VICUNA_7B,
        num_query_tokens=32,
    ),
    # The same ViT, Q-Former (less its text parts) and LLM as a BLIP-2.
    BLIP2_VICUNA7B: dict(
        vision_config=_VIT_G,
        qformer_config=_QFORMER,
        text_config=_VICUNA_7B,
        num_query_tokens=32,
    ),
}


def stand_in_kind(pretrained: str) -> str:
    """The key of :data:`TINY_CONFIGS` for a model id or directory:
    ``'t5'``, ``'opt'``, ``'vicuna'`` (BLIP-2) or ``'instructblip'``
    (InstructBLIP with Vicuna)."""
    name = pretrained.lower()
    for kind, marks in _KIND_MARKS:
        if any(mark in name for mark in marks):
            return kind
    raise ValueError(
        f'pretrained={pretrained!r} names none of the LLM families '
        f'{[kind for kind, _ in _KIND_MARKS]}.'
    )


def default_configs_dir() -> str:
    """The repository's ``configs/`` (vidcap_mm installed in place)."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    return osp.join(osp.dirname(package), 'configs')


def random_weights_model(
    model: dict, size: str = 'real', configs_dir: Optional[str] = None
) -> dict:
    """A copy of a model config with random weights instead of
    ``pretrained``.

    Args:
        model (dict): A ``Blip2VideoCaptioner`` config with ``pretrained``
            (one already on ``blip2_config`` is returned unchanged).
        size (str): ``'real'`` (the checkpoint's dimensions; only the
            model ids of :data:`REAL_DIMENSIONS`) or ``'tiny'``.
        configs_dir (str, optional): Where ``_base_/models/tiny_*.py``
            lie (the tokenizers of both sizes come from there). Defaults to
            the repository's ``configs/``.

    Returns:
        dict: The model config.
    """
    model = copy.deepcopy(dict(model))
    pretrained = model.get('pretrained')
    if pretrained is None:
        return model
    kind = stand_in_kind(pretrained)
    if size not in ('real', 'tiny'):
        raise ValueError(f"size must be 'real' or 'tiny', got {size!r}.")
    if size == 'real' and pretrained not in REAL_DIMENSIONS:
        raise ValueError(
            f'No known dimensions for pretrained={pretrained!r}; known: '
            f'{sorted(REAL_DIMENSIONS)}.'
        )
    path = osp.join(
        configs_dir or default_configs_dir(),
        '_base_',
        'models',
        TINY_CONFIGS[kind],
    )
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'No tiny {kind} model config at {path}: the stand-ins take '
            'their offline tokenizers (and, tiny, their dimensions) from the '
            'repository (give configs_dir=).'
        )
    tiny = Config.fromfile(path).model.to_dict()
    stand_in = {
        k: tiny[k]
        for k in ('blip2_config', 'tokenizer', 'qformer_tokenizer')
        if k in tiny
    }
    if size == 'real':
        stand_in['blip2_config'] = copy.deepcopy(REAL_DIMENSIONS[pretrained])
    model['pretrained'] = None
    model.update(stand_in)
    return model


def tokenizer_words(tokenizer) -> List[str]:
    """The words of an offline word-level tokenizer, in id order: no
    special token, no newline (OPT's end of caption)."""
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_tokens)
    return [
        token
        for token in sorted(vocab, key=vocab.get)
        if token not in special and token.strip()
    ]


def suppress_non_words(captioner, generation_cfg: dict) -> None:
    """Let a random stand-in generate only words of its tokenizer.

    A random model mostly writes special tokens (which decode to nothing)
    or ids the small tokenizer lacks; this adds the ids of both, but the
    head's end of caption, to ``generation_cfg['suppress_tokens']``.

    Args:
        captioner (Blip2VideoCaptioner): The stand-in.
        generation_cfg (dict): The generation settings to change in place,
            e.g. its SCST objective's or its head's.
    """
    head = captioner.head
    vocab = head.language_model.get_input_embeddings().num_embeddings
    special = set(head.tokenizer.all_special_ids) - {head.end_token_id}
    unknown = range(len(head.tokenizer), vocab)
    generation_cfg['suppress_tokens'] = sorted(special.union(unknown))


def random_references(
    words: Sequence[str], num_videos: int, refs: int, rng
) -> Dict[str, List[str]]:
    """A reference corpus of random captions (5 to 11 of ``words``) for
    ``video0`` ... , e.g. for the SCST reward of a benchmark.

    Args:
        words (Sequence[str]): The words to draw.
        num_videos (int): Videos.
        refs (int): References per video.
        rng (np.random.Generator): The random generator.
    """
    words = np.array(words)
    return {
        f'video{v}': [
            ' '.join(rng.choice(words, int(rng.integers(5, 12))))
            for _ in range(refs)
        ]
        for v in range(num_videos)
    }
