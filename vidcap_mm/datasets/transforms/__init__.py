"""Data transforms of vidcap_mm (registered in mmaction's TRANSFORMS)."""

from .formatting import PackCaptionInputs

__all__ = ['PackCaptionInputs']
