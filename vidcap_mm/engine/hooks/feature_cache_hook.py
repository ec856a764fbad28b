"""Serve the frozen ViT's tokens from a disk cache, per loop of a run."""

import logging
from typing import Dict, Sequence

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from vidcap_mm.models.feature_cache import (
    FeatureCacheError,
    FrameFeatureCache,
    ReadCachedTokens,
)

from .runner_model import runner_model
from .scst_reward_hook import dataset_parts

LOOPS = ('train', 'val', 'test')


@HOOKS.register_module()
class FeatureCacheHook(Hook):
    """Run the frozen ViT once per clip and read its tokens back after.

    For each loop it serves, the hook builds a
    :class:`~vidcap_mm.models.feature_cache.FrameFeatureCache` from the
    loop's dataset pipeline (after the checkpoint is loaded, so the ViT's
    fingerprint is that of the weights used) and sets it on the model's
    backbone for the loop's epochs; the other loops run the ViT as usual.
    The key is the video, the frame indices, the pipeline and the ViT (see
    the cache's module), so the cache pays off where a clip's frames
    repeat: evaluation, repeated validation, and training (e.g. SCST)
    without augmentation and with deterministic frame sampling.

    The loop's dataloader workers read the tokens (the hook appends
    :class:`~vidcap_mm.models.feature_cache.ReadCachedTokens` to the loop's
    pipeline), so the training process does not wait for the disk.

    A loop whose pipeline has a random spatial or colour transform, or
    (training) whose data preprocessor blends batches, is refused before
    its first step unless ``force=True``. After each epoch the hook logs
    how many clips came from the cache.

    Args:
        cache_dir (str): The cache's root folder, e.g.
            ``'work_dirs/vit_cache'``; it may be shared by runs (each
            pipeline and ViT has its own sub-folder).
        loops (Sequence[str]): Which of ``'train'``, ``'val'``, ``'test'``
            to serve. Defaults to all three.
        force (bool): Serve random pipelines too: each clip keeps the
            pixels of its first epoch. Defaults to False.
    """

    priority = 'NORMAL'

    def __init__(
        self, cache_dir: str, loops: Sequence[str] = LOOPS, force=False
    ) -> None:
        unknown = sorted(set(loops) - set(LOOPS))
        if unknown:
            raise ValueError(
                f'FeatureCacheHook: unknown loops {unknown}; expected some '
                f'of {LOOPS}.'
            )
        self.cache_dir = cache_dir
        self.loops = tuple(loops)
        self.force = force
        self._caches: Dict[str, FrameFeatureCache] = {}
        self._outside_val = None

    @staticmethod
    def _backbone(runner):
        model = runner_model(runner)
        backbone = getattr(model, 'backbone', None)
        if not hasattr(backbone, 'feature_cache'):
            raise TypeError(
                'FeatureCacheHook: the model has no backbone with a '
                'feature_cache (a Blip2VisionBackbone); remove the hook.'
            )
        return model, backbone

    def _build(self, runner, loop_name: str) -> None:
        if loop_name not in self.loops or loop_name in self._caches:
            return
        loop = getattr(runner, f'{loop_name}_loop')
        if loop is None:
            return
        model, backbone = self._backbone(runner)
        if (
            loop_name == 'train'
            and getattr(model.data_preprocessor, 'blending', None) is not None
            and not self.force
        ):
            raise FeatureCacheError(
                'FeatureCacheHook: the data preprocessor blends training '
                f'batches ({type(model.data_preprocessor.blending).__name__})'
                ", so the ViT sees other pixels than the clip's; serve "
                "loops=('val', 'test') or set force=True."
            )
        parts = dataset_parts(loop.dataloader.dataset)
        pipelines = [
            [repr(t) for t in part.pipeline.transforms] for part in parts
        ]
        for index, pipeline in enumerate(pipelines[1:], 1):
            if pipeline != pipelines[0]:
                raise FeatureCacheError(
                    f'FeatureCacheHook: the {loop_name} dataset parts 0 and '
                    f'{index} have different pipelines; a cache serves one '
                    f"pipeline (leave '{loop_name}' out of loops)."
                )
        try:
            cache = FrameFeatureCache(
                self.cache_dir, backbone, parts[0].pipeline, self.force
            )
        except FeatureCacheError as err:
            raise FeatureCacheError(f'{loop_name} loop: {err}') from None
        self._caches[loop_name] = cache
        # Before the loop's first iteration starts its workers: they read
        # the tokens beside the decoding.
        for part in parts:
            steps = part.pipeline.transforms
            if not any(isinstance(t, ReadCachedTokens) for t in steps):
                steps.append(ReadCachedTokens(cache))
        print_log(
            f'FeatureCacheHook: the {loop_name} loop reads ViT tokens from '
            f'{cache.folder}',
            logger='current',
            level=logging.INFO,
        )

    def _attach(self, runner, loop_name: str) -> None:
        cache = self._caches.get(loop_name)
        if cache is not None:
            cache.reset_counts()
        self._backbone(runner)[1].feature_cache = cache

    def _report(self, loop_name: str) -> None:
        cache = self._caches.get(loop_name)
        if cache is None:
            return
        print_log(
            f'FeatureCacheHook ({loop_name}): {cache.hits} clips from the '
            f'cache ({cache.prefetched} read by loader workers), '
            f'{cache.computed} encoded and written ({cache.unreadable} of '
            f'them over unreadable files), {cache.uncacheable} without '
            'filename / frame_inds encoded',
            logger='current',
            level=logging.INFO,
        )

    def before_train(self, runner) -> None:
        # Validation runs inside training: refuse its pipeline now too.
        self._build(runner, 'train')
        self._build(runner, 'val')

    def before_val(self, runner) -> None:
        self._build(runner, 'val')

    def before_test(self, runner) -> None:
        self._build(runner, 'test')

    def before_train_epoch(self, runner) -> None:
        self._attach(runner, 'train')

    def after_train_epoch(self, runner) -> None:
        self._report('train')

    def before_val_epoch(self, runner) -> None:
        # An iteration-based loop validates mid-epoch: put the training
        # cache back afterwards.
        self._outside_val = self._backbone(runner)[1].feature_cache
        self._attach(runner, 'val')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._report('val')
        self._backbone(runner)[1].feature_cache = self._outside_val
        self._outside_val = None

    def before_test_epoch(self, runner) -> None:
        self._attach(runner, 'test')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._report('test')
        self._backbone(runner)[1].feature_cache = None
