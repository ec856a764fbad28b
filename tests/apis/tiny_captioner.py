"""A tiny captioner whose captions depend on the clip, its checkpoint, and
test videos of awkward kinds, shared by the API and CLI tests."""

import json
import os.path as osp
import pickle
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from mmengine.config import Config

from tests.datasets.conftest import REAL_CLIP
from tests.engine.tiny_runs import tiny_run_cfg
from tests.helpers import REPO
from vidcap_mm.apis import init_captioner
from vidcap_mm.engine.hooks import TrainableWeightsHook
from vidcap_mm.engine.launch import build_runner
from vidcap_mm.models.word_tokenizer import build_word_tokenizer

CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')


def _not_words() -> list:
    """Token ids other than the tokenizer's words and end of caption."""
    model = Config.fromfile(CONFIG).model
    tokenizer = build_word_tokenizer(**model.tokenizer)
    vocab_size = model.blip2_config.text_config.vocab_size
    return sorted(
        set(tokenizer.all_special_ids) | set(range(len(tokenizer), vocab_size))
    )


# A random model writes special tokens or ids its small tokenizer lacks
# (empty captions): only words of the tokenizer may be written, each once
# (else most clips get one word repeated). The ViT stays frozen, so that
# the checkpoint lacks it and must load over the config's weights.
CFG_OPTIONS = {
    # 32-pixel frames, whatever size the demo config trains at: the tests
    # below are written for them.
    'model.blip2_config.vision_config.image_size': 32,
    'test_dataloader.dataset.pipeline.0.resize': (32, 32),
    'model.head.generation_cfg.suppress_tokens': _not_words(),
    'model.head.generation_cfg.no_repeat_ngram_size': 1,
    'model.backbone.frozen': True,
}


def cfg_option_args() -> list:
    """CFG_OPTIONS as a script's ``--cfg-options`` arguments."""
    return [
        f'{key}={value}'.replace(' ', '') for key, value in CFG_OPTIONS.items()
    ]


# name -> (frames, width, height); frame t of each differs from frame t + 1.
GENERATED = {
    'short': (2, 48, 48),  # fewer frames than the 4 the model samples
    'portrait': (9, 40, 96),
    'vidéo ñ 動画 clip': (20, 64, 48),  # saved under a folder with spaces
}
SPACED_FOLDER = 'folder with spaces ü'


def write_coloured_clip(path, num_frames, width, height, seed):
    """An mp4v clip of coloured blocks that change every frame."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10, (width, height)
    )
    assert writer.isOpened(), path
    for _ in range(num_frames):
        blocks = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        size = (width, height)
        writer.write(cv2.resize(blocks, size, interpolation=cv2.INTER_NEAREST))
    writer.release()
    return str(path)


def write_videos(folder):
    """The shipped real clip and the generated ones; returns name -> path."""
    paths = {'bikes_h264': REAL_CLIP}
    for seed, (name, (frames, width, height)) in enumerate(GENERATED.items()):
        where = folder / SPACED_FOLDER if ' ' in name else folder
        where.mkdir(exist_ok=True)
        paths[name] = write_coloured_clip(
            where / f'{name}.mp4', frames, width, height, seed
        )
    return paths


def write_checkpoint(path):
    """A checkpoint as training writes it (trainable part only): the tiny
    model with its Q-Former and projection redrawn larger, so that the
    captions depend on the clip (at the config's initial scale, every clip
    gets the same caption). Its ViT is frozen, so the checkpoint lacks it
    and must load over the config's weights."""
    checkpoint = redrawn_checkpoint(path, CFG_OPTIONS)
    assert checkpoint['meta']['saved_weights'] == 'trainable'
    assert not any(k.startswith('backbone.') for k in checkpoint['state_dict'])
    return str(path)


def redrawn_checkpoint(path, cfg_options=None) -> dict:
    """The demo config's model (with ``cfg_options``) with its Q-Former and
    projection redrawn larger, saved to ``path`` as training saves it;
    returns the checkpoint."""
    model = init_captioner(CONFIG, device='cpu', cfg_options=cfg_options)
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith('neck.') and param.dim() >= 2:
                drawn = torch.randn(param.shape, generator=generator)
                param.copy_(drawn * 0.3)
    checkpoint = dict(meta={}, state_dict=model.state_dict())
    TrainableWeightsHook().before_save_checkpoint(
        SimpleNamespace(model=model), checkpoint
    )
    torch.save(checkpoint, path)
    return checkpoint


def tools_test_predictions(work_dir, paths, checkpoint, batch_size=4):
    """What ``tools/test.py CONFIG CHECKPOINT`` predicts for ``paths``
    (name -> file): its Runner on a test set of those videos.

    Returns:
        dict: name -> data sample as a dict (what MMEngine's evaluator
        hands its metrics).
    """
    ann_file = work_dir / 'test.json'
    records = [
        dict(video=path, caption='unused', image_id=name)
        for name, path in paths.items()
    ]
    ann_file.write_text(json.dumps(records))
    dump = work_dir / 'predictions.pkl'
    cfg = tiny_run_cfg(work_dir, str(work_dir), **CFG_OPTIONS)
    cfg.test_dataloader.dataset.ann_file = str(ann_file)
    cfg.test_dataloader.dataset.data_prefix.video = ''
    cfg.test_dataloader.batch_size = batch_size
    cfg.test_evaluator = dict(type='DumpResults', out_file_path=str(dump))
    cfg.load_from = checkpoint
    build_runner(cfg).test()
    with open(dump, 'rb') as file:
        samples = pickle.load(file)
    return {s['video_id']: s for s in samples}
