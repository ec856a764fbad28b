"""Precision of the captioner's parts, whatever autocast is around them.

The seed runs each part of BLIP-2 in its own precision: the frozen ViT in
float16, the Q-Former and projection (trained) in float32 under AMP, the
frozen LLM in bfloat16 (T5 overflows in float16). A part whose weights were
cast to a dtype at construction runs in that dtype here, so that an
enclosing autocast of another dtype (``--amp``) does not cast its weights
again on every step and keep the copies for backward.
"""

import contextlib
from typing import Iterator, Optional

import torch


def resolve_dtype(dtype: Optional[str]) -> Optional[torch.dtype]:
    """Turn a config string such as ``'bfloat16'`` into a torch dtype."""
    if dtype is None:
        return None
    resolved = getattr(torch, dtype, None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(
            f'Unknown dtype {dtype!r}; use a torch dtype name '
            "such as 'float16' or 'bfloat16'."
        )
    return resolved


def autocast_dtype(device_type: str) -> Optional[torch.dtype]:
    """The dtype of the autocast active for ``device_type``, or None."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)


@contextlib.contextmanager
def run_in_dtype(
    dtype: Optional[torch.dtype], device_type: str
) -> Iterator[None]:
    """Run a part in ``dtype`` (None: leave autocast as it is).

    A float32 part runs with autocast off; a half-precision part runs under
    an autocast of its own dtype, so that operations autocast keeps in
    float32 (softmax, norms) stay there and inputs of another dtype are
    cast once, not its weights.
    """
    if dtype is None:
        yield
    elif dtype == torch.float32:
        with torch.autocast(device_type, enabled=False):
            yield
    else:
        with torch.autocast(device_type, dtype=dtype):
            yield
