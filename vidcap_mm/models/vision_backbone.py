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
        train_final_norm (bool): With ``frozen``, the ViT's final LayerNorm
            (``post_layernorm``, LAVIS's ``ln_vision``) still trains, in
            float32 whatever ``dtype`` is, as in the seed: LAVIS's
            ``freeze_vit`` freezes only ``visual_encoder``, and ``ln_vision``
            is a separate float32 module. The feature cache then stores
            the tokens before that norm. Defaults to False (the whole
            vision model frozen, as transformers' BLIP-2 has no separate
            part).
        final_norm_eps (float, optional): The final norm's epsilon. LAVIS's
            ``ln_vision`` has PyTorch's default 1e-5 where transformers'
            BLIP-2 gives it the ViT's 1e-6 (one config field for both).
            Defaults to None (the model config's).
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
        train_final_norm: bool = False,
        final_norm_eps: Optional[float] = None,
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
        if train_final_norm and not frozen:
            raise ValueError(
                'train_final_norm=True is for a frozen ViT (frozen=True); '
                'an unfrozen ViT trains its final norm anyway.'
            )
        self.train_final_norm = train_final_norm
        if final_norm_eps is not None:
            self.vision_model.post_layernorm.eps = final_norm_eps
        if train_final_norm:
            final_norm = self.vision_model.post_layernorm
            final_norm.float()
            final_norm.requires_grad_(True)
            final_norm.register_forward_pre_hook(_to_float32)
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
        # A trained final norm runs after the frozen part (and the cache).
        encode = self._encode_frozen if self.train_final_norm else self._encode
        if self.feature_cache is not None and data_samples is not None:
            tokens = self.feature_cache.encode(video, data_samples, encode)
        else:
            tokens = encode(video)
        if self.train_final_norm:
            tokens = self.vision_model.post_layernorm(tokens)
            if self.compute_dtype is not None:
                tokens = tokens.to(self.compute_dtype)
        return tokens

    def _encode(self, video: torch.Tensor) -> torch.Tensor:
        """The ViT's tokens after its final norm, ``(B, T, N, D)``."""
        return self._run_vit(
            video,
            lambda **inputs: self.vision_model(**inputs).last_hidden_state,
        )

    def _encode_frozen(self, video: torch.Tensor) -> torch.Tensor:
        """The frozen ViT's tokens before its (trained) final norm."""
        return self._run_vit(video, _without_final_norm(self.vision_model))

    def _run_vit(self, video: torch.Tensor, vit) -> torch.Tensor:
        batch, frames = video.shape[:2]
        pixels = video.flatten(0, 1).to(self.vision_model.dtype)
        with (
            torch.set_grad_enabled(
                torch.is_grad_enabled() and not self.frozen
            ),
            run_in_dtype(self.compute_dtype, pixels.device.type),
        ):
            tokens = vit(
                pixel_values=pixels,
                interpolate_pos_encoding=self.interpolate_pos_encoding,
            )
        if self.compute_dtype is not None:
            # Autocast leaves the final LayerNorm's output in float32.
            tokens = tokens.to(self.compute_dtype)
        return tokens.unflatten(0, (batch, frames))


def _to_float32(module: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook: a float32 norm reads float32 (as LAVIS's
    ``LayerNorm`` casts its input)."""
    return tuple(a.float() if torch.is_tensor(a) else a for a in args)


def _without_final_norm(vision_model: nn.Module):
    """``vision_model``'s layers up to its final norm: embeddings, then the
    encoder (the order of transformers' ``Blip2VisionModel.forward``)."""

    def run(pixel_values, interpolate_pos_encoding=False):
        hidden = vision_model.embeddings(
            pixel_values, interpolate_pos_encoding=interpolate_pos_encoding
        )
        return vision_model.encoder(inputs_embeds=hidden).last_hidden_state

    return run
