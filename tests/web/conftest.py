"""The web page of demo/web_demo.py, started once as a user starts it, on
the tiny captioner of the API tests, with what the Python API says of the
same videos."""

import os.path as osp
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import httpx
import pytest

from tests.apis.tiny_captioner import (
    CFG_OPTIONS,
    CONFIG,
    cfg_option_args,
    write_checkpoint,
    write_coloured_clip,
    write_videos,
)
from tests.helpers import REPO
from vidcap_mm.apis import caption_videos, init_captioner

SCRIPT = osp.join(REPO, 'demo', 'web_demo.py')
#: The page's limits in the tests.
MAX_SIZE_MB = 1
MAX_SECONDS = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_page(args, log_path, timeout=180):
    """Start ``demo/web_demo.py ARGS --port P`` and wait until it answers;
    returns ``(process, url)``. Another port is tried when the one picked
    was taken meanwhile."""
    for _ in range(3):
        port = _free_port()
        log = open(log_path, 'w')
        process = subprocess.Popen(
            [sys.executable, SCRIPT, *args, '--port', str(port)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f'http://127.0.0.1:{port}/'
        start = time.monotonic()
        while process.poll() is None and time.monotonic() - start < timeout:
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return process, url
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        process.kill()
        process.wait()
        log.close()
        with open(log_path) as file:
            output = file.read()
        if 'Cannot find empty port' not in output:
            break
    raise RuntimeError(f'the web page did not start:\n{output[-3000:]}')


@pytest.fixture(scope='session')
def page(tmp_path_factory):
    """The page on the tiny captioner's checkpoint, its videos, and the
    Python API's captions of them (by name)."""
    root = tmp_path_factory.mktemp('web')
    videos = write_videos(root)
    # Two more clips, so that five requests at once are five videos.
    for seed, name in enumerate(('blocks_a', 'blocks_b'), start=7):
        videos[name] = write_coloured_clip(
            root / f'{name}.mp4', 12, 48, 48, seed
        )
    checkpoint = write_checkpoint(root / 'trained.pth')
    model = init_captioner(
        CONFIG, checkpoint, device='cpu', cfg_options=CFG_OPTIONS
    )
    expected = {
        name: result.caption
        for name, result in zip(
            videos, caption_videos(model, list(videos.values()))
        )
    }
    log = root / 'page.log'
    process, url = start_page(
        [
            CONFIG,
            '--checkpoint',
            checkpoint,
            '--device',
            'cpu',
            '--max-size-mb',
            str(MAX_SIZE_MB),
            '--max-seconds',
            str(MAX_SECONDS),
            '--cfg-options',
            *cfg_option_args(),
        ],
        log,
    )
    try:
        yield SimpleNamespace(
            url=url,
            root=root,
            videos=videos,
            checkpoint=checkpoint,
            model=model,
            expected=expected,
            log=log,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
