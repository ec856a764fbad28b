"""Load one BLIP-2 (or InstructBLIP) model and its tokenizers.

The captioner's parts wrap the sub-modules of a single transformers model,
so that one ``pretrained=`` fills all of them from one checkpoint.
"""

import contextlib
import json
import os
import os.path as osp
from typing import Iterator, List, Optional, Union

import torch
from huggingface_hub import constants as hub_constants
from huggingface_hub.utils import HFValidationError, validate_repo_id
from safetensors import safe_open
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import cached_file

from .precision import resolve_dtype
from .word_tokenizer import build_word_tokenizer

SUPPORTED_MODEL_TYPES = ('blip-2', 'instructblip')


def load_blip2(
    pretrained: Optional[str] = None,
    blip2_config: Optional[dict] = None,
    llm_dtype: Optional[str] = None,
    attn_implementation: Union[None, str, dict] = None,
) -> PreTrainedModel:
    """Build a ``Blip2ForConditionalGeneration`` or
    ``InstructBlipForConditionalGeneration``.

    Args:
        pretrained (str, optional): A model id or a local directory, as for
            ``from_pretrained`` (e.g. ``'Salesforce/blip2-flan-t5-xl'``).
        blip2_config (dict, optional): The keyword arguments of a
            ``Blip2Config`` (or, with ``model_type='instructblip'``, an
            ``InstructBlipConfig``): a randomly initialised model.
        llm_dtype (str, optional): Load the language model's weights
            directly in this dtype (e.g. ``'bfloat16'``), each tensor cast
            once from the checkpoint: the LLM, most of the weights, is
            never held in float32. The other parts load in float32 (the
            Q-Former and projection train; a float16 ViT is cast from
            float32 by the backbone, not through bfloat16). Only with
            ``pretrained``.
        attn_implementation (str | dict, optional): transformers'
            attention implementation (``'sdpa'``, ``'eager'``,
            ``'flash_attention_2'`` where installed), or a dict per
            sub-config (``{'text_config': ..., 'vision_config': ...}``).
            None: transformers' default (sdpa where the model supports
            it).

    Exactly one of ``pretrained`` and ``blip2_config`` must be given.

    The LLM's output embedding (``lm_head``) is a weight of its own where
    the text config says ``tie_word_embeddings=False`` (Flan-T5's does;
    transformers 5's ``T5Config`` ties it whatever the config says) or
    where the pretrained weights hold it apart from the input embedding
    with other values (transformers then unties it); otherwise it is tied
    to the input embedding, as transformers builds it.

    Returns:
        PreTrainedModel: The model, weights in float32 except the LLM's
        with ``llm_dtype``.

    Raises:
        FileNotFoundError: If ``pretrained`` is a path that does not exist.
        OSError: If a model id is neither in the cache nor on the hub.
    """
    if (pretrained is None) == (blip2_config is None):
        raise ValueError(
            'Give exactly one of `pretrained` (a model id or '
            'directory) and `blip2_config` (a dict); got '
            f'pretrained={pretrained!r} and blip2_config='
            f'{"a dict" if blip2_config else None}.'
        )
    if pretrained is not None:
        pretrained = _resolve_source(pretrained, 'pretrained')
        with _explain_hub_failure(pretrained, 'pretrained'):
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
    options = {}
    if attn_implementation is not None:
        options['attn_implementation'] = attn_implementation
    if pretrained is not None:
        model_class = AutoModelForImageTextToText
        dtype = resolve_dtype(llm_dtype)
        if dtype is not None and dtype != torch.float32:
            model_class = _llm_in_half_precision(config)
            options['dtype'] = dtype
        with _explain_hub_failure(pretrained, 'pretrained'):
            model = model_class.from_pretrained(
                pretrained, config=config, **options
            )
            raw_config = PretrainedConfig.get_config_dict(pretrained)[0]
        if _says_untied(raw_config):
            untie_output_embeddings(model)
        return model
    model = AutoModelForImageTextToText.from_config(config, **options)
    if _says_untied(blip2_config):
        untie_output_embeddings(model)
    # transformers zero-fills the query tokens (they are always loaded from
    # a checkpoint there). Identical zero queries hit the Q-Former's first
    # LayerNorm with zero variance, which scales their gradient by ~1e6, so
    # a random model starts them from N(0, initializer_range) instead.
    torch.nn.init.normal_(
        model.query_tokens, std=config.qformer_config.initializer_range
    )
    return model


def _says_untied(config: dict) -> bool:
    text_config = config.get('text_config') or {}
    return text_config.get('tie_word_embeddings', True) is False


def untie_output_embeddings(model: PreTrainedModel) -> None:
    """Give the LLM of a BLIP-2 model an output embedding of its own, equal
    to the input embedding it was tied to, in place (no-op if untied)."""
    language_model = model.language_model
    output = language_model.get_output_embeddings()
    if output is None or (
        output.weight is not language_model.get_input_embeddings().weight
    ):
        return
    output.weight = torch.nn.Parameter(
        output.weight.detach().clone(),
        requires_grad=output.weight.requires_grad,
    )
    name = next(n for n, m in language_model.named_modules() if m is output)
    # Else save_pretrained would leave it out and tie_weights() tie it again.
    for owner, prefix in ((model, 'language_model.'), (language_model, '')):
        tied = getattr(owner, 'all_tied_weights_keys', None) or {}
        tied.pop(f'{prefix}{name}.weight', None)


def lm_head_is_own_weight(pretrained: str) -> bool:
    """Whether ``load_blip2(pretrained)`` gives the LLM an output
    embedding of its own (see :func:`load_blip2`), read from the config
    and the two tensors alone, so that a model built from the config on
    the meta device can be untied alike.

    Args:
        pretrained (str): A model id or a directory with safetensors
            weights.
    """
    source = _resolve_source(pretrained, 'pretrained')
    with _explain_hub_failure(source, 'pretrained'):
        if _says_untied(PretrainedConfig.get_config_dict(source)[0]):
            return True
        files = _safetensors_files(source)
    tensors = {}
    for path in files:
        with safe_open(path, framework='pt') as f:
            for key in f.keys():
                if key == 'language_model.lm_head.weight' or (
                    key.startswith('language_model.')
                    and key.endswith(('.shared.weight', 'embed_tokens.weight'))
                    and 'input' not in tensors
                ):
                    role = 'output' if 'lm_head' in key else 'input'
                    tensors[role] = f.get_tensor(key)
    if 'output' not in tensors or 'input' not in tensors:
        return False
    return not torch.equal(tensors['output'], tensors['input'])


def _safetensors_files(source: str) -> List[str]:
    """The safetensors files of a directory or a cached model id."""
    index = cached_file(
        source,
        'model.safetensors.index.json',
        _raise_exceptions_for_missing_entries=False,
    )
    if index is None:
        single = cached_file(source, 'model.safetensors')
        return [single]
    with open(index) as f:
        names = sorted(set(json.load(f)['weight_map'].values()))
    return [cached_file(source, name) for name in names]


# Every part of a BLIP-2 model but its language model.
_NOT_LLM = ['vision_model', 'query_tokens', 'qformer', 'language_projection']


def _llm_in_half_precision(config) -> type:
    """The model class for ``config``, loading all but the LLM in float32.

    ``from_pretrained(dtype=...)`` casts every weight (a per-part dtype
    dict is deprecated in transformers 5 and applies one dtype to all);
    the modules a class lists in ``_keep_in_fp32_modules_strict`` are
    loaded in float32 instead, so a subclass that lists every part but the
    LLM loads the LLM alone in half precision, tensor by tensor.
    """
    base = AutoModelForImageTextToText._model_mapping[type(config)]
    return type(
        base.__name__,
        (base,),
        dict(
            _keep_in_fp32_modules_strict=_NOT_LLM, __module__=base.__module__
        ),
    )


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

    Raises:
        FileNotFoundError: If the source is a path that does not exist.
        OSError: If a model id is neither in the cache nor on the hub.
    """
    if isinstance(spec, dict):
        return build_word_tokenizer(**spec)
    argument = 'tokenizer' if spec is not None else 'pretrained'
    source = spec if spec is not None else pretrained
    if source is None:
        raise ValueError(
            'No tokenizer: give `tokenizer=` (a model id, a '
            'directory or a dict for a word-level tokenizer) '
            'or load the model with `pretrained=`.'
        )
    source = _resolve_source(source, argument)
    with _explain_hub_failure(source, argument):
        if subfolder:
            return AutoTokenizer.from_pretrained(source, subfolder=subfolder)
        return AutoTokenizer.from_pretrained(source)


def _resolve_source(name: str, argument: str) -> str:
    """What ``from_pretrained`` should get for ``name``: an existing
    directory (``~`` expanded) or a model id of the hub.

    transformers takes any name that is not a directory for a model id,
    so a mistyped path would fail with a message about the hub.

    Args:
        name (str): The config's value.
        argument (str): Its name in the config, for messages.

    Raises:
        FileNotFoundError: If ``name`` is a path (absolute, starting with
            ``./``, ``../`` or ``~``, or no valid model id, e.g. with two
            slashes) and no directory is there.
        NotADirectoryError: If ``name`` is a file.
    """
    path = osp.expanduser(name)
    if osp.isdir(path):
        return path
    if osp.exists(path):
        raise NotADirectoryError(
            f'{argument}={name!r} is a file ({osp.abspath(path)}); it takes '
            'a directory written by save_pretrained or a model id (an '
            'MMEngine checkpoint goes to load_from).'
        )
    if _is_path(name):
        raise FileNotFoundError(
            f'{argument}={name!r}: there is no directory '
            f'{osp.abspath(path)} (relative paths start at the current '
            f'directory, {os.getcwd()}). Give a directory written by '
            'save_pretrained or a model id such as '
            "'Salesforce/blip2-flan-t5-xl'."
        )
    return name


def _is_path(name: str) -> bool:
    if osp.isabs(name) or name.startswith(('~', './', '../')):
        return True
    if os.sep != '/' and name.startswith(('.' + os.sep, '..' + os.sep)):
        return True
    try:
        validate_repo_id(name)
    except HFValidationError:
        return True
    return False


@contextlib.contextmanager
def _explain_hub_failure(source: str, argument: str) -> Iterator[None]:
    """Re-raise transformers' ``OSError`` for a model id that cannot be
    fetched with what was tried and how to get the files.

    Args:
        source (str): What ``from_pretrained`` was given.
        argument (str): Its name in the config, for messages.
    """
    try:
        yield
    except OSError as err:
        if osp.isdir(source):
            raise  # a local directory: transformers names the missing file
        if hub_constants.is_offline_mode():
            hub = 'not asked: offline mode (HF_HUB_OFFLINE=1)'
        else:
            reason = str(err).splitlines()[0] if str(err) else repr(err)
            hub = f'failed: {reason}'
        raise OSError(
            f'{argument}={source!r} could not be loaded. Tried: a local '
            f'directory (none at {osp.abspath(source)}); the Hugging Face '
            f'cache ({hub_constants.HF_HUB_CACHE}: no complete copy); the '
            f'hub ({hub}). Fix: where there is network, download it with '
            f'`hf download {source} --local-dir DIR` (or from_pretrained '
            '+ save_pretrained the model and its tokenizers into DIR), '
            f'copy DIR here and set {argument}=DIR.'
        ) from err
