"""Distributed runs on machines without a GPU."""

import os

import torch
import torch.distributed as dist


def init_cpu_process_group(launcher: str) -> bool:
    """Start a gloo process group when there is no GPU.

    MMEngine's ``pytorch`` launcher selects a CUDA device for each process,
    which fails on a CPU-only machine. When no GPU is present this starts
    the process group itself with the gloo backend from the environment that
    ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
    ``MASTER_PORT``); the Runner then finds it initialised and skips its own.

    Args:
        launcher (str): The ``--launcher`` argument.

    Returns:
        bool: Whether this function started the process group.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if dist.is_initialized():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} on a machine without a GPU: only the '
            '`pytorch` launcher (torchrun) is supported on CPU.'
        )
    missing = [
        k
        for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs {missing} in the environment: start '
            'the script with torchrun (tools/dist_train.sh).'
        )
    dist.init_process_group(backend='gloo')
    return True


def cpu_model_wrapper_cfg() -> dict:
    """DistributedDataParallel settings for CPU processes (no device ids)."""
    return dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=False,
    )
