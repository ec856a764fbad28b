"""Packing of decoded clips and their captions into model inputs."""

from typing import Dict, Sequence

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmaction.structures import ActionDataSample
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class PackCaptionInputs(BaseTransform):
    """Pack a clip and its captions for a video captioning model.

    mmaction 1.1.0's ``PackActionInputs`` cannot carry data fields other than
    labels and boxes, so captions get their own pack transform.

    Required Keys:

        - imgs (np.ndarray | torch.Tensor): The clip, ``(T, 3, H, W)`` after
          ``FormatShape(input_format='NCHW')``.

    Optional Keys:

        - caption (str): The training target.
        - gt_captions (list[str]): All references of the video.
        - the keys in ``meta_keys``.

    Added Keys:

        - inputs (torch.Tensor): The clip as a tensor, same dtype and shape.
        - data_samples (ActionDataSample): With data fields ``gt_caption``
          and ``gt_captions`` (when given; ``gt_captions`` defaults to
          ``[caption]``) and metainfo from ``meta_keys`` (those present).

    Args:
        meta_keys (Sequence[str]): Keys of the results copied into the data
            sample's metainfo when present. Defaults to
            ``('video_id', 'filename', 'frame_inds', 'img_shape')``.
    """

    def __init__(
        self,
        meta_keys: Sequence[str] = (
            'video_id',
            'filename',
            'frame_inds',
            'img_shape',
        ),
    ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        """Pack ``results`` into ``dict(inputs=..., data_samples=...)``.

        Args:
            results (dict): The result dict of the pipeline.

        Returns:
            dict: ``inputs`` (torch.Tensor) and ``data_samples``
            (ActionDataSample).
        """
        if 'imgs' not in results:
            raise KeyError(
                'PackCaptionInputs needs "imgs" in the results; got keys '
                f'{sorted(results)}'
            )
        inputs = self._to_tensor(results['imgs'])

        data_sample = ActionDataSample()
        if 'caption' in results:
            data_sample.gt_caption = results['caption']
        if 'gt_captions' in results:
            data_sample.gt_captions = list(results['gt_captions'])
        elif 'caption' in results:
            data_sample.gt_captions = [results['caption']]

        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        data_sample.set_metainfo(metainfo)
        return dict(inputs=inputs, data_samples=data_sample)

    @staticmethod
    def _to_tensor(imgs) -> torch.Tensor:
        """Wrap the clip as a tensor, sharing memory where torch can."""
        if isinstance(imgs, torch.Tensor):
            return imgs
        if isinstance(imgs, (list, tuple)):
            imgs = np.stack(imgs)
        if not isinstance(imgs, np.ndarray):
            raise TypeError(
                f'PackCaptionInputs: "imgs" must be a numpy array or a '
                f'tensor, got {type(imgs).__name__}'
            )
        # FormatShape's transpose leaves a strided view, which
        # torch.from_numpy shares as is; only negative strides (e.g. from
        # ``imgs[..., ::-1]``) are unsupported by torch and need a copy.
        if any(stride < 0 for stride in imgs.strides):
            imgs = np.ascontiguousarray(imgs)
        return torch.from_numpy(imgs)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
