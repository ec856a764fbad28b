"""The captioner's data preprocessor: MMAction2's, with BLIP-2's
normalisation by default and non-blocking copies to the device."""

from typing import Optional, Sequence

from mmaction.models import ActionDataPreprocessor
from mmaction.registry import MODELS

# BLIP-2's image processor normalises with the CLIP statistics; frames arrive
# in 0-255, hence the scale.
CLIP_MEAN = [0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255]
CLIP_STD = [0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255]


@MODELS.register_module()
class CaptionerDataPreprocessor(ActionDataPreprocessor):
    """MMAction2's ``ActionDataPreprocessor`` with the CLIP mean and std of
    BLIP-2's image processor by default, and MMEngine's ``non_blocking``.

    MMEngine's ``BaseDataPreprocessor`` takes ``non_blocking`` (copy batches
    to the device without waiting for the host); mmaction's preprocessor
    does not take the argument, so it always copied blocking. Here it is
    the argument it is in MMEngine, on by default: with pinned dataloader
    memory (the dataset configs pin it) a batch then reaches the GPU
    without a host synchronisation.

    Args:
        mean (Sequence[float], optional): Channel means, on 0-255 values.
            Defaults to CLIP's.
        std (Sequence[float], optional): Channel standard deviations.
            Defaults to CLIP's.
        non_blocking (bool): Copy to the device without blocking. Defaults
            to True.
        format_shape (str): ``'NCHW'`` gives ``(B, T, 3, H, W)`` batches,
            what the captioner takes. Defaults to ``'NCHW'``.
        **kwargs: Other arguments of ``ActionDataPreprocessor`` (``to_rgb``,
            ``to_float32``, ``blending``).
    """

    def __init__(
        self,
        mean: Optional[Sequence[float]] = CLIP_MEAN,
        std: Optional[Sequence[float]] = CLIP_STD,
        non_blocking: bool = True,
        format_shape: str = 'NCHW',
        **kwargs,
    ) -> None:
        super().__init__(
            mean=mean, std=std, format_shape=format_shape, **kwargs
        )
        # BaseDataPreprocessor.__init__ stores its argument here, and
        # cast_data reads it; ActionDataPreprocessor passes it no value.
        self._non_blocking = non_blocking
