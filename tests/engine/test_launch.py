"""Config handling shared by tools/train.py and tools/test.py."""

import os
import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import REPO
from vidcap_mm.engine.distributed import (
    cpu_model_wrapper_cfg,
    set_slurm_environment,
    slurm_master_port,
)
from vidcap_mm.engine.launch import resolve_load_from, use_cpu_model_wrapper

FSDP_FRAGMENT = osp.join(REPO, 'configs', '_base_', 'strategies', 'fsdp.py')
TORCH_VARIABLES = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR')
TORCH_VARIABLES += ('MASTER_PORT',)


def test_load_from_pattern_names_exactly_one_file(tmp_path):
    (tmp_path / 'best_caption_CIDEr_epoch_4.pth').write_bytes(b'')
    cfg = Config(dict(load_from=str(tmp_path / 'best_*.pth')))
    resolve_load_from(cfg)
    assert cfg.load_from == str(tmp_path / 'best_caption_CIDEr_epoch_4.pth')

    plain = Config(dict(load_from='not/a/pattern.pth'))
    resolve_load_from(plain)
    assert plain.load_from == 'not/a/pattern.pth'

    (tmp_path / 'best_caption_CIDEr_epoch_6.pth').write_bytes(b'')
    with pytest.raises(ValueError, match='matches 2 files'):
        resolve_load_from(Config(dict(load_from=str(tmp_path / 'best_*'))))
    with pytest.raises(FileNotFoundError, match='matches no file'):
        resolve_load_from(Config(dict(load_from=str(tmp_path / 'x_*.pth'))))


SLURM_TASK = dict(SLURM_PROCID='1', SLURM_NTASKS='4', SLURM_LOCALID='1')


@pytest.fixture
def slurm_env(monkeypatch, tmp_path):
    """srun's variables for task 1 of 4; no scontrol on PATH, no
    torch.distributed variables yet."""
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv('MASTER_PORT', raising=False)
    monkeypatch.delenv('SLURM_JOB_ID', raising=False)
    for key, value in SLURM_TASK.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv('PATH', str(tmp_path))
    return tmp_path


def fake_scontrol(directory, script):
    path = directory / 'scontrol'
    path.write_text(f'#!/bin/sh\n{script}\n')
    path.chmod(0o755)


def test_slurm_environment_from_srun_and_scontrol(slurm_env, monkeypatch):
    fake_scontrol(
        slurm_env, 'echo "$@" > "${0%/*}/args"; ' 'printf "gpu07\\ngpu08\\n"'
    )
    monkeypatch.setenv('SLURM_NODELIST', 'gpu[07-08]')
    monkeypatch.setenv('SLURM_JOB_ID', '4171234')
    set_slurm_environment()
    assert (slurm_env / 'args').read_text() == 'show hostnames gpu[07-08]\n'
    assert {k: os.environ[k] for k in TORCH_VARIABLES} == dict(
        RANK='1',
        WORLD_SIZE='4',
        LOCAL_RANK='1',
        MASTER_ADDR='gpu07',
        MASTER_PORT='21234',  # from the job id
    )


def test_slurm_port_differs_between_jobs_unless_set(slurm_env, monkeypatch):
    """Two jobs on one node take two ports; one without a job id takes
    MMEngine's default; a MASTER_PORT of the user's is kept."""
    assert slurm_master_port('4171234') == 21234
    assert slurm_master_port('4171235') == 21235
    assert slurm_master_port('9999') == 29999
    assert slurm_master_port('10000') == 20000
    assert slurm_master_port(None) == slurm_master_port('') == 29500
    monkeypatch.setenv('SLURM_NODELIST', 'node3')
    set_slurm_environment()
    assert os.environ['MASTER_PORT'] == '29500'
    monkeypatch.setenv('SLURM_JOB_ID', '77')
    set_slurm_environment()  # set above by the first call: kept
    assert os.environ['MASTER_PORT'] == '29500'
    monkeypatch.delenv('MASTER_PORT')
    set_slurm_environment()
    assert os.environ['MASTER_PORT'] == '20077'


def test_slurm_environment_without_scontrol(slurm_env, monkeypatch):
    monkeypatch.setenv('SLURM_NODELIST', 'node3')
    monkeypatch.setenv('MASTER_PORT', '31000')
    set_slurm_environment()
    assert os.environ['MASTER_ADDR'] == 'node3'
    assert os.environ['MASTER_PORT'] == '31000'

    monkeypatch.delenv('MASTER_ADDR')
    monkeypatch.setenv('SLURM_NODELIST', 'node[3-4]')
    with pytest.raises(RuntimeError) as error:
        set_slurm_environment()
    assert "SLURM_NODELIST='node[3-4]'" in str(error.value)
    assert 'scontrol is not on PATH. Set MASTER_ADDR' in str(error.value)

    # A MASTER_ADDR of the user's is kept: no scontrol needed.
    monkeypatch.setenv('MASTER_ADDR', '10.0.0.5')
    set_slurm_environment()
    assert os.environ['MASTER_ADDR'] == '10.0.0.5'


def test_failing_scontrol_is_reported(slurm_env, monkeypatch):
    fake_scontrol(slurm_env, 'echo "scontrol: error: bad list" >&2; exit 1')
    monkeypatch.setenv('SLURM_NODELIST', 'node[3-4]')
    with pytest.raises(RuntimeError) as error:
        set_slurm_environment()
    assert '`scontrol show hostnames node[3-4]` exited with 1' in str(
        error.value
    )
    assert 'scontrol: error: bad list' in str(error.value)
    assert 'MASTER_ADDR' not in os.environ


def test_slurm_environment_needs_srun(slurm_env, monkeypatch):
    monkeypatch.delenv('SLURM_NTASKS')
    with pytest.raises(RuntimeError) as error:
        set_slurm_environment()
    assert "['SLURM_NTASKS', 'SLURM_NODELIST']" in str(error.value)
    assert 'tools/slurm_train.sh' in str(error.value)


def test_cpu_model_wrapper_per_runner():
    runner = Config(dict())
    use_cpu_model_wrapper(runner)
    assert runner.model_wrapper_cfg == cpu_model_wrapper_cfg()

    ddp = Config(dict(runner_type='FlexibleRunner'))
    use_cpu_model_wrapper(ddp)
    assert ddp.strategy == dict(
        type='DDPStrategy', model_wrapper=cpu_model_wrapper_cfg()
    )

    fsdp = Config.fromfile(FSDP_FRAGMENT)
    use_cpu_model_wrapper(fsdp)
    assert fsdp.strategy.model_wrapper == dict(
        type='MMFullyShardedDataParallel',
        use_orig_params=True,
        device_id='cpu',
    )

    deepspeed = Config(
        dict(
            runner_type='FlexibleRunner',
            strategy=dict(type='DeepSpeedStrategy'),
        )
    )
    with pytest.raises(ValueError, match="'DeepSpeedStrategy' needs a GPU"):
        use_cpu_model_wrapper(deepspeed)


@pytest.mark.parametrize(
    'cores, environ, workers, expected',
    [
        (2, {}, 2, 1),  # the demo: 2 cores, 2 loader workers
        (16, {}, 4, 12),
        (16, {'LOCAL_WORLD_SIZE': '2'}, 4, 4),  # torchrun, 2 processes
        (16, {'SLURM_NTASKS_PER_NODE': '4(x2)'}, 2, 2),  # srun's form
        (4, {'LOCAL_WORLD_SIZE': '4'}, 8, 1),
    ],
)
def test_cpu_threads_share_the_cores(
    monkeypatch, cores, environ, workers, expected
):
    """Without a GPU each process takes its share of the cores, less its
    loader's workers; a GPU run, or an OMP_NUM_THREADS of the user's, is
    left alone."""
    from vidcap_mm.engine import launch

    set_to = []
    monkeypatch.setattr(launch.torch, 'set_num_threads', set_to.append)
    monkeypatch.setattr(launch.torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(launch.os, 'sched_getaffinity', lambda _: range(cores))
    for key in (
        'OMP_NUM_THREADS',
        'LOCAL_WORLD_SIZE',
        'SLURM_NTASKS_PER_NODE',
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    cfg = Config(dict(train_dataloader=dict(num_workers=workers)))
    assert launch.use_cpu_threads(cfg, 'train_dataloader') == expected
    assert set_to == [expected]

    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    assert launch.use_cpu_threads(cfg, 'train_dataloader') is None
    monkeypatch.delenv('OMP_NUM_THREADS')
    monkeypatch.setattr(launch.torch.cuda, 'is_available', lambda: True)
    assert launch.use_cpu_threads(cfg, 'train_dataloader') is None
    assert set_to == [expected]


def test_end_process_group_destroys_the_group_once(tmp_path):
    import torch.distributed as dist

    from vidcap_mm.engine.launch import end_process_group

    end_process_group()  # no group: nothing to do
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1
    )
    try:
        end_process_group()
        assert not dist.is_initialized()
        end_process_group()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
