"""Caption one's own videos with a trained captioner: build it from a config
and a checkpoint, then caption files, folders or frames in memory through
the config's test pipeline."""

import contextlib
import copy
import functools
import os
import os.path as osp
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import (
    Callable,
    Container,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

from vidcap_mm.datasets import VideoReadError
from vidcap_mm.models import load_trainable_checkpoint

from .caption_loader import (
    VideoInputDataset,
    caption_loader,
    sampled_frames_pipeline,
    video_key,
)
from .shots import Shots
from .video_inputs import (
    VideoInput,
    VideoLike,
    collect_videos,
    iter_video_files,
)


@dataclass
class CaptionResult:
    """The caption of one video, or why it could not be read.

    Attributes:
        name (str): The video's name: a file's stem, its path inside the
            folder without the ending for a folder's files, the key or
            ``array_<i>`` for frames in memory.
        path (str, optional): The video file (None for frames in memory).
        caption (str, optional): The predicted caption (None on failure).
        data_sample (ActionDataSample, optional): The model's output, with
            ``pred_caption`` and the metainfo of the test pipeline
            (``video_id``, ``frame_inds``...).
        frames (torch.Tensor, optional): The sampled frames as the model
            saw them before normalisation, ``(T, 3, H, W)`` uint8 RGB (what
            ``CaptionVisualizer.add_datasample`` draws).
        error (str, optional): Why the video could not be read.
        segments (list[dict], optional): Captioned in segments: each
            window's ``start`` and ``end`` (seconds), ``caption`` and
            ``frames`` (the indices the model saw); ``caption``,
            ``data_sample`` and ``frames`` above are then None.
        duration (float, optional): In segments: the video's length in
            seconds.
    """

    name: str
    path: Optional[str] = None
    caption: Optional[str] = None
    data_sample: Optional[ActionDataSample] = None
    frames: Optional[torch.Tensor] = None
    error: Optional[str] = None
    segments: Optional[List[dict]] = None
    duration: Optional[float] = None


def init_captioner(
    config: Union[str, Path, Config],
    checkpoint: Optional[str] = None,
    device: Union[None, str, torch.device] = None,
    cfg_options: Optional[dict] = None,
) -> torch.nn.Module:
    """Build a captioner from a config and load a checkpoint the way
    ``tools/test.py`` does.

    The config's ``randomness.seed`` is set before building, as MMEngine's
    Runner does, so that a config with random weights (the demo's untrained
    model) gives the same model here and in ``tools/test.py``. The
    checkpoint is put over the weights the config builds by
    :func:`~vidcap_mm.models.load_trainable_checkpoint`, strictly unless
    the config's ``default_hooks.trainable_weights`` says ``strict=False``.

    Args:
        config (str | Path | Config): Config file or object (not modified),
            or a folder that
            ``tools/model_converters/export_to_transformers.py`` wrote (its
            ``vidcap_config.py``).
        checkpoint (str, optional): Checkpoint file; None keeps the weights
            the config builds (``pretrained=`` or random).
        device (str | torch.device, optional): Where the model runs. None:
            ``'cuda:0'`` when CUDA is available, else ``'cpu'``.
        cfg_options (dict, optional): Config overrides, as ``--cfg-options``
            gives them (``{'model.head.generation_cfg.num_beams': 1}``).

    Returns:
        torch.nn.Module: The captioner in eval mode, with the merged config
        as ``model.cfg``.

    Raises:
        CheckpointMismatchError: If the checkpoint does not fit the model.
    """
    if isinstance(config, (str, Path)):
        path = str(config)
        if osp.isdir(path):
            path = _exported_config(path)
        cfg = Config.fromfile(path)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(
            'init_captioner: config must be a file name or a Config, got '
            f'{type(config).__name__}.'
        )
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    randomness = cfg.get('randomness') or {}
    if randomness.get('seed') is not None:
        set_random_seed(**randomness)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        hook = (cfg.get('default_hooks') or {}).get('trainable_weights') or {}
        load_trainable_checkpoint(
            model,
            checkpoint,
            strict=hook.get('strict', True),
            config=cfg.filename,
        )
    if device is None:
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


# What export_to_transformers.py writes beside the transformers model.
EXPORTED_CONFIG = 'vidcap_config.py'


def _exported_config(folder: str) -> str:
    path = osp.join(folder, EXPORTED_CONFIG)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{folder} is a folder without {EXPORTED_CONFIG}: give a config '
            'file, or a folder that tools/model_converters/'
            'export_to_transformers.py wrote.'
        )
    return path


def iter_captions(
    model: torch.nn.Module,
    videos: Union[VideoLike, VideoInput, Mapping, Sequence],
    batch_size: int = 1,
    skip_unreadable: bool = False,
    num_workers: int = 0,
    skip: Optional[Container[str]] = None,
    shard: Tuple[int, int] = (0, 1),
    segments: Union[None, Tuple[float, float], Shots] = None,
    num_frames: Optional[int] = None,
    generation_cfg: Optional[dict] = None,
) -> Iterator[CaptionResult]:
    """Caption ``videos`` batch by batch, yielding one result per video in
    order; nothing is kept once yielded (for many videos).

    A folder or list file is read as it goes (never listed whole), and the
    test pipeline runs in ``num_workers`` DataLoader workers
    (:mod:`~.caption_loader`) while the model captions.

    Args:
        model (torch.nn.Module): A captioner from :func:`init_captioner`
            (its ``cfg`` gives the test pipeline).
        videos: A video file, folder or list file
            (:func:`~.video_inputs.iter_video_files`), or what
            :func:`collect_videos` takes.
        batch_size (int): Videos per forward pass. Defaults to 1.
        skip_unreadable (bool): Give a result with ``error`` for a video
            that cannot be read instead of raising. Defaults to False.
        num_workers (int): Processes decoding ahead. Defaults to 0 (in
            this process).
        skip (Container[str], optional): Video paths (names for frames in
            memory) to leave out, e.g. those already captioned.
        shard (tuple[int, int]): ``(rank, world_size)``: caption only this
            process's share (batches ``rank``, ``rank + world_size``, ...).
            Defaults to ``(0, 1)``.
        segments (tuple[float, float] | Shots, optional):
            ``(seconds, stride)``: caption each video in timed windows
            (``result.segments``); a :class:`~.shots.Shots`: one window per
            shot (PySceneDetect's cuts). Each window is sampled the model's
            way within it. Defaults to None.
        num_frames (int, optional): Frames to sample from each video (or
            window) instead of the test pipeline's count. Defaults to None.
        generation_cfg (dict, optional): Entries of the head's
            ``generation_cfg`` to replace for this call
            (``{'num_beams': 1, 'max_new_tokens': 20}``). Defaults to None.

    Yields:
        CaptionResult: Each video's caption, data sample and frames.

    Raises:
        VideoReadError: If a video cannot be read (``skip_unreadable``
            False), naming the file.
        FileNotFoundError: If a path does not exist, or a folder holds no
            video file.
    """
    test_pipeline = model_test_pipeline(getattr(model, 'cfg', None))
    if num_frames is not None:
        test_pipeline = sampled_frames_pipeline(test_pipeline, num_frames)
    dataset = VideoInputDataset(
        _video_source(videos),
        test_pipeline,
        batch_size,
        skip=skip,
        default_scope=model.cfg.get('default_scope', 'mmaction'),
        shard=shard,
        segments=segments,
    )
    for batch in caption_loader(dataset, num_workers):
        results = [CaptionResult(v.item.name, v.item.path) for v in batch]
        packed, segmented = [], []
        for result, loaded in zip(results, batch):
            if loaded.error is not None:
                if not skip_unreadable:
                    raise VideoReadError(video_key(loaded.item), loaded.error)
                result.error = loaded.error
            elif loaded.windows is None:
                packed.append((result, loaded.data))
            else:
                parts = [CaptionResult(result.name) for _ in loaded.windows]
                packed.extend(zip(parts, loaded.data))
                segmented.append((result, loaded, parts))
        _predict(model, packed, generation_cfg)
        for result, loaded, parts in segmented:
            result.duration = loaded.duration
            result.segments = [
                dict(
                    start=start,
                    end=end,
                    caption=part.caption,
                    frames=[int(i) for i in part.data_sample.frame_inds],
                )
                for (start, end), part in zip(loaded.windows, parts)
            ]
        yield from results


def _video_source(videos) -> Callable[[], Iterable[VideoInput]]:
    """What the loader's workers walk: a path read as it goes (checked
    here first, so that a missing path or an empty folder is said before
    any worker starts), else the videos collected once."""
    if isinstance(videos, (str, os.PathLike)):
        path = os.fspath(videos)
        first = next(iter_video_files(path), None)
        if first is None and osp.isdir(path):
            collect_videos(path)  # raises, saying what the folder holds
        return functools.partial(iter_video_files, path)
    items = collect_videos(videos)
    return functools.partial(iter, items)


def caption_videos(
    model: torch.nn.Module,
    videos: Union[VideoLike, VideoInput, Mapping, Sequence],
    batch_size: int = 1,
    skip_unreadable: bool = False,
) -> List[CaptionResult]:
    """Caption videos with the config's test pipeline (the model's own frame
    sampling and size), like ``inference_recognizer`` for recognizers.

    Example::

        model = init_captioner('configs/demo/tiny_opt_synthetic.py', ckpt)
        for result in caption_videos(model, 'my_videos/', batch_size=8):
            print(result.name, result.caption)

    Args:
        model (torch.nn.Module): A captioner from :func:`init_captioner`.
        videos: A video file, a folder, a ``(T, H, W, 3)`` uint8 RGB array
            of any length and size, a mapping of names to those, or a list
            (see :func:`collect_videos`).
        batch_size (int): Videos per forward pass. Defaults to 1.
        skip_unreadable (bool): Give a result with ``error`` for a video
            that cannot be read instead of raising. Defaults to False.

    Returns:
        list[CaptionResult]: One per video, in order, with the frames the
        model saw (use :func:`iter_captions` to keep none of them).
    """
    return list(iter_captions(model, videos, batch_size, skip_unreadable))


@contextlib.contextmanager
def generation_settings(model: torch.nn.Module, overrides: Optional[dict]):
    """Within the block, ``model.head.generation_cfg`` has ``overrides``
    in place of its entries; they are put back after it, error or not."""
    if not overrides:
        yield
        return
    head = model.head
    kept = head.generation_cfg
    head.generation_cfg = {**kept, **overrides}
    try:
        yield
    finally:
        head.generation_cfg = kept


def model_test_pipeline(cfg: Optional[Config]) -> list:
    """The test pipeline of a captioner's config (``model.cfg``): what
    ``tools/test.py`` runs: the test dataset's pipeline (else the
    config's ``test_pipeline``)."""
    if cfg is None:
        raise ValueError(
            'The model has no config (model.cfg): build it with '
            'init_captioner.'
        )
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise ValueError(
            f'Config {cfg.filename}: no test pipeline (neither '
            'test_dataloader.dataset.pipeline nor test_pipeline).'
        )
    return pipeline


def _predict(
    model: torch.nn.Module,
    packed: List[tuple],
    generation_cfg: Optional[dict] = None,
) -> None:
    """Fill the results of ``packed`` from one test step per run of clips
    of the same shape (a config may keep each video's size)."""
    for _, run in groupby(packed, key=lambda p: p[1]['inputs'].shape):
        run = list(run)
        batch = pseudo_collate([p[1] for p in run])
        with torch.no_grad(), generation_settings(model, generation_cfg):
            outputs = model.test_step(batch)
        for (result, data), output in zip(run, outputs):
            result.caption = output.pred_caption
            result.data_sample = output
            result.frames = data['inputs']
