"""What tools/train.py and tools/test.py share: launch arguments, the work
directory, a ``load_from`` pattern, and building the Runner or MMEngine's
FlexibleRunner (with gloo on machines without a GPU)."""

import argparse
import glob
import logging
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .distributed import (
    cpu_model_wrapper_cfg,
    init_cpu_process_group,
    set_slurm_environment,
)


def add_launch_arguments(
    parser: argparse.ArgumentParser, example: str
) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``."""
    parser.add_argument('--work-dir', help='where logs and results go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=f'override config entries, e.g. {example}',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0)


def apply_launch_arguments(cfg: Config, args: argparse.Namespace) -> None:
    """Set the launcher and the work directory (command line, else the
    config's, else ``work_dirs/<config name>``)."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(args.config))[0]
        cfg.work_dir = osp.join('work_dirs', name)


def resolve_load_from(cfg: Config) -> None:
    """Let ``load_from`` be a glob pattern that names exactly one file.

    MMEngine names the best checkpoint after its epoch or iteration
    (``best_caption_CIDEr_plus_BLEU_4_epoch_8.pth``), so a config that
    starts from another run's best one (SCST from cross-entropy) can only
    give a pattern.

    Raises:
        FileNotFoundError: If the pattern matches no file.
        ValueError: If it matches several.
    """
    pattern = cfg.get('load_from')
    if not pattern or not glob.has_magic(pattern):
        return
    matches = sorted(glob.glob(pattern))
    if not matches:
        raise FileNotFoundError(
            f'load_from={pattern!r} matches no file (relative paths start '
            f'at {os.getcwd()}): run the training it names first.'
        )
    if len(matches) > 1:
        raise ValueError(
            f'load_from={pattern!r} matches {len(matches)} files '
            f'({matches[:4]}); it must name exactly one.'
        )
    cfg.load_from = matches[0]


def build_runner(cfg: Config) -> Runner:
    """The Runner, or the runner that ``runner_type`` names
    (``'FlexibleRunner'`` with a ``strategy`` such as ``FSDPStrategy``).

    A ``load_from`` glob pattern is resolved first
    (:func:`resolve_load_from`). Under ``--launcher slurm`` the
    torch.distributed variables are derived from srun's first
    (:func:`~vidcap_mm.engine.distributed.set_slurm_environment`). On a
    CPU-only machine the processes talk over gloo and the model wrapper
    gets no CUDA device (:func:`use_cpu_model_wrapper`).
    """
    resolve_load_from(cfg)
    allow_tf32(cfg)
    if cfg.launcher == 'slurm':
        set_slurm_environment()
    if init_cpu_process_group(cfg.launcher):
        use_cpu_model_wrapper(cfg)
    if cfg.get('runner_type') is None:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def end_process_group() -> None:
    """Destroy the default process group once a distributed run has
    finished, as PyTorch asks of every process.

    MMEngine's runners leave it to interpreter shutdown, where a gloo
    worker thread still alive aborts the process ("terminate called without
    an active exception", exit status -6) after the run itself succeeded;
    seen with 2 CPU processes on a busy machine. Call it only after the
    run returned: a rank that failed must not wait here for its peers.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def use_cpu_threads(cfg: Config, loader: str) -> Optional[int]:
    """PyTorch's threads for a run on a machine without a GPU, unless the
    user chose them with ``OMP_NUM_THREADS``.

    By default each process takes a thread per core, while the dataloader
    workers decode on the same cores: the threads then wait on each other
    (the demo's step took 0.34 s so, 0.18 s with one thread on 2 cores).
    Each process gets its share of the cores it may run on (all processes
    of this machine counted: ``LOCAL_WORLD_SIZE`` under torchrun,
    ``SLURM_NTASKS_PER_NODE`` under srun) less the workers of ``loader``,
    and at least one.

    Args:
        cfg (Config): The run's config.
        loader (str): The dataloader of the loop that runs
            (``'train_dataloader'``, ``'test_dataloader'``).

    Returns:
        int | None: The threads set, or None (a GPU, or OMP_NUM_THREADS
        set).
    """
    if torch.cuda.is_available() or 'OMP_NUM_THREADS' in os.environ:
        return None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    processes = int(
        os.environ.get('LOCAL_WORLD_SIZE')
        or os.environ.get('SLURM_NTASKS_PER_NODE', '').split('(')[0]
        or 1
    )
    workers = int((cfg.get(loader) or {}).get('num_workers') or 0)
    threads = max(1, cores // processes - workers)
    torch.set_num_threads(threads)
    print_log(
        f'No GPU: {threads} PyTorch thread(s) per process ({cores} cores, '
        f'{processes} process(es) here, {workers} {loader} workers each); '
        'set OMP_NUM_THREADS to choose.',
        logger='current',
        level=logging.INFO,
    )
    return threads


def use_cpu_model_wrapper(cfg: Config) -> None:
    """Model wrapper settings for CPU processes, unless the config has its
    own.

    The Runner takes ``model_wrapper_cfg`` (DDP without device ids); the
    FlexibleRunner takes ``strategy.model_wrapper``, whose defaults name
    the CUDA device ``LOCAL_RANK``: DDP gets no device ids and FSDP
    ``device_id='cpu'``.

    Raises:
        ValueError: If the strategy cannot run without a GPU.
    """
    if cfg.get('runner_type') is None:
        cfg.setdefault('model_wrapper_cfg', cpu_model_wrapper_cfg())
        return
    strategy = dict(cfg.get('strategy') or dict(type='DDPStrategy'))
    kind = strategy.get('type', 'DDPStrategy')
    if kind == 'DDPStrategy':
        strategy.setdefault('model_wrapper', cpu_model_wrapper_cfg())
        cfg.strategy = strategy
    elif kind == 'FSDPStrategy':
        wrapper = dict(type='MMFullyShardedDataParallel')
        wrapper.update(strategy.get('model_wrapper') or {})
        wrapper.setdefault('device_id', 'cpu')
        cfg.strategy = dict(strategy, model_wrapper=wrapper)
    else:
        raise ValueError(
            f'{cfg.filename or "the config"}: strategy={kind!r} needs a GPU;'
            ' without one, use DDPStrategy or FSDPStrategy.'
        )


def allow_tf32(cfg: Config) -> None:
    """TF32 matrix products and convolutions on GPU, unless the config's
    ``env_cfg.allow_tf32`` is False.

    float32 work (the Q-Former and projection without ``--amp``) then runs
    on tensor cores with a 10-bit mantissa in the products, as the seed's
    PyTorch versions did by default for matrix products until 1.12.
    """
    allowed = bool((cfg.get('env_cfg') or {}).get('allow_tf32', True))
    torch.backends.cuda.matmul.allow_tf32 = allowed
    torch.backends.cudnn.allow_tf32 = allowed


def llm_is_t5(model: dict) -> bool:
    """Whether a captioner config's language model is a T5."""
    if model.get('pretrained'):
        return 't5' in str(model['pretrained']).lower()
    text = (model.get('blip2_config') or {}).get('text_config') or {}
    return text.get('model_type') == 't5'


def use_amp(cfg: Config) -> None:
    """``--amp``: MMEngine's ``AmpOptimWrapper``, autocasting to the dtype
    the model's LLM runs in.

    The dtype is the config's ``optim_wrapper.dtype`` if set, else the
    head's ``dtype`` (bfloat16 in every recipe), else float16, or bfloat16
    for a T5, which overflows in float16. The parts keep their own
    precision whatever it is (``vidcap_mm.models.precision``); the
    matching dtype means the autocast never meets weights of another
    half precision. bfloat16 needs no loss scaling, so its scaler is off:
    no check for infinite gradients (a host synchronisation) per step.

    Raises:
        ValueError: If the optimizer wrapper is not an ``OptimWrapper``,
            or float16 is asked for a T5.
    """
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise ValueError(
            f'--amp needs an OptimWrapper, the config has {kind}.'
        )
    model = cfg.model
    t5 = llm_is_t5(model)
    dtype = (
        wrapper.get('dtype')
        or (model.get('head') or {}).get('dtype')
        or ('bfloat16' if t5 else 'float16')
    )
    if dtype == 'float16' and t5:
        raise ValueError(
            'optim_wrapper.dtype=float16 with a T5 language model: T5 '
            'overflows in float16 (NaN losses). Use bfloat16 (the default '
            'under --amp for T5).'
        )
    wrapper.type = 'AmpOptimWrapper'
    wrapper.dtype = dtype
    if dtype == 'bfloat16':
        wrapper.setdefault('loss_scale', dict(enabled=False))
    else:
        wrapper.setdefault('loss_scale', 'dynamic')
