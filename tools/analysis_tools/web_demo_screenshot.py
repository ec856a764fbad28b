"""Use the web page of ``demo/web_demo.py`` in a real browser: headless
Chromium opens it, uploads a video, clicks Caption, reads the caption off
the page and saves a screenshot. It prints the caption as JSON
(``{"caption": ...}``).

    python demo/web_demo.py CONFIG --checkpoint CKPT &
    python tools/analysis_tools/web_demo_screenshot.py \\
        http://127.0.0.1:7860/ VIDEO --out docs/images/web_demo.png

The browser is Debian's ``chromium`` driven through its ``chromium-driver``
with Selenium (``apt-get install chromium chromium-driver``; other paths
with ``--chromium`` / ``--chromedriver`` or the ``VIDCAP_CHROMIUM`` /
``VIDCAP_CHROMEDRIVER`` variables). The page's test runs this script.
"""

import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile

# Chromium's own connections (updates, sync, field trials) would be
# refused on a closed network, many at a time: they are switched off.
CHROMIUM_FLAGS = (
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
)
INSTALL_HINT = (
    'apt-get install chromium chromium-driver (Debian / Ubuntu), or give '
    'their paths with --chromium and --chromedriver'
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Caption a video on the web page in headless Chromium.'
    )
    parser.add_argument('url', help='the page, e.g. http://127.0.0.1:7860/')
    parser.add_argument(
        'video',
        nargs='?',
        help="the video to upload (or pick one of the page's examples "
        'with --example)',
    )
    parser.add_argument(
        '--example',
        type=int,
        help="click the page's example of this index (from 0) instead of "
        'uploading a video',
    )
    parser.add_argument('--out', required=True, help='screenshot PNG file')
    parser.add_argument(
        '--chromium',
        default=os.environ.get('VIDCAP_CHROMIUM', '/usr/bin/chromium'),
    )
    parser.add_argument(
        '--chromedriver',
        default=os.environ.get('VIDCAP_CHROMEDRIVER', '/usr/bin/chromedriver'),
    )
    parser.add_argument(
        '--timeout', type=float, default=120, help='seconds to wait per step'
    )
    parser.add_argument('--width', type=int, default=1280)
    parser.add_argument('--height', type=int, default=900)
    return parser.parse_args(argv)


def missing_browser(chromium: str, chromedriver: str) -> str:
    """What is missing to drive a browser, or '' when nothing is."""
    missing = [
        path
        for path in (chromium, chromedriver)
        if not (osp.isfile(path) and os.access(path, os.X_OK))
    ]
    if not missing:
        return ''
    return (
        f'no browser to drive: {", ".join(missing)} not found; {INSTALL_HINT}'
    )


def caption_in_browser(args: argparse.Namespace) -> str:
    """Open the page, upload, click, read the caption, save a picture."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix='vidcap_chromium_')
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f'--user-data-dir={profile}')
    options.add_argument(f'--window-size={args.width},{args.height}')
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=args.chromedriver)
    )
    try:
        wait = WebDriverWait(driver, args.timeout)
        driver.get(args.url)
        if args.example is None:
            upload = wait.until(
                ec.presence_of_element_located(
                    (By.CSS_SELECTOR, '#video input[type=file]')
                )
            )
            upload.send_keys(osp.abspath(args.video))
        else:
            wait.until(
                ec.presence_of_element_located(
                    (By.CSS_SELECTOR, '#examples .gallery-item')
                )
            )
            items = driver.find_elements(
                By.CSS_SELECTOR, '#examples .gallery-item'
            )
            if not 0 <= args.example < len(items):
                raise SystemExit(
                    f'--example {args.example}: the page has {len(items)} '
                    'examples'
                )
            items[args.example].click()
        # The upload is done when the page shows the video's player.
        wait.until(
            ec.presence_of_element_located((By.CSS_SELECTOR, '#video video'))
        )
        button = wait.until(
            ec.element_to_be_clickable((By.ID, 'caption-button'))
        )
        button.click()
        caption_box = (By.CSS_SELECTOR, '#caption textarea')
        wait.until(
            lambda d: d.find_element(*caption_box).get_attribute('value')
        )
        wait.until(
            ec.presence_of_element_located((By.CSS_SELECTOR, '#picture img'))
        )
        caption = driver.find_element(*caption_box).get_attribute('value')
        # The whole page in one picture, from its top.
        height = driver.execute_script(
            'return document.documentElement.scrollHeight'
        )
        driver.set_window_size(args.width, max(args.height, height + 120))
        driver.execute_script('window.scrollTo(0, 0)')
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        if not driver.save_screenshot(args.out):
            raise RuntimeError(f'Chromium wrote no screenshot to {args.out}')
        return caption
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = missing_browser(args.chromium, args.chromedriver)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if (args.video is None) == (args.example is None):
        print('give a video or --example, not both', file=sys.stderr)
        return 2
    if args.video is not None and not osp.isfile(args.video):
        print(f'{args.video}: no such video', file=sys.stderr)
        return 2
    print(json.dumps({'caption': caption_in_browser(args)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
