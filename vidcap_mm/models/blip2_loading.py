"""Load one BLIP-2 (or InstructBLIP) model and its tokenizers.

The captioner's parts wrap the sub-modules of a single transformers model,
so that one ``pretrained=`` fills all of them from one checkpoint.
"""

from typing import Optional, Union

import torch
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from .word_tokenizer import build_word_tokenizer

SUPPORTED_MODEL_TYPES = ('blip-2', 'instructblip')


def load_blip2(
    pretrained: Optional[str] = None, blip2_config: Optional[dict] = None
) -> PreTrainedModel:
    """Build a ``Blip2ForConditionalGeneration`` or
    ``InstructBlipForConditionalGeneration``.

    Args:
        pretrained (str, optional): A model id or a local directory, as for
            ``from_pretrained`` (e.g. ``'Salesforce/blip2-flan-t5-xl'``).
        blip2_config (dict, optional): The keyword arguments of a
            ``Blip2Config`` (or, with ``model_type='instructblip'``, an
            ``InstructBlipConfig``): a randomly initialised model.

    Exactly one of the two must be given.

    Returns:
        PreTrainedModel: The model, weights in float32.
    """
    if (pretrained is None) == (blip2_config is None):
        raise ValueError(
            'Give exactly one of `pretrained` (a model id or '
            'directory) and `blip2_config` (a dict); got '
            f'pretrained={pretrained!r} and blip2_config='
            f'{"a dict" if blip2_config else None}.'
        )
    if pretrained is not None:
        config = AutoConfig.from_pretrained(pretrained)
    else:
        blip2_config = dict(blip2_config)
        model_type = blip2_config.pop('model_type', 'blip-2')
        config = AutoConfig.for_model(model_type, **blip2_config)
    if config.model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(
            f'{pretrained or "blip2_config"} is a {config.model_type!r} '
            f'model; expected one of {SUPPORTED_MODEL_TYPES}.'
        )
    if pretrained is not None:
        return AutoModelForImageTextToText.from_pretrained(
            pretrained, config=config
        )
    model = AutoModelForImageTextToText.from_config(config)
    # transformers zero-fills the query tokens (they are always loaded from
    # a checkpoint there). Identical zero queries hit the Q-Former's first
    # LayerNorm with zero variance, which scales their gradient by ~1e6, so
    # a random model starts them from N(0, initializer_range) instead.
    torch.nn.init.normal_(
        model.query_tokens, std=config.qformer_config.initializer_range
    )
    return model


def load_tokenizer(
    spec: Union[None, str, dict],
    pretrained: Optional[str] = None,
    subfolder: str = '',
) -> PreTrainedTokenizerBase:
    """Load a tokenizer.

    Args:
        spec (None | str | dict): ``None`` loads it from ``pretrained``;
            a string is a model id or directory; a dict holds the arguments
            of :func:`build_word_tokenizer` (offline tests and demo).
        pretrained (str, optional): The captioner's checkpoint.
        subfolder (str): Where the tokenizer lies inside the checkpoint
            (InstructBLIP keeps its Q-Former tokenizer in
            ``'qformer_tokenizer'``).

    Returns:
        PreTrainedTokenizerBase: The tokenizer.
    """
    if isinstance(spec, dict):
        return build_word_tokenizer(**spec)
    source = spec if spec is not None else pretrained
    if source is None:
        raise ValueError(
            'No tokenizer: give `tokenizer=` (a model id, a '
            'directory or a dict for a word-level tokenizer) '
            'or load the model with `pretrained=`.'
        )
    if subfolder:
        return AutoTokenizer.from_pretrained(source, subfolder=subfolder)
    return AutoTokenizer.from_pretrained(source)
