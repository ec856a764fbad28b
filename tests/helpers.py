"""Test helpers: tiny BLIP-2 captioners built from the repo's configs."""

import copy
import importlib.util
import os.path as osp

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config

import vidcap_mm  # noqa: F401  (registers everything)
from vidcap_mm.models.stand_ins import (
    TINY_CONFIGS,
    random_weights_model,
    suppress_non_words,
)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The kinds of tiny model the fixture ``llm_kind`` runs (InstructBLIP's
# Llama covers the Llama LLM; 'vicuna', BLIP-2 with Llama, is the seed's
# Vicuna model, tested where it differs).
LLM_KINDS = ('opt', 't5', 'instructblip')
# A small vocabulary so that tokens ids are easy to read in tests.
WORDS = (
    'a red green blue circle square on background short description '
    'of the video'
).split()


def load_script(path: str):
    """A script of tools/ or demo/ imported as a module (its functions and
    ``main``, in this process); each call runs it afresh."""
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_config_path(kind: str) -> str:
    """``configs/_base_/models/<file>`` of a kind of
    :data:`~vidcap_mm.models.stand_ins.TINY_CONFIGS`."""
    return osp.join(REPO, 'configs', '_base_', 'models', TINY_CONFIGS[kind])


def tiny_model_cfg(kind: str) -> dict:
    """The model config of the tiny config of ``kind`` (``'opt'``,
    ``'t5'``, ``'vicuna'`` or ``'instructblip'``) with the test
    vocabulary."""
    cfg = Config.fromfile(tiny_config_path(kind)).model.to_dict()
    cfg['tokenizer']['words'] = WORDS
    if 'qformer_tokenizer' in cfg:
        cfg['qformer_tokenizer']['words'] = WORDS
    return copy.deepcopy(cfg)


def build_captioner(kind: str, seed: int = 0, **overrides):
    cfg = tiny_model_cfg(kind)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def caption_samples(captions):
    samples = []
    for caption in captions:
        sample = ActionDataSample()
        sample.gt_caption = caption
        samples.append(sample)
    return samples


def scst_captioner(kind='opt', parts=None, **objective):
    """A tiny captioner whose SCST candidates are words of its tokenizer
    (a random model would mostly write ids the tiny tokenizer lacks, or
    special tokens, which decode to nothing)."""
    cfg = dict(type='SCSTObjective', num_candidates=2)
    cfg.update(objective)
    captioner = build_captioner(kind, objective=cfg, **(parts or {}))
    suppress_non_words(captioner, captioner.objective.generation_cfg)
    captioner.objective.generation_cfg.update(max_new_tokens=5)
    return captioner


def samples_for(video_ids, captions):
    samples = caption_samples(captions)
    for sample, video_id in zip(samples, video_ids):
        sample.set_metainfo(dict(video_id=video_id))
    return samples


TINY_IMAGE_SIZE = 32


def tiny_stand_in(cfg: Config, data_root: str, batch_size: int = 2) -> None:
    """Make a recipe config run on CPU in seconds, in place.

    Only what needs real weights or real data changes; everything else of
    the recipe (prompt, LoRA, dtypes, objective, generation settings, frame
    count, sampling, schedule types, hooks) is kept.

    - ``model.pretrained`` is replaced by the tiny random model of the same
      kind (:data:`~vidcap_mm.models.stand_ins.TINY_CONFIGS`: LLM family,
      BLIP-2 or InstructBLIP; its ``blip2_config`` and offline tokenizers
      over the synthetic clips' words). Configs already on
      ``blip2_config`` keep theirs.
    - A ``load_from`` that is no other run's checkpoint (outside
      ``work_dirs/``: a converted real checkpoint, such as the seed's
      LAVIS weights) is dropped; it fits only the real model.
    - Every dataloader (each part of a mix) reads ``data_root`` (the LAVIS
      layout of ``generate_synthetic_clips``): ``annotations/<split>.json``
      and ``videos/``; frames are decoded and resized to the tiny ViT's 32
      pixels instead of 224. ``batch_size`` clips, no workers.
    - The caption metric scores BLEU and CIDEr with the Python PTB
      tokenizer (METEOR's Java start-up would take most of the time); the
      checkpoint choice (CIDEr + BLEU-4) still works, and other metrics
      (the demo's share of right captions) are kept.
    - Training is one epoch or one iteration, validated after it.

    Args:
        cfg (Config): A config of ``configs/``, changed in place.
        data_root (str): Synthetic clips in the LAVIS layout.
        batch_size (int): Clips per batch. Defaults to 2.

    Raises:
        ValueError: If ``pretrained`` names no known LLM family.
    """
    if cfg.model.get('pretrained') is not None:
        try:
            cfg.model = random_weights_model(cfg.model.to_dict(), 'tiny')
        except ValueError as err:
            raise ValueError(f'{cfg.filename}: {err}') from None
    load_from = cfg.get('load_from')
    if load_from and not load_from.startswith('work_dirs/'):
        cfg.load_from = None
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        parts = [loader.dataset]
        if loader.dataset.get('type') == 'ConcatDataset':  # a mix
            parts = loader.dataset.datasets
        for dataset in parts:
            ann_split = dataset.get('split') or split
            dataset.ann_file = osp.join(
                data_root, 'annotations', f'{ann_split}.json'
            )
            dataset.data_prefix = dict(video=osp.join(data_root, 'videos'))
            for step in dataset.pipeline:
                for key in ('resize', 'scale'):
                    if key in step:
                        step[key] = (TINY_IMAGE_SIZE, TINY_IMAGE_SIZE)
        loader.batch_size = batch_size
        loader.num_workers = 0
        loader.persistent_workers = False
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        if evaluator is None:
            continue
        metrics = evaluator if isinstance(evaluator, list) else [evaluator]
        cfg[key] = [
            dict(
                type='CaptionMetric',
                scorers=('BLEU', 'CIDEr'),
                tokenizer='python',
            )
            if metric['type'] == 'CaptionMetric'
            else metric
            for metric in metrics
        ]
    train_cfg = cfg.get('train_cfg')
    if train_cfg is not None:
        length = 'max_iters' if 'max_iters' in train_cfg else 'max_epochs'
        train_cfg[length] = 1
        train_cfg.val_interval = 1
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
