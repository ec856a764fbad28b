"""BLIP-2's ViT, applied to every frame of a clip."""

from typing import Optional, Sequence

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from .precision import resolve_dtype, run_in_dtype


def freeze(module: nn.Module) -> None:
    """Stop gradients to every parameter of ``module``."""
    for param in module.parameters():
        param.requires_grad_(False)


@MODELS.register_module()
class Blip2VisionBackbone(BaseModule):
    """The vision encoder of a BLIP-2 model, run on every frame.

    Time is folded into the batch, so each frame goes through the image ViT
    (and its final LayerNorm) exactly as a single image would.

    Args:
        blip2 (PreTrainedModel): The transformers BLIP-2 / InstructBLIP model
            whose ``vision_model`` this backbone wraps (the captioner passes
            it in).
        frozen (bool): No gradient to the ViT, and it stays in eval mode
            through ``train()``. Defaults to True (the seed's best setting).
        dtype (str, optional): Cast the ViT to this dtype, e.g.
            ``'float16'`` for a frozen ViT on GPU; it then runs in it under
            any enclosing autocast (:func:`~.precision.run_in_dtype`).
            Defaults to None (keep; follow the enclosing autocast).
        interpolate_pos_encoding (bool): Let frames of another size than the
            ViT was trained on through, interpolating its position
            embeddings. Defaults to False.

    Attributes:
        feature_cache (FrameFeatureCache, optional): When set (by
            ``FeatureCacheHook``), clips whose data samples are given are
            read from this disk cache of ViT tokens where it has them.
            Defaults to None.
    """

    def __init__(
        self,
        blip2: nn.Module,
        frozen: bool = True,
        dtype: Optional[str] = None,
        interpolate_pos_encoding: bool = False,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.vision_model = blip2.vision_model
        self.frozen = frozen
        self.interpolate_pos_encoding = interpolate_pos_encoding
        self.compute_dtype = resolve_dtype(dtype)
        if self.compute_dtype is not None:
            self.vision_model.to(self.compute_dtype)
        if frozen:
            freeze(self.vision_model)
        self.feature_cache = None

    def train(self, mode: bool = True) -> 'Blip2VisionBackbone':
        super().train(mode)
        if self.frozen:
            self.vision_model.eval()
        return self

    def forward(
        self, video: torch.Tensor, data_samples: Optional[Sequence] = None
    ) -> torch.Tensor:
        """Encode every frame.

        Args:
            video (torch.Tensor): ``(B, T, 3, H, W)``, normalised.
            data_samples (Sequence, optional): The clips' data samples: with
                ``feature_cache`` set, their metainfo keys the cache.

        Returns:
            torch.Tensor: ``(B, T, N, D)`` patch tokens (N includes the class
            token) after the ViT's final LayerNorm, in ``dtype`` when set.
        """
        if video.dim() != 5:
            raise ValueError(
                'Expected a video batch of shape (B, T, 3, H, '
                f'W), got {tuple(video.shape)}.'
            )
        if self.feature_cache is not None and data_samples is not None:
            return self.feature_cache.encode(video, data_samples, self._encode)
        return self._encode(video)

    def _encode(self, video: torch.Tensor) -> torch.Tensor:
        batch, frames = video.shape[:2]
        pixels = video.flatten(0, 1).to(self.vision_model.dtype)
        with (
            torch.set_grad_enabled(
                torch.is_grad_enabled() and not self.frozen
            ),
            run_in_dtype(self.compute_dtype, pixels.device.type),
        ):
            tokens = self.vision_model(
                pixel_values=pixels,
                interpolate_pos_encoding=self.interpolate_pos_encoding,
            ).last_hidden_state
        if self.compute_dtype is not None:
            # Autocast leaves the final LayerNorm's output in float32.
            tokens = tokens.to(self.compute_dtype)
        return tokens.unflatten(0, (batch, frames))
