"""Load MMEngine checkpoints under ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` only unpickles allow-listed types by default.
MMEngine checkpoints hold, besides tensors, the message hub's logging
buffers and numpy values, so ``--resume``, ``load_from`` and test-time
loading fail with "Weights only load failed". Rather than switching the
check off, the few types those checkpoints contain are added to torch's
allow-list:

- numpy arrays, dtypes and scalars (logged values);
- ``HistoryBuffer`` (the message hub's logs), whose pickled state names its
  statistics functions as ``getattr(HistoryBuffer, 'mean')``; hence
  ``getattr``. The unpickler still refuses to CALL anything that is not
  allow-listed, and ``getattr`` can only reach attributes of objects the
  file was allowed to build in the first place.
"""

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_types() -> list:
    """The numpy callables a pickled array or scalar refers to."""
    try:  # numpy >= 2 moved the pickling helpers to numpy._core.
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [np.ndarray, np.dtype, _reconstruct, scalar, *set(dtype_classes)]


def allow_mmengine_checkpoints() -> None:
    """Allow-list the plain-data types found in MMEngine checkpoints."""
    torch.serialization.add_safe_globals(
        [HistoryBuffer, getattr, *_numpy_types()]
    )
