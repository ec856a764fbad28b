"""A disk cache of the frozen ViT's frame tokens, one file per clip.

The frozen ViT is most of a step's FLOPs and, for a deterministic
pipeline, gives a clip the same tokens every epoch. The cache runs it once
per clip and reads the tokens back afterwards.

What a key holds, and why:

- the video: its path as the dataset gives it (``filename``), with the
  file's size and modification time, so a replaced file misses;
- the frame indices (``frame_inds``) and the frame size of the batch;
- the pipeline: the ``repr`` of each transform, which prints its
  arguments (a changed resize misses). A pipeline with a random spatial or
  colour transform is refused (see :func:`pipeline_fingerprint`): its
  pixels differ every epoch while the key would not;
- the ViT: its config, its parameters' names, shapes and dtypes, a float64
  sum and sum of squares of every parameter and buffer (a cheap checksum:
  another checkpoint, even of the same architecture, misses), the
  backbone's ``dtype`` and ``interpolate_pos_encoding``, and the autocast
  dtype around it when the backbone follows autocast.

Tokens are stored exactly as the backbone returns them, in the ViT's own
output dtype (float16 in the recipes, whose ViT has ``dtype='float16'``;
float32 for a float32 ViT), so a cached run computes on the same bits as an
uncached one. Clips that miss are encoded as a batch of their own; their
tokens equal those of the full batch up to the kernels' dependence on the
batch size.

Files are written to a temporary name in the same directory and renamed
into place (``os.replace`` is atomic), so DDP ranks, runs sharing the
folder and two writers of one key never leave a partial file under a
key's name: the last complete write wins, and both hold the same tokens.
Reads happen in the dataloader workers (:class:`ReadCachedTokens`, which
``FeatureCacheHook`` appends to the loop's pipeline), beside the decoding,
so that the training process does not wait for the disk: one
``torch.load`` of 5.8 MB per 8-frame ViT-g clip took 1.2 to 5 ms on a busy
2-core machine, 75 to 320 ms for a batch of 64, against the 557 ms the
ViT takes for that batch on an H200. The tokens travel in the clip's data
sample; the model checks the key they were read under and reads itself
what a worker could not (no file yet, or a key the worker could not know,
such as the autocast of a backbone that follows it). There is
no ``fsync`` per clip (it would cost more than the ViT); a file
cut short by a crash, one that does not load, or one whose key or shape
differs from the expected is recomputed, rewritten and counted
(``unreadable``), with a warning naming it. Damage inside the tensor bytes
is not detected (torch's format has no checksum that ``torch.load``
verifies).

The files of one pipeline and one ViT share a folder named by both
fingerprints (``fingerprint.json`` there says which), so a stale cache is
one folder to delete.
"""

import hashlib
import json
import logging
import os
import os.path as osp
import tempfile
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmengine.logging import print_log

from .precision import autocast_dtype

# Substrings of the class names of transforms that draw random pixels:
# mmaction's RandomCrop, RandomResizedCrop, MultiScaleCrop, Flip,
# ColorJitter, RandomErasing, ImgAug, RandAugment-style and torchvision /
# pytorchvideo wrappers, and MixUp / CutMix style blending.
RANDOM_TRANSFORM_MARKERS = (
    'Random',
    'Flip',
    'Jitter',
    'MultiScaleCrop',
    'Erasing',
    'Aug',
    'Wrapper',
    'Mix',
    'Blur',
    'Noise',
)


class FeatureCacheError(ValueError):
    """The cache cannot serve this pipeline or this backbone."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def pipeline_fingerprint(pipeline: Sequence, force: bool = False) -> str:
    """A hash of the transforms that decide the clip's pixels.

    Args:
        pipeline (Sequence): Transforms, built or as config dicts (built
            here from mmaction's registry), or a ``Compose``.
        force (bool): Serve a pipeline with random transforms anyway: each
            clip then keeps the pixels of the epoch that first encoded it.

    Returns:
        str: A hex digest of the transforms' ``repr`` lines.

    Raises:
        FeatureCacheError: If a transform is random (unless ``force``) or
            its ``repr`` does not print its arguments.
    """
    lines = []
    for index, transform in enumerate(_built(pipeline)):
        if isinstance(transform, ReadCachedTokens):
            continue  # it reads tokens, and leaves the pixels alone
        name = type(transform).__name__
        if not force and any(m in name for m in RANDOM_TRANSFORM_MARKERS):
            raise FeatureCacheError(
                f'Feature cache: pipeline transform {index} ({name}) draws '
                "random pixels, so a clip would get last epoch's tokens "
                "for this epoch's frames. The cache is for deterministic "
                'pipelines: serve only the evaluation loops '
                "(FeatureCacheHook(loops=('val', 'test'))), remove the "
                'transform, or set force=True to keep the first draw.'
            )
        text = repr(transform)
        if ' object at 0x' in text:
            raise FeatureCacheError(
                f'Feature cache: pipeline transform {index} ({name}) has '
                'no __repr__ printing its arguments, so a change of them '
                'could not change the key; give it one.'
            )
        lines.append(text)
    return _sha256('\n'.join(lines))


def vit_fingerprint(backbone) -> str:
    """A hash of what decides a ``Blip2VisionBackbone``'s output besides
    its input: config, weights (checksum), dtype and options.

    Raises:
        FeatureCacheError: If the ViT trains (its tokens change every
            step).
    """
    vit = backbone.vision_model
    # A final norm that trains runs after the cache: it stores the tokens
    # before it, and the norm's weights are not part of the key.
    norm_after = getattr(backbone, 'train_final_norm', False)

    def keyed(name: str) -> bool:
        return not (norm_after and name.startswith('post_layernorm.'))

    tensors = [
        (n, t)
        for n, t in list(vit.named_parameters()) + list(vit.named_buffers())
        if keyed(n)
    ]
    training = [
        n for n, p in vit.named_parameters() if p.requires_grad and keyed(n)
    ]
    if training:
        raise FeatureCacheError(
            f'Feature cache: the ViT trains ({training[0]} has a gradient), '
            'so its tokens change every step; cache a frozen backbone '
            '(frozen=True).'
        )
    with torch.no_grad():
        sums = torch.stack(
            [
                torch.stack([t.double().sum(), t.double().square().sum()])
                for _, t in tensors
            ]
        ).cpu()
    layout = [(n, list(t.shape), str(t.dtype)) for n, t in tensors]
    options = dict(
        config=vit.config.to_dict(),
        layout=layout,
        checksum=sums.numpy().tobytes().hex(),
        dtype=str(backbone.compute_dtype),
        interpolate_pos_encoding=backbone.interpolate_pos_encoding,
    )
    if norm_after:
        options['before_final_norm'] = True
    return _sha256(json.dumps(options, sort_keys=True, default=str))


class FrameFeatureCache:
    """The ViT tokens of a backbone's clips under one pipeline, on disk.

    A ``Blip2VisionBackbone`` with ``feature_cache`` set encodes through
    :meth:`encode`; :class:`~vidcap_mm.engine.hooks.FeatureCacheHook` sets
    it for each loop of a run from the loop's pipeline.

    Args:
        cache_dir (str): The cache's root folder (made when missing).
        backbone (Blip2VisionBackbone): The frozen backbone served; its
            weights are fingerprinted here, once.
        pipeline (Sequence): The transforms that made the clips (see
            :func:`pipeline_fingerprint`).
        force (bool): Serve a pipeline with random transforms.

    Attributes:
        hits (int): Clips read from the cache (by a loader worker or here).
        prefetched (int): Of those, clips a loader worker read.
        computed (int): Clips the ViT encoded (and that were written).
        unreadable (int): Of those, clips whose file existed but was
            damaged.
        uncacheable (int): Clips without ``filename`` or ``frame_inds`` in
            their metainfo, encoded and not written.
    """

    def __init__(
        self, cache_dir: str, backbone, pipeline: Sequence, force=False
    ) -> None:
        transforms = _built(pipeline)
        pipeline_key = pipeline_fingerprint(transforms, force)
        vit_key = vit_fingerprint(backbone)
        self.compute_dtype = backbone.compute_dtype
        config = backbone.vision_model.config
        self.patch_size = config.patch_size
        self.hidden_size = config.hidden_size
        self.folder = osp.join(
            osp.expanduser(cache_dir), _sha256(pipeline_key + vit_key)[:16]
        )
        self.prefix = dict(pipeline=pipeline_key, vit=vit_key)
        os.makedirs(self.folder, exist_ok=True)
        record = osp.join(self.folder, 'fingerprint.json')
        if not osp.exists(record):
            description = dict(
                self.prefix,
                transforms=[repr(t) for t in transforms],
                vit_config=config.to_dict(),
            )
            _write_atomically(
                record,
                lambda f: f.write(
                    json.dumps(description, indent=1, default=str).encode()
                ),
            )
        self.reset_counts()

    def reset_counts(self) -> None:
        self.hits = self.computed = self.unreadable = self.uncacheable = 0
        self.prefetched = 0

    def key(self, data_sample, frame_size, autocast) -> Optional[str]:
        """The key of one clip, or None without ``filename`` or
        ``frame_inds`` in its metainfo."""
        filename = data_sample.metainfo.get('filename')
        frame_inds = data_sample.metainfo.get('frame_inds')
        if filename is None or frame_inds is None:
            return None
        try:
            stat = os.stat(filename)
            version = [stat.st_size, stat.st_mtime_ns]
        except OSError:  # not a local file (e.g. object storage)
            version = None
        return json.dumps(
            dict(
                self.prefix,
                video=str(filename),
                version=version,
                frames=np.asarray(frame_inds).reshape(-1).tolist(),
                frame_size=list(frame_size),
                autocast=str(autocast),
            ),
            sort_keys=True,
        )

    def path(self, key: str) -> str:
        return osp.join(self.folder, _sha256(key) + '.pt')

    def token_shape(self, frames: int, height: int, width: int) -> tuple:
        """``(T, N, D)``: the tokens of a clip of ``frames`` frames."""
        patches = (height // self.patch_size) * (width // self.patch_size)
        return (frames, patches + 1, self.hidden_size)

    def read(self, key: str, shape) -> Tuple[Optional[torch.Tensor], str]:
        """The stored tokens of ``key``, or None and why not ('' when there
        is no file)."""
        path = self.path(key)
        if not osp.exists(path):
            return None, ''
        try:
            record = torch.load(path, map_location='cpu', weights_only=True)
            tokens = record['tokens']
            if record.get('key') != key:
                return None, 'it holds another key'
            if tuple(tokens.shape) != tuple(shape):
                return None, (
                    f'tokens of shape {tuple(tokens.shape)}, expected '
                    f'{tuple(shape)}'
                )
        except Exception as err:  # any damage: torch raises many types
            return None, f'{type(err).__name__}: {err}'
        return tokens, ''

    def load(self, key: str, shape) -> Optional[torch.Tensor]:
        """The stored tokens of ``key`` (None when absent or damaged, which
        is counted and reported)."""
        tokens, problem = self.read(key, shape)
        if tokens is not None or not problem:
            return tokens
        path = self.path(key)
        self.unreadable += 1
        print_log(
            f'Feature cache: {path} is unreadable ({problem}); its clip is '
            'encoded again and the file rewritten.',
            logger='current',
            level=logging.WARNING,
        )
        return None

    def store(self, key: str, tokens: torch.Tensor) -> None:
        # A clone: a view would save the whole batch's storage.
        record = dict(key=key, tokens=tokens.detach().cpu().clone())
        _write_atomically(self.path(key), lambda f: torch.save(record, f))

    def encode(
        self,
        video: torch.Tensor,
        data_samples: Sequence,
        encode: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """The backbone's output for ``video``, from the cache where
        possible.

        Args:
            video (torch.Tensor): ``(B, T, 3, H, W)``.
            data_samples (Sequence): One per clip, with ``filename`` and
                ``frame_inds`` in the metainfo.
            encode (Callable): The backbone's uncached encoding of a
                ``(b, T, 3, H, W)`` batch.

        Returns:
            torch.Tensor: ``(B, T, N, D)`` tokens.
        """
        if len(data_samples) != video.size(0):
            raise ValueError(
                f'Feature cache: {len(data_samples)} data samples for a '
                f'batch of {video.size(0)} clips.'
            )
        frames, height, width = video.size(1), video.size(3), video.size(4)
        autocast = (
            autocast_dtype(video.device.type)
            if self.compute_dtype is None
            else None
        )
        shape = self.token_shape(frames, height, width)
        keys = [self.key(s, (height, width), autocast) for s in data_samples]
        tokens: List[Optional[torch.Tensor]] = []
        for sample, key in zip(data_samples, keys):
            read = ReadCachedTokens.take(sample, key)
            if read is not None:
                self.prefetched += 1
            elif key is not None:
                read = self.load(key, shape)
            tokens.append(read)
        missing = [i for i, t in enumerate(tokens) if t is None]
        self.hits += len(keys) - len(missing)
        if len(missing) == len(keys):
            # The whole batch as one, exactly as without the cache.
            encoded = encode(video)
        elif missing:
            encoded = encode(video[missing])
        for row, index in enumerate(missing):
            tokens[index] = encoded[row]
            if keys[index] is None:
                self.uncacheable += 1
            else:
                self.computed += 1
                self.store(keys[index], encoded[row])
        if len(missing) == len(keys):
            return encoded
        return torch.stack(
            [t.to(video.device, non_blocking=True) for t in tokens]
        )


class ReadCachedTokens:
    """The last step of a served loop's pipeline: read the clip's cached
    ViT tokens in the dataloader worker, beside the decoding.

    :class:`~vidcap_mm.engine.hooks.FeatureCacheHook` appends it to the
    pipelines of the loops it serves, before their workers start. It puts
    the tokens, and the key they were read under, in the data sample
    (``cached_vit_tokens``); :meth:`FrameFeatureCache.encode` takes them
    when its own key for the clip is the same, and drops them from the
    sample either way. A clip without a file yet, or with a damaged one,
    gets nothing here: the model's process reads, counts and rewrites it.

    Required Keys:

        - inputs (torch.Tensor): ``(T, 3, H, W)``, from ``PackCaptionInputs``
        - data_samples (with ``filename`` and ``frame_inds`` in metainfo)

    Modified Keys:

        - data_samples (``cached_vit_tokens`` and ``cached_vit_key``
          added on a hit)

    Args:
        cache (FrameFeatureCache): The cache of the loop (pickled to the
            workers with its folder and fingerprints).
        autocast (torch.dtype, optional): The autocast the backbone will
            run under, where it follows autocast (None: none).
    """

    FIELD = 'cached_vit_tokens'
    KEY = 'cached_vit_key'

    def __init__(
        self, cache: FrameFeatureCache, autocast: Optional[torch.dtype] = None
    ) -> None:
        self.cache = cache
        self.autocast = None if cache.compute_dtype is not None else autocast

    def __call__(self, results: dict) -> dict:
        inputs, sample = results['inputs'], results['data_samples']
        frames, height, width = inputs.size(0), inputs.size(2), inputs.size(3)
        key = self.cache.key(sample, (height, width), self.autocast)
        if key is not None:
            shape = self.cache.token_shape(frames, height, width)
            tokens, _ = self.cache.read(key, shape)
            if tokens is not None:
                sample.set_field(tokens, self.FIELD)
                sample.set_field(key, self.KEY, field_type='metainfo')
        return results

    @classmethod
    def take(cls, data_sample, key: Optional[str]):
        """The tokens a worker read for ``data_sample`` if it read them
        under ``key``, else None; either way they leave the sample (its
        outputs would carry them to the metrics)."""
        if cls.FIELD not in data_sample:
            return None
        tokens = data_sample.get(cls.FIELD)
        read_under = data_sample.metainfo.get(cls.KEY)
        data_sample.pop(cls.FIELD)
        data_sample.pop(cls.KEY)
        return tokens if key is not None and read_under == key else None

    def __repr__(self) -> str:
        return f'{type(self).__name__}(folder={self.cache.folder!r})'


def _built(pipeline: Sequence) -> list:
    """The transforms of a pipeline, config dicts built."""
    transforms = getattr(pipeline, 'transforms', pipeline)
    return [
        TRANSFORMS.build(t) if isinstance(t, dict) else t for t in transforms
    ]


def _write_atomically(path: str, write: Callable) -> None:
    """Write through ``write(file)`` to a temporary file, then rename it
    to ``path``: a reader sees the old file or the complete new one."""
    fd, tmp = tempfile.mkstemp(
        dir=osp.dirname(path), prefix=f'.{osp.basename(path)}.', suffix='.tmp'
    )
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
