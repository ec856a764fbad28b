"""Running the tools in subprocesses, as a user would."""

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


def run_tool(*args):
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    return result


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
