"""Distributed runs on machines without a GPU, and the Slurm environment."""

import os
import shutil
import subprocess
from typing import Optional

import torch
import torch.distributed as dist


def init_cpu_process_group(launcher: str) -> bool:
    """Start a gloo process group when there is no GPU.

    MMEngine's ``pytorch`` and ``slurm`` launchers select a CUDA device for
    each process, which fails on a CPU-only machine. When no GPU is present
    this starts the process group itself with the gloo backend from the
    environment that ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``) or that :func:`set_slurm_environment`
    derives from srun's; the Runner then finds it initialised and skips its
    own.

    Args:
        launcher (str): The ``--launcher`` argument.

    Returns:
        bool: Whether this function started the process group.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if dist.is_initialized():
        return False
    if launcher not in ('pytorch', 'slurm'):
        raise RuntimeError(
            f'--launcher {launcher} on a machine without a GPU: only the '
            '`pytorch` (torchrun) and `slurm` (srun) launchers are supported '
            'on CPU.'
        )
    missing = [
        k
        for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher} needs {missing} in the environment: '
            'start the script with torchrun (tools/dist_train.sh) or srun '
            '(tools/slurm_train.sh).'
        )
    dist.init_process_group(backend='gloo')
    return True


def set_slurm_environment() -> None:
    """Derive torch.distributed's variables from the ones ``srun`` sets.

    ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` come from ``SLURM_PROCID``,
    ``SLURM_NTASKS`` and ``SLURM_LOCALID``, as MMEngine's Slurm launcher
    derives them. ``MASTER_ADDR``, unless set, is the first host of
    ``SLURM_NODELIST`` (``scontrol show hostnames``; a list naming one plain
    host needs no scontrol). MMEngine runs scontrol through a shell and
    would take the shell's "not found" message for a host name; setting
    ``MASTER_ADDR`` here first keeps it from doing so. ``MASTER_PORT``,
    unless set, comes from the job id (:func:`slurm_master_port`), so that
    two jobs on one node do not both take MMEngine's 29500.

    Raises:
        RuntimeError: If a Slurm variable is missing, or the first host
            cannot be found.
    """
    missing = [
        k
        for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
        if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher slurm needs {missing} in the environment: start '
            'the script with srun (tools/slurm_train.sh).'
        )
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    if 'SLURM_LOCALID' in os.environ:
        os.environ['LOCAL_RANK'] = os.environ['SLURM_LOCALID']
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = first_slurm_host(
            os.environ['SLURM_NODELIST']
        )
    os.environ.setdefault(
        'MASTER_PORT', str(slurm_master_port(os.environ.get('SLURM_JOB_ID')))
    )


def slurm_master_port(job_id: Optional[str]) -> int:
    """The rendezvous port of a Slurm job: 20000 + the job id modulo
    10000, or MMEngine's 29500 without a job id.

    Every task of a job gets the same port, and jobs sharing a node get
    different ones unless their ids differ by a multiple of 10000. The
    ports lie below Linux's ephemeral range (32768-60999 by default), so
    no outgoing connection holds one by chance.

    Args:
        job_id (str, optional): ``SLURM_JOB_ID``.
    """
    if not job_id or not job_id.isdigit():
        return 29500
    return 20000 + int(job_id) % 10000


def first_slurm_host(node_list: str) -> str:
    """The first host of a Slurm node list such as ``gpu[01-04],cpu7``.

    Args:
        node_list (str): ``SLURM_NODELIST``.

    Returns:
        str: The host name.

    Raises:
        RuntimeError: If the list needs scontrol to expand and there is
            none, or scontrol fails.
    """
    scontrol = shutil.which('scontrol')
    if scontrol is None:
        if node_list and not any(c in node_list for c in '[],'):
            return node_list
        raise RuntimeError(
            f'SLURM_NODELIST={node_list!r}: `scontrol show hostnames` '
            'expands it to find the first node, and scontrol is not on '
            'PATH. Set MASTER_ADDR to the first node instead.'
        )
    result = subprocess.run(
        [scontrol, 'show', 'hostnames', node_list],
        capture_output=True,
        text=True,
    )
    hosts = result.stdout.split()
    if result.returncode != 0 or not hosts:
        raise RuntimeError(
            f'`scontrol show hostnames {node_list}` exited with '
            f'{result.returncode} and gave no host ({result.stderr.strip()!r})'
            '. Set MASTER_ADDR to the first node instead.'
        )
    return hosts[0]


def cpu_model_wrapper_cfg() -> dict:
    """DistributedDataParallel settings for CPU processes (no device ids)."""
    return dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=False,
    )
