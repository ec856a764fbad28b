"""Export a trained captioner as a transformers model directory.

The captioner's backbone, neck and head wrap the sub-modules of ONE
transformers BLIP-2 / InstructBLIP model, so exporting puts the trained
modules back into a ``Blip2ForConditionalGeneration`` (or
``InstructBlipForConditionalGeneration``) of the same config, with LoRA
adapters merged into the LLM's weights, and writes it with
``save_pretrained`` beside its tokenizers, its image processor and a config
of ours that loads the directory with no checkpoint.

transformers alone sees one image: with one frame its ``generate`` on the
directory gives our captions, while the frame concatenation of several
frames (and the other fusions) is our neck's, which only our config runs.
"""

import copy
import os
import os.path as osp
from typing import List, Optional, Union

import torch
from mmengine.config import Config
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    BlipImageProcessor,
    PretrainedConfig,
    PreTrainedModel,
)

from vidcap_mm.models.blip2_loading import load_tokenizer
from vidcap_mm.models.data_preprocessor import CLIP_MEAN, CLIP_STD

from .inference import EXPORTED_CONFIG, init_captioner

#: The file of our config in an exported directory (``init_captioner``
#: finds it when given the directory).
CONFIG_FILE = EXPORTED_CONFIG
#: What our config's ``pretrained=`` holds: MMEngine replaces it with the
#: directory of the config file when it reads it, so the export can move.
THIS_DIRECTORY = '{{ fileDirname }}'


def merge_lora(captioner: torch.nn.Module) -> bool:
    """Merge the head's LoRA adapters into its LLM's weights, in place.

    Args:
        captioner (torch.nn.Module): A ``Blip2VideoCaptioner``.

    Returns:
        bool: Whether there were adapters to merge.
    """
    head = captioner.head
    if not head.uses_lora:
        return False
    head.language_model = head.language_model.merge_and_unload()
    head.uses_lora = False
    return True


def source_config(model_cfg: dict) -> PretrainedConfig:
    """The transformers config the captioner's model was built from: that
    of ``pretrained=`` or one of ``blip2_config``, as ``load_blip2`` reads
    them."""
    if model_cfg.get('pretrained') is not None:
        return AutoConfig.from_pretrained(
            osp.expanduser(model_cfg['pretrained'])
        )
    blip2_config = copy.deepcopy(dict(model_cfg['blip2_config']))
    model_type = blip2_config.pop('model_type', 'blip-2')
    return AutoConfig.for_model(model_type, **blip2_config)


def assemble_transformers_model(
    captioner: torch.nn.Module, config: PretrainedConfig
) -> PreTrainedModel:
    """The transformers model whose parts are the captioner's modules (the
    same objects, not copies): ViT, query tokens, Q-Former, projection and
    LLM (merge LoRA first: :func:`merge_lora`).

    Args:
        captioner (torch.nn.Module): A ``Blip2VideoCaptioner``.
        config (PretrainedConfig): Its model's config
            (:func:`source_config`).

    Returns:
        PreTrainedModel: The model; its ``config.text_config`` is the LLM's.

    Raises:
        ValueError: If the LLM still holds LoRA adapters.
    """
    head, neck = captioner.head, captioner.neck
    if head.uses_lora:
        raise ValueError(
            'The head still has LoRA adapters: merge them first '
            '(merge_lora).'
        )
    language_model = head.language_model
    config = copy.deepcopy(config)
    config.text_config = language_model.config
    # On the meta device: only the container is built, the parts replace
    # its (empty) modules.
    with torch.device('meta'):
        model = AutoModelForImageTextToText.from_config(config)
    model.vision_model = captioner.backbone.vision_model
    model.query_tokens = neck.query_tokens
    model.qformer = neck.qformer
    model.language_projection = neck.language_projection
    model.language_model = language_model
    left_on_meta = [k for k, v in model.state_dict().items() if v.is_meta]
    if left_on_meta:
        raise RuntimeError(
            f'{type(model).__name__} has parts the captioner does not: '
            f'{left_on_meta[:5]}.'
        )
    _untie_where_untied(model)
    return model


def _untie_where_untied(model: PreTrainedModel) -> None:
    """Keep an LLM output embedding of its own (Flan-T5's, loaded untied)
    in what ``save_pretrained`` writes: the container built from the config
    lists it as tied, which would leave it out."""
    tied = getattr(model, 'all_tied_weights_keys', None) or {}
    tensors = dict(model.named_parameters(remove_duplicate=False))
    for target, source in list(tied.items()):
        if target in tensors and source in tensors:
            if tensors[target] is not tensors[source]:
                tied.pop(target)
                model.config.text_config.tie_word_embeddings = False


def image_processor_for(cfg: Config, image_size: int) -> BlipImageProcessor:
    """BLIP-2's image processor with the model's image size and the data
    preprocessor's mean and std (ours are on 0-255 values)."""
    preprocessor = cfg.model.get('data_preprocessor') or {}
    mean = preprocessor.get('mean', CLIP_MEAN)
    std = preprocessor.get('std', CLIP_STD)
    return BlipImageProcessor(
        size=dict(height=image_size, width=image_size),
        image_mean=[m / 255 for m in mean],
        image_std=[s / 255 for s in std],
    )


def exported_config(cfg: Config) -> Config:
    """Our config for the exported directory: ``pretrained=`` the
    directory of the config file, the tokenizers from it, no LoRA (merged),
    no ``load_from`` nor resume, no contrastive loss (its projection is no
    part of a transformers model and captioning does not use it)."""
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    model.pretrained = THIS_DIRECTORY
    for key in ('blip2_config', 'tokenizer', 'qformer_tokenizer'):
        model[key] = None
    model.pop('contrastive_loss', None)
    model.head.pop('lora', None)
    cfg.load_from = None
    cfg.resume = False
    return cfg


def export_to_transformers(
    config: Union[str, Config],
    checkpoint: Optional[str],
    out_dir: str,
    cfg_options: Optional[dict] = None,
) -> List[str]:
    """Write a trained captioner as a transformers model directory.

    ``out_dir`` gets the model (``save_pretrained``, LoRA merged), the
    LLM's tokenizer, InstructBLIP's Q-Former tokenizer in
    ``qformer_tokenizer/``, BLIP-2's image processor
    (``preprocessor_config.json``, the config's image size, mean and std)
    and :data:`CONFIG_FILE`, our config with ``pretrained=`` that
    directory: ``init_captioner(out_dir + '/vidcap_config.py')`` loads it
    with no checkpoint and no training work directory.

    A ``Blip2Processor`` (image processor and tokenizer together) is not
    written: it adds an ``<image>`` token to a tokenizer without one, which
    would change the tokenizer our config loads. Give transformers the
    image placeholders as ``input_ids`` (``config.image_token_index``,
    ``config.num_query_tokens`` of them) before the prompt's ids.

    Args:
        config (str | Config): The training config.
        checkpoint (str, optional): Our checkpoint (loaded strictly over
            the config's weights, as ``tools/test.py`` does); None exports
            the config's weights.
        out_dir (str): The directory to write (made if missing).
        cfg_options (dict, optional): Config overrides.

    Returns:
        list[str]: The files written, relative to ``out_dir``.

    Raises:
        CheckpointMismatchError: If the checkpoint does not fit the config.
    """
    captioner = init_captioner(
        config, checkpoint, device='cpu', cfg_options=cfg_options
    )
    cfg = captioner.cfg
    merge_lora(captioner)
    model = assemble_transformers_model(captioner, source_config(cfg.model))
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir)
    captioner.head.tokenizer.save_pretrained(out_dir)
    if model.config.model_type == 'instructblip':
        load_tokenizer(
            cfg.model.get('qformer_tokenizer'),
            cfg.model.get('pretrained'),
            subfolder='qformer_tokenizer',
        ).save_pretrained(osp.join(out_dir, 'qformer_tokenizer'))
    image_processor_for(
        cfg, model.config.vision_config.image_size
    ).save_pretrained(out_dir)
    exported_config(cfg).dump(osp.join(out_dir, CONFIG_FILE))
    return sorted(
        osp.relpath(osp.join(root, name), out_dir)
        for root, _, names in os.walk(out_dir)
        for name in names
    )
