"""Test helpers: tiny BLIP-2 captioners built from the repo's configs."""

import copy
import os.path as osp

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config

import vidcap_mm  # noqa: F401  (registers everything)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
LLM_KINDS = ('opt', 't5', 'vicuna')
# A small vocabulary so that tokens ids are easy to read in tests.
WORDS = (
    'a red green blue circle square on background short description '
    'of the video'
).split()


def tiny_model_cfg(kind: str) -> dict:
    """The model config of ``configs/_base_/models/tiny_blip2_<kind>.py``
    with the test vocabulary."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', f'tiny_blip2_{kind}.py')
    ).model.to_dict()
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
    head = captioner.head
    vocab = head.language_model.get_input_embeddings().num_embeddings
    special = set(head.tokenizer.all_special_ids) - {head.end_token_id}
    unknown = range(len(head.tokenizer), vocab)
    captioner.objective.generation_cfg.update(
        max_new_tokens=5, suppress_tokens=sorted(special.union(unknown))
    )
    return captioner


def samples_for(video_ids, captions):
    samples = caption_samples(captions)
    for sample, video_id in zip(samples, video_ids):
        sample.set_metainfo(dict(video_id=video_id))
    return samples
