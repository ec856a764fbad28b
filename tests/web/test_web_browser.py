"""The web page in a real browser: headless Chromium uploads the real clip,
clicks Caption and reads the caption off the page, through the script that
took the README's screenshot."""

import json
import os.path as osp

import cv2

from tests.helpers import REPO
from tests.tools.tool_runs import run_tool

SCREENSHOT = osp.join(
    REPO, 'tools', 'analysis_tools', 'web_demo_screenshot.py'
)


def in_browser(page, out, *args):
    """The script's caption; its message (what to install, say) on
    failure."""
    result = run_tool(
        SCREENSHOT, page.url, *args, '--out', str(out), expect_success=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])['caption']


def test_upload_and_caption_in_chromium(page, tmp_path):
    out = tmp_path / 'page.png'
    caption = in_browser(page, out, page.videos['bikes_h264'])
    assert caption == page.expected['bikes_h264']
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[1] >= 1000
    # A drawn page, not a blank one.
    assert len(set(map(tuple, picture.reshape(-1, 3)[::97]))) > 20


def test_a_shipped_example_in_chromium(page, tmp_path):
    # Example 0 is demo/examples/bikes_h264.mp4, the same real clip.
    caption = in_browser(page, tmp_path / 'example.png', '--example', '0')
    assert caption == page.expected['bikes_h264']
