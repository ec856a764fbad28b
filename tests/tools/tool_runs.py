"""Running the tools in subprocesses, as a user would."""

import contextlib
import errno
import os
import os.path as osp
import signal
import socket
import subprocess
import sys

from tests.helpers import REPO

CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')


def data_options(data_root):
    options = []
    for split, loader in (
        ('train', 'train_dataloader'),
        ('val', 'val_dataloader'),
        ('test', 'test_dataloader'),
    ):
        options += [
            f'{loader}.dataset.ann_file={data_root}/annotations/{split}.json',
            f'{loader}.dataset.data_prefix.video={data_root}/videos',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
            f'{loader}.batch_size=4',
        ]
    return options


# A run that has not finished by then is stuck, not slow: a 2-process run
# takes 30-110 s on 2 shared cores.
TIMEOUT_S = 600


def run(args, env=None, expect_success=True):
    """Run ``args`` in the repository and return the ``CompletedProcess``.

    The command starts a session of its own, so that a run past
    :data:`TIMEOUT_S` is killed with every process it started (torchrun's
    workers, Java scorers), not only the first one: left behind, they would
    hold CPU and ports for the tests that follow.
    """
    process = subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f'{args} ran past {TIMEOUT_S} s and was killed.\n'
            + _tails(stdout, stderr)
        ) from None
    result = subprocess.CompletedProcess(
        args, process.returncode, stdout, stderr
    )
    if expect_success:
        assert result.returncode == 0, (
            f'{args} exited with {result.returncode}.\n'
            + _tails(stdout, stderr)
        )
    return result


def _tails(stdout, stderr):
    return (
        f'--- stdout (end) ---\n{stdout[-3000:]}\n'
        f'--- stderr (end) ---\n{stderr[-3000:]}'
    )


def run_tool(*args, expect_success=True):
    """Run a tool script (``tools/train.py ...``) with this interpreter."""
    return run([sys.executable, *args], expect_success=expect_success)


def run_dist_train(config, num_processes, *args):
    """``tools/dist_train.sh`` on this machine (gloo without a GPU); returns
    its output after checking that it succeeded.

    No ``PORT``: torchrun then binds a free port itself. A port picked here
    and handed over would stay unbound for seconds, and any socket taking it
    meanwhile, on any local address, fails the run.
    """
    env = {k: v for k, v in os.environ.items() if k not in ('PORT', 'NNODES')}
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    result = run(
        ['bash', 'tools/dist_train.sh', config, str(num_processes), *args],
        env=env,
    )
    return result.stdout + result.stderr


@contextlib.contextmanager
def occupied_port(port):
    """Keep ``port`` busy (if no one else already does) for the block."""
    with socket.socket() as sock:
        try:
            sock.bind(('0.0.0.0', port))
            sock.listen()
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
        yield


# Stand-ins for Slurm's commands. srun records its arguments and starts
# --ntasks copies of the command on this machine with the variables real
# srun sets (two nodes in SLURM_NODELIST, so that MASTER_ADDR must come from
# scontrol); --kill-on-bad-exit: one failing task ends the others.
FAKE_SRUN = r"""#!/usr/bin/env bash
printf '%s\n' "$@" > "$FAKE_SLURM_LOG/srun_args"
ntasks=1
while [ "$#" -gt 0 ] && [[ "$1" == -* ]]; do
    case "$1" in --ntasks=*) ntasks="${1#--ntasks=}" ;; esac
    shift
done
pids=()
for ((task = 0; task < ntasks; task++)); do
    SLURM_PROCID=$task SLURM_LOCALID=$task SLURM_NTASKS=$ntasks \
        SLURM_NODELIST='fakenode[1-2]' SLURM_JOB_NAME=fake "$@" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    if ! wait "$pid"; then
        status=1
        kill "${pids[@]}" 2>/dev/null || true
    fi
done
exit "$status"
"""
FAKE_SCONTROL = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >> "$FAKE_SLURM_LOG/scontrol_calls"
[ "$1 $2" = "show hostnames" ] && echo 127.0.0.1 && echo 127.0.0.2
"""


def fake_slurm(directory):
    """Write ``srun`` and ``scontrol`` stand-ins into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    for name, text in (('srun', FAKE_SRUN), ('scontrol', FAKE_SCONTROL)):
        path = osp.join(directory, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, 0o755)
    return str(directory)


def free_port():
    """A port free on every local address right now."""
    with socket.socket() as sock:
        sock.bind(('0.0.0.0', 0))
        return sock.getsockname()[1]


def run_slurm(script, slurm_dir, *args, num_tasks=2):
    """``tools/slurm_{train,test}.sh`` with the stand-ins of
    :func:`fake_slurm` on ``PATH``; returns the output after checking that
    it succeeded.

    Slurm has no free-port rendezvous: ``MASTER_PORT`` is picked here, so
    the run is tried a second time, on another port, if some socket took
    the port before rank 0 bound it.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('MASTER_ADDR', 'MASTER_PORT')
        and not k.startswith('SLURM')
    }
    env['PATH'] = os.pathsep.join(
        (slurm_dir, osp.dirname(sys.executable), env['PATH'])
    )
    env.update(FAKE_SLURM_LOG=slurm_dir, GPUS=str(num_tasks))
    env['GPUS_PER_NODE'] = str(num_tasks)
    for attempt in range(2):
        env['MASTER_PORT'] = str(free_port())
        result = run(
            ['bash', f'tools/{script}', *args], env=env, expect_success=False
        )
        output = result.stdout + result.stderr
        if attempt == 0 and 'address already in use' in output.lower():
            continue
        assert result.returncode == 0, (
            f'{script} {args} exited with {result.returncode}.\n'
            + _tails(result.stdout, result.stderr)
        )
        return output
