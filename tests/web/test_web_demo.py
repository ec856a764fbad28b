"""demo/web_demo.py through gradio_client, as scripts call it: the Python
API's captions and pictures, its options, bad files, requests at once and
what the page serves."""

import concurrent.futures
import json
import os.path as osp
import re

import cv2
import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tests.apis.tiny_captioner import (
    CONFIG,
    cfg_option_args,
    write_coloured_clip,
)
from tests.helpers import REPO, load_script
from tests.web.conftest import MAX_SECONDS, MAX_SIZE_MB, SCRIPT, start_page
from vidcap_mm.apis import Shots, iter_captions
from vidcap_mm.apis.video_inputs import VideoInput
from vidcap_mm.datasets.synthetic import generate_synthetic_clips
from vidcap_mm.visualization import picture_visualizer

#: The page's defaults for the tiny config: 4 frames, 3 beams, 12 tokens.
DEFAULTS = (4, 3, 12, 0)


@pytest.fixture(scope='module')
def client(page):
    return Client(page.url, verbose=False)


def caption(client, video, *options):
    return client.predict(
        handle_file(video), *(options or DEFAULTS), api_name='/caption'
    )


def test_real_clip_gets_the_python_apis_caption_and_picture(page, client):
    path = page.videos['bikes_h264']
    text, picture, segments = caption(client, path)
    assert text == page.expected['bikes_h264']
    assert segments['data'] == []
    # The picture is CaptionVisualizer's of the frames the model saw.
    (result,) = iter_captions(page.model, [VideoInput('bikes_h264.mp4', path)])
    drawn = picture_visualizer(page.model.cfg, 'web_test').add_datasample(
        'bikes_h264.mp4', result.frames, result.data_sample
    )
    shown = cv2.cvtColor(cv2.imread(picture), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(shown, drawn)


def test_the_captions_tell_the_videos_apart(page):
    assert len(set(page.expected.values())) >= 4, page.expected


def test_options_reach_the_model(page, client):
    path = page.videos['portrait']
    text, _, _ = caption(client, path, 2, 1, 2, 0)
    (result,) = iter_captions(
        page.model,
        [path],
        num_frames=2,
        generation_cfg=dict(num_beams=1, max_new_tokens=2),
    )
    assert text == result.caption
    assert len(text.split()) <= 2 < len(page.expected['portrait'].split())


def test_segments_are_timed_captions(page, client):
    path = page.videos['bikes_h264']
    text, picture, segments = caption(client, path, 4, 3, 12, 1)
    (result,) = iter_captions(page.model, [path], segments=(1.0, 1.0))
    rows = [[s['start'], s['end'], s['caption']] for s in result.segments]
    assert segments['data'] == rows
    assert [r[:2] for r in rows] == [[0, 1], [1, 2], [2, 3], [3, 3.08]]
    assert text.splitlines() == [f'{a:g}-{b:g} s: {c}' for a, b, c in rows]
    assert picture is None


def test_shot_by_shot(page, client, tmp_path):
    # Two contents of 20 frames each: one cut, at frame 20.
    path = str(tmp_path / 'two_shots.mp4')
    writer = cv2.VideoWriter(
        path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (32, 32)
    )
    for colour in ((255, 0, 0), (0, 0, 255)):
        for _ in range(20):
            writer.write(np.full((32, 32, 3), colour, np.uint8))
    writer.release()
    text, picture, segments = client.predict(
        handle_file(path), *DEFAULTS, True, api_name='/caption'
    )
    (result,) = iter_captions(page.model, [path], segments=Shots())
    rows = [[s['start'], s['end'], s['caption']] for s in result.segments]
    assert segments['data'] == rows
    assert [r[:2] for r in rows] == [[0, 2], [2, 4]]
    assert picture is None
    with pytest.raises(AppError, match='not both'):
        client.predict(
            handle_file(path), 4, 3, 12, 1, True, api_name='/caption'
        )


@pytest.mark.parametrize(
    'kind, message',
    [
        (
            'text.mp4',
            r'text\.mp4 is not a video this page can read: decord '
            r'cannot open it',
        ),
        ('empty.mp4', r'empty\.mp4 is empty \(0 bytes\)'),
        (
            'long.mp4',
            rf'long\.mp4 is 13 s long; this page takes videos of '
            rf'at most {MAX_SECONDS} s',
        ),
        # Refused before it is sent (gradio_client reads the page's limit).
        (
            'large.mp4',
            r'large\.mp4 exceeds the maximum file size of '
            rf'{MAX_SIZE_MB * 2**20} bytes',
        ),
    ],
)
def test_bad_files_get_a_message_and_the_page_goes_on(
    page, client, tmp_path, kind, message
):
    path = tmp_path / kind
    if kind == 'text.mp4':
        path.write_text('a text file, renamed')
    elif kind == 'empty.mp4':
        path.write_bytes(b'')
    elif kind == 'long.mp4':
        write_coloured_clip(path, 130, 32, 32, seed=3)  # 13 s at 10 fps
    else:
        path.write_bytes(b'\0' * (MAX_SIZE_MB * 2**20 + 1))
    with pytest.raises(Exception) as info:
        caption(client, str(path))
    assert re.search(message, str(info.value)), str(info.value)
    # No server path and no traceback in what the user reads.
    assert 'gradio/' not in str(info.value)
    assert 'Traceback' not in str(info.value)
    # The page still answers, right.
    text, _, _ = caption(client, page.videos['short'])
    assert text == page.expected['short']


def test_the_size_limit_holds_on_the_server(page, tmp_path):
    large = b'\0' * (MAX_SIZE_MB * 2**20 + 1)
    reply = httpx.post(
        f'{page.url}gradio_api/upload', files={'files': ('large.mp4', large)}
    )
    assert reply.status_code == 413 and 'maximum' in reply.text
    # A file over the limit that gets past the upload (an example) is
    # refused by the page itself.
    script = load_script(SCRIPT)
    caption_page = script.CaptionPage(page.model, 2**20, 60)
    path = tmp_path / 'big.mp4'
    path.write_bytes(large)
    with pytest.raises(
        script.gr.Error,
        match=r'big\.mp4 is 1\.0 MB; this '
        r'page takes videos of at most 1 MB',
    ):
        caption_page.caption(str(path), *DEFAULTS)


@pytest.mark.parametrize(
    'options, message',
    [
        # Gradio's sliders keep their range...
        ((0, 3, 12, 0), 'Value 0 is less than minimum value 1'),
        ((4, 11, 12, 0), 'Value 11 is greater than maximum value 10'),
        ((4, 3, 12, -1), 'Value -1 is less than minimum value 0'),
        # ... and the page the rest.
        (
            (4, 3, 2.5, 0),
            'number of caption tokens must be a whole number '
            'from 1 to 128, not 2.5',
        ),
        (
            (4, 3, 12, 0.01),
            r'Segments of 0\.01 s cut this 3\.1 s video into '
            r'more than 100 windows',
        ),
    ],
)
def test_options_out_of_bounds_get_a_message(page, client, options, message):
    with pytest.raises(AppError, match=message):
        caption(client, page.videos['bikes_h264'], *options)


def test_no_video_gets_a_message(client):
    with pytest.raises(AppError, match='Upload a video or pick an example'):
        client.predict(None, *DEFAULTS, api_name='/caption')


def test_five_requests_at_once_each_get_their_own_caption(page):
    names = ['bikes_h264', 'short', 'portrait', 'blocks_a', 'blocks_b']
    assert len({page.expected[n] for n in names}) >= 3

    def one(name):
        own = Client(page.url, verbose=False)
        return caption(own, page.videos[name])[0]

    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        got = dict(zip(names, pool.map(one, names)))
    assert got == {n: page.expected[n] for n in names}


def _call_with_path(url, path):
    """The page's API called with a server path it was not sent."""
    api = url + 'gradio_api'
    video = {'path': path, 'meta': {'_type': 'gradio.FileData'}}
    data = [video, *DEFAULTS, False]
    event = httpx.post(f'{api}/call/caption', json={'data': data}).json()
    reply = httpx.get(f"{api}/call/caption/{event['event_id']}", timeout=60)
    return reply.text


def test_serves_only_its_examples_and_uploads(page):
    for path in (page.checkpoint, CONFIG, '/etc/hostname'):
        reply = _call_with_path(page.url, path)
        assert 'event: error' in reply and 'not uploaded by a user' in reply
        served = httpx.get(f'{page.url}gradio_api/file={path}')
        assert served.status_code == 403, path
    # The examples it offers are served (from gradio's cache).
    config = json.dumps(httpx.get(f'{page.url}config').json())
    cached = [
        path
        for path in re.findall(r'"path": "([^"]*bikes_h264\.mp4)"', config)
        if not path.startswith(REPO)
    ]
    assert cached, config[:2000]
    served = httpx.get(f'{page.url}gradio_api/file={cached[0]}')
    assert served.status_code == 200
    assert served.content == open(page.videos['bikes_h264'], 'rb').read()


def test_binds_this_machine_only_by_default(page):
    assert load_script(SCRIPT).parse_args([CONFIG]).host == '127.0.0.1'
    log = page.log.read_text()
    assert 'Running on local URL:  http://127.0.0.1:' in log


def test_says_when_the_model_is_untrained():
    script = load_script(SCRIPT)
    cfg = Config.fromfile(CONFIG)
    assert 'the model is untrained' in script.model_status(cfg, None)
    with_checkpoint = script.model_status(cfg, '/x/best.pth')
    assert 'untrained' not in with_checkpoint and 'best.pth' in with_checkpoint
    cfg.model.pretrained = 'Salesforce/blip2-opt-2.7b'
    pretrained = script.model_status(cfg, None)
    assert 'pretrained weights' in pretrained and 'untrained' not in pretrained


def test_unplayable_examples_are_shown_as_webm_and_captioned_as_they_are(
    page, tmp_path
):
    """An mp4v example is offered as a VP8 copy the browser plays; the
    page captions the original (a lossy copy can change the caption)."""
    script = load_script(SCRIPT)
    original = page.videos['portrait']  # mp4v
    shown = script.browser_playable(original, str(tmp_path))
    assert shown == str(tmp_path / 'portrait.webm')
    capture = cv2.VideoCapture(shown)
    code = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, 'little')
    assert code == b'VP80'
    assert (
        script.browser_playable(page.videos['bikes_h264'], str(tmp_path))
        == page.videos['bikes_h264']
    )  # H.264 is played as it is
    caption_page = script.CaptionPage(page.model, 2**20, 60)
    assert caption_page.show_example(original, str(tmp_path)) == shown
    copied = tmp_path / 'upload' / 'portrait.webm'
    copied.parent.mkdir()
    copied.write_bytes(open(shown, 'rb').read())
    assert (
        caption_page.caption(str(copied), *DEFAULTS)[0]
        == (page.expected['portrait'])
    )
    assert caption_page._original(page.videos['short']) == page.videos['short']
    assert osp.isfile(shown)


def test_the_page_checks_options_itself(page):
    """What gets past gradio's sliders (a script of the page's own) is
    checked by the page too."""
    script = load_script(SCRIPT)
    caption_page = script.CaptionPage(page.model, 2**20, 60)
    video = page.videos['short']
    with pytest.raises(script.gr.Error, match='frames must be a whole number'):
        caption_page.caption(video, 0, 3, 12, 0)
    with pytest.raises(script.gr.Error, match='from 1 to 10, not 11'):
        caption_page.caption(video, 4, 11, 12, 0)
    with pytest.raises(script.gr.Error, match='segment length must be > 0'):
        caption_page.caption(video, 4, 3, 12, -1)
    assert (
        caption_page.caption(video, 4, 3, 12, 0)[0] == page.expected['short']
    )


def test_a_page_with_a_login(page, tmp_path):
    auth = tmp_path / 'auth.txt'
    auth.write_text('alice:s3cret words\n')
    process, url = start_page(
        [
            CONFIG,
            '--checkpoint',
            page.checkpoint,
            '--device',
            'cpu',
            '--auth-file',
            str(auth),
            '--cfg-options',
            *cfg_option_args(),
        ],
        tmp_path / 'login.log',
    )
    try:
        with pytest.raises(ValueError, match='login'):
            Client(url, verbose=False)
        # The API refuses too, not only the page.
        reply = httpx.post(f'{url}gradio_api/upload', files={'files': b'x'})
        assert reply.status_code == 401
        client = Client(url, auth=('alice', 's3cret words'), verbose=False)
        text, _, _ = caption(client, page.videos['short'])
        assert text == page.expected['short']
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    'text, message',
    [('alice\n', 'must be USER:PASSWORD'), (None, 'No such file')],
)
def test_a_bad_auth_file_is_named(tmp_path, capsys, text, message):
    auth = tmp_path / 'auth.txt'
    if text is not None:
        auth.write_text(text)
    with pytest.raises(SystemExit):
        load_script(SCRIPT).parse_args([CONFIG, '--auth-file', str(auth)])
    err = capsys.readouterr().err
    assert f'--auth-file {auth}' in err and message in err


def test_test_set_examples_come_with_their_references(page, tmp_path):
    script = load_script(SCRIPT)
    paths = generate_synthetic_clips(
        str(tmp_path / 'clips'), num_train=2, num_val=2, num_test=4, size=32
    )
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.update(
        ann_file=paths['test'], data_prefix=dict(video=paths['video_dir'])
    )
    with DefaultScope.overwrite_default_scope('mmaction'):
        examples = script.default_examples(cfg)
    shipped, *tests = examples
    assert shipped == osp.join(REPO, 'demo', 'examples', 'bikes_h264.mp4')
    assert examples[shipped] is None
    with open(paths['test']) as file:
        records = json.load(file)[:3]
    assert tests == [osp.join(paths['video_dir'], r['video']) for r in records]
    assert [examples[t] for t in tests] == [r['caption'] for r in records]
    # No test set: the shipped clip alone.
    cfg.test_dataloader.dataset.ann_file = str(tmp_path / 'none.json')
    with DefaultScope.overwrite_default_scope('mmaction'):
        assert list(script.default_examples(cfg)) == [shipped]

    # The picture of an example lists its references.
    caption_page = script.CaptionPage(page.model, 2**20, 60)
    video = page.videos['short']
    plain = caption_page.caption(video, *DEFAULTS)[1]
    caption_page.show_example(video, str(tmp_path), ['a red square', 'x'])
    text, picture, _ = caption_page.caption(video, *DEFAULTS)
    assert text == page.expected['short']
    (result,) = iter_captions(page.model, [VideoInput('short.mp4', video)])
    result.data_sample.gt_captions = ['a red square', 'x']
    drawn = picture_visualizer(page.model.cfg, 'refs').add_datasample(
        'short.mp4', result.frames, result.data_sample
    )
    np.testing.assert_array_equal(picture, drawn)
    assert picture.shape[0] > plain.shape[0]  # more lines below the frames
