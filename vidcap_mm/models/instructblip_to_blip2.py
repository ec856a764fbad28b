"""A BLIP-2 model made of an InstructBLIP model's weights.

The seed's Vicuna recipe runs LAVIS's ``Blip2VicunaInstruct`` with
``qformer_text_input: False``: a Q-Former that reads no text before Vicuna.
The hub has no such BLIP-2 model; ``Salesforce/instructblip-vicuna-7b``
holds every part of it. :func:`blip2_from_instructblip` takes its ViT,
query tokens, Q-Former (less the parts that only text passes through),
language projection and LLM into a ``Blip2ForConditionalGeneration``;
``tools/model_converters/instructblip_to_blip2.py`` saves it as a
directory for ``pretrained=``.

What the InstructBLIP Q-Former has and the BLIP-2 one has not, and is left
out: the text embeddings (``qformer.embeddings.word_embeddings``,
``position_embeddings`` and the ``position_ids`` buffer) and every layer's
feed-forward block for text tokens (``qformer.encoder.layer.<i>.intermediate``
and ``.output``; the queries have their own, ``intermediate_query`` and
``output_query``, kept). Without text, InstructBLIP's Q-Former computes
nothing with them. BLIP-2's one weight with another name is the LayerNorm
over the query embeddings: ``qformer.layernorm`` is InstructBLIP's
``qformer.embeddings.layernorm`` (both LAVIS's
``Qformer.bert.embeddings.LayerNorm``). No BLIP-2 weight is left without a
source.
"""

import re
from typing import Dict, List, Tuple

import torch
from transformers import (
    Blip2Config,
    Blip2ForConditionalGeneration,
    Blip2QFormerConfig,
    Blip2QFormerModel,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

# InstructBLIP Q-Former keys that only text tokens pass through.
_TEXT_ONLY = re.compile(
    r'(embeddings\.(word_embeddings|position_embeddings)\.'
    r'|embeddings\.position_ids$'
    r'|encoder\.layer\.\d+\.(intermediate|output)\.)'
)
_RENAMED = {'embeddings.layernorm.': 'layernorm.'}


def blip2_config_from_instructblip(config) -> Blip2Config:
    """The ``Blip2Config`` of the BLIP-2 model of an InstructBLIP config.

    Args:
        config (InstructBlipConfig): The source's config.

    Returns:
        Blip2Config: Same ViT, LLM, query tokens and image token; the
        Q-Former's settings that a BLIP-2 Q-Former has.
    """
    if config.model_type != 'instructblip':
        raise ValueError(
            f'Expected an InstructBLIP config, got a {config.model_type!r} '
            'one.'
        )
    known = Blip2QFormerConfig().to_dict()
    qformer = {
        key: value
        for key, value in config.qformer_config.to_dict().items()
        if key in known and key not in ('model_type', 'transformers_version')
    }
    return Blip2Config(
        vision_config=config.vision_config.to_dict(),
        qformer_config=qformer,
        text_config=config.text_config.to_dict(),
        num_query_tokens=config.num_query_tokens,
        image_token_index=config.image_token_index,
    )


def qformer_state_dict(
    instructblip_qformer: torch.nn.Module,
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The BLIP-2 Q-Former's weights from an InstructBLIP Q-Former's.

    Args:
        instructblip_qformer (nn.Module): ``InstructBlipQFormerModel``.

    Returns:
        tuple[dict, list[str]]: The state dict (the source's tensors, not
        copies) and the source keys left out (text only).
    """
    state, left_out = {}, []
    for key, value in instructblip_qformer.state_dict().items():
        if _TEXT_ONLY.match(key):
            left_out.append(key)
            continue
        for old, new in _RENAMED.items():
            if key.startswith(old):
                key = new + key[len(old) :]
        state[key] = value
    return state, left_out


def blip2_from_instructblip(
    instructblip: PreTrainedModel,
) -> Tuple[Blip2ForConditionalGeneration, List[str]]:
    """A BLIP-2 model that shares an InstructBLIP model's modules.

    The ViT, the LLM and the language projection are the source's modules
    and the query tokens its parameter; the Q-Former is a BLIP-2 Q-Former
    loaded (strictly) with the source's weights less the text-only ones,
    in their dtype.

    Args:
        instructblip (InstructBlipForConditionalGeneration): The source.

    Returns:
        tuple[Blip2ForConditionalGeneration, list[str]]: The model (eval
        mode) and the source's Q-Former keys left out.
    """
    config = blip2_config_from_instructblip(instructblip.config)
    # The big parts come from the source: build them on the meta device.
    with torch.device('meta'):
        blip2 = Blip2ForConditionalGeneration(config)
    blip2.vision_model = instructblip.vision_model
    blip2.language_model = instructblip.language_model
    blip2.language_projection = instructblip.language_projection
    blip2.query_tokens = instructblip.query_tokens
    state, left_out = qformer_state_dict(instructblip.qformer)
    qformer = Blip2QFormerModel(config.qformer_config)
    qformer.load_state_dict(state, strict=True)
    dtype = next(iter(state.values())).dtype
    blip2.qformer = qformer.to(dtype)
    return blip2.eval(), left_out


def eos_as_bos(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Make a Llama tokenizer begin every text with ``'</s>'``, as LAVIS's
    ``Blip2VicunaInstruct`` does (it sets the BOS token to ``'</s>'``), in
    place; a tokenizer that already does is left as it is.

    The seed's LLM reads ``[visual ; '</s>' ; caption ; '</s>']`` with an
    empty prompt, and generates after ``[visual ; '</s>']``.

    Args:
        tokenizer (PreTrainedTokenizerBase): The LLM's tokenizer.

    Returns:
        PreTrainedTokenizerBase: ``tokenizer``.

    Raises:
        ValueError: If it cannot be made to (a tokenizer that puts no BOS
            in front, or whose template transformers cannot rewrite).
    """
    eos = tokenizer.eos_token_id

    def front(text: str) -> List[int]:
        # What the tokenizer adds around a text: LAVIS's adds [eos] + text.
        ids = tokenizer(text).input_ids
        plain = tokenizer(text, add_special_tokens=False).input_ids
        return (
            ids[: len(ids) - len(plain)]
            if ids[-len(plain) :] == plain
            else ids
        )

    if front('a') == [tokenizer.bos_token_id] != [eos]:
        tokenizer.bos_token = tokenizer.eos_token
        if hasattr(tokenizer, 'update_post_processor'):
            # transformers' setter rewrites the template with the new BOS.
            tokenizer.add_bos_token = True
    if front('a') != [eos] or tokenizer('').input_ids != [eos]:
        raise ValueError(
            f"The LLM tokenizer writes {tokenizer('a').input_ids} for 'a' "
            f'(expected [{eos}] in front, {tokenizer.eos_token!r}, and '
            "nothing else, as LAVIS's Vicuna tokenizer): it cannot be made "
            'to put its EOS token in front.'
        )
    return tokenizer


def assemble_blip2_directory(
    source: str, out_dir: str, dtype: str = 'auto'
) -> List[str]:
    """Write the BLIP-2 model of an InstructBLIP model as a directory for
    ``pretrained=``: ``save_pretrained`` of the model of
    :func:`blip2_from_instructblip` and of the LLM tokenizer, its BOS made
    '</s>' (:func:`eos_as_bos`). The Q-Former's BERT tokenizer is not
    written: a BLIP-2 Q-Former reads no text.

    Args:
        source (str): An InstructBLIP model id or directory (e.g.
            ``'Salesforce/instructblip-vicuna-7b'``).
        out_dir (str): Where to write it.
        dtype (str): The weights' dtype, as ``from_pretrained`` takes it:
            ``'auto'`` (as stored, the default), ``'float32'``, ...

    Returns:
        list[str]: The source's Q-Former keys left out.
    """
    from transformers import AutoModelForImageTextToText, AutoTokenizer

    from .blip2_loading import _explain_hub_failure, _resolve_source
    from .precision import resolve_dtype

    source = _resolve_source(source, 'source')
    with _explain_hub_failure(source, 'source'):
        instructblip = AutoModelForImageTextToText.from_pretrained(
            source, dtype=dtype if dtype == 'auto' else resolve_dtype(dtype)
        )
        tokenizer = AutoTokenizer.from_pretrained(source)
    blip2, left_out = blip2_from_instructblip(instructblip)
    eos_as_bos(tokenizer)
    blip2.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return left_out
