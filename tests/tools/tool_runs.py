"""Running the tools in subprocesses, as a user would."""

import os
import os.path as osp
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


def run_tool(*args, expect_success=True):
    """Run a tool script (``tools/train.py ...``) with this interpreter."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if expect_success:
        assert result.returncode == 0, (
            result.stdout[-3000:] + result.stderr[-3000:]
        )
    return result


def run_dist_train(config, num_processes, *args):
    """``tools/dist_train.sh`` on this machine (gloo without a GPU); returns
    its output after checking that it succeeded."""
    env = dict(os.environ, PORT=str(free_port()))
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, str(num_processes), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
