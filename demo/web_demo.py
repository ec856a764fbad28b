"""A web page to try a captioner: upload a video or pick an example, and see
the caption, the frames the model saw and, in segments, a timed list.

    pip install -e ".[web]"
    python demo/web_demo.py CONFIG [--checkpoint CKPT] [--port 7860] \\
        [--host 127.0.0.1]

The page is Gradio's. It binds 127.0.0.1 (this machine only) unless
``--host`` says otherwise (``--auth-file`` then adds a login), serves only
its examples and the files uploaded to it, and runs one request at a time
on the one model while the others wait in its queue. A file that is
empty, not a video decord can read, or over ``--max-size-mb`` or
``--max-seconds`` gets a message on the page.

Scripts call the page as ``/caption`` with gradio_client::

    from gradio_client import Client, handle_file
    caption, picture, segments = Client('http://127.0.0.1:7860/').predict(
        handle_file('clip.mp4'), 8, 3, 30, 0, api_name='/caption')

(video, frames, beams, max length, segment seconds, and optionally shot by
shot; 0 seconds: the whole video at once.)
"""

import argparse
import atexit
import logging
import os
import os.path as osp
import shutil
import sys
import tempfile
import threading
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
from mmengine.config import Config, DictAction

from vidcap_mm.apis import Shots, init_captioner, iter_captions
from vidcap_mm.apis.caption_loader import frames_sampled
from vidcap_mm.apis.caption_records import file_digest
from vidcap_mm.apis.inference import model_test_pipeline
from vidcap_mm.apis.video_inputs import VideoInput
from vidcap_mm.datasets import VideoReadError
from vidcap_mm.datasets.transforms import DecordVideoInit
from vidcap_mm.visualization import picture_visualizer

# Before gradio is imported: it would otherwise report usage to, and look
# for new versions on, its servers.
os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
try:
    import gradio as gr
except ImportError as err:  # pragma: no cover - depends on the install
    raise SystemExit(
        f'demo/web_demo.py needs gradio ({err}): pip install -e ".[web]"'
    ) from None

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Shipped example videos.
EXAMPLES_DIR = osp.join(REPO, 'demo', 'examples')
#: Videos of the config's test set offered as examples, when present.
NUM_TEST_EXAMPLES = 3
SEGMENT_HEADERS = ['start (s)', 'end (s)', 'caption']
#: The largest options a request may ask for (or the config's own, when
#: larger): each costs time and memory on the one model.
MAX_OPTIONS = dict(num_frames=64, num_beams=10, max_new_tokens=128)
#: Windows of one video in segments, at most.
MAX_SEGMENTS = 100
#: Codecs (FourCC as OpenCV reads them, lower case) that browsers play in a
#: <video> element: H.264, VP8, VP9, AV1.
BROWSER_CODECS = {'avc1', 'h264', 'x264', 'vp80', 'vp08', 'vp90', 'vp09'}
BROWSER_CODECS |= {'av01'}

logger = logging.getLogger('vidcap_mm.web_demo')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='A web page to try a video captioner.'
    )
    parser.add_argument('config', help='config file of the captioner')
    parser.add_argument(
        '--checkpoint',
        help="checkpoint file; without it the config's weights "
        '(pretrained=, or random: an untrained model)',
    )
    parser.add_argument(
        '--host',
        default='127.0.0.1',
        help='address to bind (default 127.0.0.1: this machine only; '
        '0.0.0.0 serves every network the machine is on)',
    )
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument(
        '--auth-file',
        help='a file whose first line is USER:PASSWORD: the page then asks '
        'for them (a file, not an argument, so that the password is not in '
        'the process list); for a page served beyond this machine',
    )
    parser.add_argument(
        '--device',
        help="e.g. 'cpu' or 'cuda:0' (default: cuda:0 when available)",
    )
    parser.add_argument(
        '--max-size-mb',
        type=float,
        default=200,
        help='largest video file taken, in MB (default 200)',
    )
    parser.add_argument(
        '--max-seconds',
        type=float,
        default=600,
        help='longest video taken, in seconds (default 600)',
    )
    parser.add_argument(
        '--queue-size',
        type=int,
        default=16,
        help='requests that may wait for the model; more are turned away '
        '(default 16)',
    )
    parser.add_argument(
        '--examples',
        nargs='*',
        help='example videos to offer (default: demo/examples/ and the '
        "first videos of the config's test set, where they exist)",
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as in tools/test.py',
    )
    args = parser.parse_args(argv)
    if args.max_size_mb <= 0 or args.max_seconds <= 0:
        parser.error('--max-size-mb and --max-seconds must be > 0')
    args.auth = None
    if args.auth_file is not None:
        args.auth = _read_auth(parser, args.auth_file)
    return args


def _read_auth(parser, path: str) -> Tuple[str, str]:
    try:
        with open(path, encoding='utf-8') as file:
            line = file.readline().strip()
    except OSError as err:
        parser.error(f'--auth-file {path}: {err.strerror}')
    user, colon, password = line.partition(':')
    if not (user and colon and password):
        parser.error(
            f'--auth-file {path}: the first line must be USER:PASSWORD'
        )
    return user, password


class CaptionPage:
    """What the page does with a request: check the file, caption it with
    the one model (one request at a time), and draw what the model saw.

    Args:
        model: A captioner from :func:`~vidcap_mm.apis.init_captioner`.
        max_bytes (int): Largest file taken.
        max_seconds (float): Longest video taken.
    """

    def __init__(self, model, max_bytes: int, max_seconds: float) -> None:
        self.model = model
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.visualizer = picture_visualizer(model.cfg, name='web_demo')
        self._lock = threading.Lock()
        # Opens a file only to read its length (no frame is decoded).
        self._probe = DecordVideoInit(resize=(32, 32), cache_size=0)
        # Examples shown as playable copies: (size, digest) -> original.
        self._originals = {}
        # Example -> its references.
        self._references = {}

    def show_example(
        self,
        path: str,
        folder: str,
        references: Optional[Sequence[str]] = None,
    ) -> str:
        """The file to offer as the example ``path``: itself, or a copy the
        browser plays (:func:`browser_playable`), which is then captioned
        as the original: a lossy copy of a small clip can change what the
        model says. Its ``references`` (a test set's) are drawn under the
        caption in its picture."""
        if references:
            self._references[path] = list(references)
        shown = browser_playable(path, folder)
        if shown != path:
            key = (osp.getsize(shown), file_digest(shown, 64))
            self._originals[key] = path
        return shown

    def _original(self, path: str) -> str:
        """The example that ``path`` (an upload) is the shown copy of, else
        ``path``."""
        size = osp.getsize(path)
        if not any(size == known for known, _ in self._originals):
            return path
        return self._originals.get((size, file_digest(path, 64)), path)

    @property
    def defaults(self) -> dict:
        """The config's frames, beams and caption length."""
        generation = self.model.head.generation_cfg
        return dict(
            num_frames=frames_sampled(model_test_pipeline(self.model.cfg)),
            num_beams=int(generation.get('num_beams', 1)),
            max_new_tokens=int(generation.get('max_new_tokens', 30)),
        )

    @property
    def limits(self) -> dict:
        """The largest frames, beams and caption length taken."""
        defaults = self.defaults
        return {k: max(v, defaults[k]) for k, v in MAX_OPTIONS.items()}

    def _options(self, **asked: float) -> dict:
        """The request's options as whole numbers within the limits."""
        labels = dict(
            num_frames='frames',
            num_beams='beams',
            max_new_tokens='caption tokens',
        )
        limits, chosen = self.limits, {}
        for key, value in asked.items():
            top = limits[key]
            if value is None or value != int(value) or not 1 <= value <= top:
                raise gr.Error(
                    f'The number of {labels[key]} must be a whole number '
                    f'from 1 to {top}, not {value}.'
                )
            chosen[key] = int(value)
        return chosen

    def caption(
        self,
        video: Optional[str],
        num_frames: float,
        num_beams: float,
        max_new_tokens: float,
        segment_seconds: float = 0,
        by_shots: bool = False,
    ) -> Tuple[str, object, List[list]]:
        """Caption one video.

        Returns:
            tuple: The caption (in segments, one ``start-end: caption`` line
            per window), the picture of the frames the model saw with its
            caption (None in segments), and the segments' rows.

        Raises:
            gr.Error: For a file the page does not take, saying why.
        """
        if not video:
            raise gr.Error('Upload a video or pick an example first.')
        chosen = self._options(
            num_frames=num_frames,
            num_beams=num_beams,
            max_new_tokens=max_new_tokens,
        )
        if by_shots and segment_seconds:
            raise gr.Error(
                'Segments of a fixed length or shot by shot: not both (set '
                'the segment length to 0 for shots).'
            )
        seconds = self._check(video, osp.basename(video))
        video = self._original(video)
        name = osp.basename(video)
        options = dict(
            num_frames=chosen.pop('num_frames'), generation_cfg=chosen
        )
        if segment_seconds:
            options['segments'] = self._segments(segment_seconds, seconds)
        if by_shots:
            options['segments'] = Shots()
        with self._lock:
            try:
                (result,) = iter_captions(
                    self.model, [VideoInput(name, video)], **options
                )
            except VideoReadError as err:
                raise gr.Error(f'{name}: {_said(err, video, name)}.') from None
            except Exception as err:
                logger.exception('captioning %s failed', video)
                raise gr.Error(
                    f'Captioning {name} failed ({type(err).__name__}: '
                    f'{err}); the server log has the details.'
                ) from None
            if result.segments is not None:
                rows = [
                    [s['start'], s['end'], s['caption']]
                    for s in result.segments
                ]
                text = '\n'.join(
                    f'{start:g}-{end:g} s: {caption}'
                    for start, end, caption in rows
                )
                return text, None, rows
            references = self._references.get(video)
            if references:
                result.data_sample.gt_captions = references
            picture = self.visualizer.add_datasample(
                name, result.frames, result.data_sample
            )
        return result.caption, picture, []

    @staticmethod
    def _segments(length: float, seconds: float) -> Tuple[float, float]:
        """Windows of ``length`` seconds side by side, at most
        ``MAX_SEGMENTS`` of them over a video of ``seconds``."""
        if not length > 0:
            raise gr.Error(
                f'The segment length must be > 0 seconds (0: the whole '
                f'video at once), not {length}.'
            )
        if seconds / length > MAX_SEGMENTS:
            raise gr.Error(
                f'Segments of {length:g} s cut this {seconds:.1f} s video '
                f'into more than {MAX_SEGMENTS} windows: choose at least '
                f'{seconds / MAX_SEGMENTS:.2g} s.'
            )
        return float(length), float(length)

    def _check(self, path: str, name: str) -> float:
        """Refuse an empty, too large, unreadable or too long file; returns
        the video's length in seconds."""
        if not osp.isfile(path):
            raise gr.Error(f'{name}: no such file was uploaded.')
        size = osp.getsize(path)
        if size == 0:
            raise gr.Error(f'{name} is empty (0 bytes): upload a video.')
        if size > self.max_bytes:
            raise gr.Error(
                f'{name} is {size / 2**20:.1f} MB; this page takes videos '
                f'of at most {self.max_bytes / 2**20:g} MB.'
            )
        try:
            video = self._probe({'filename': path})
        except VideoReadError as err:
            raise gr.Error(
                f'{name} is not a video this page can read: '
                f'{_said(err, path, name)}.'
            ) from None
        seconds = video['total_frames'] / (video['avg_fps'] or 1)
        if seconds > self.max_seconds:
            raise gr.Error(
                f'{name} is {seconds:.0f} s long; this page takes videos '
                f'of at most {self.max_seconds:g} s.'
            )
        return seconds


def _said(err: VideoReadError, path: str, name: str) -> str:
    """The error's reason with the server's copy of the file named as the
    user named it."""
    return err.reason.replace(path, name)


def build_page(
    page: CaptionPage, examples: Sequence[str], status: str
) -> 'gr.Blocks':
    """The page's layout; ``status`` says which model it runs."""
    defaults, limits = page.defaults, page.limits
    with gr.Blocks(title='vidcap_mm', analytics_enabled=False) as blocks:
        gr.Markdown(f'# Video captioning with vidcap_mm\n{status}')
        with gr.Row():
            with gr.Column():
                video = gr.Video(
                    label='Video', sources=['upload'], elem_id='video'
                )
                if examples:
                    gr.Examples(
                        [[p] for p in examples], [video], elem_id='examples'
                    )
                with gr.Accordion('Options', open=False):
                    frames = gr.Slider(
                        1,
                        limits['num_frames'],
                        value=defaults['num_frames'],
                        step=1,
                        label='Frames the model sees',
                    )
                    beams = gr.Slider(
                        1,
                        limits['num_beams'],
                        value=defaults['num_beams'],
                        step=1,
                        label='Beams',
                    )
                    length = gr.Slider(
                        1,
                        limits['max_new_tokens'],
                        value=defaults['max_new_tokens'],
                        step=1,
                        label='Longest caption (tokens)',
                    )
                    seconds = gr.Number(
                        0,
                        minimum=0,
                        label='Segment length in seconds (0: the whole '
                        'video at once)',
                    )
                    shots = gr.Checkbox(
                        False,
                        label='Shot by shot (cuts found by PySceneDetect)',
                    )
                button = gr.Button(
                    'Caption', variant='primary', elem_id='caption-button'
                )
            with gr.Column():
                caption = gr.Textbox(
                    label='Caption', elem_id='caption', lines=2
                )
                picture = gr.Image(
                    label='What the model saw',
                    type='numpy',
                    format='png',
                    elem_id='picture',
                )
                segments = gr.Dataframe(
                    headers=SEGMENT_HEADERS,
                    label='Segments',
                    interactive=False,
                    wrap=True,
                )
        button.click(
            page.caption,
            [video, frames, beams, length, seconds, shots],
            [caption, picture, segments],
            api_name='caption',
            concurrency_limit=1,
        )
    return blocks


def model_status(cfg: Config, checkpoint: Optional[str]) -> str:
    """A line saying what the page's model is, untrained included."""
    name = osp.basename(cfg.filename or 'the config')
    if checkpoint is not None:
        return f'Model: `{name}` with checkpoint `{osp.basename(checkpoint)}`.'
    if cfg.model.get('pretrained'):
        return (
            f'Model: `{name}` with its pretrained weights '
            f'(`{cfg.model.pretrained}`), not trained on videos here.'
        )
    return (
        f'**Model: `{name}` with no checkpoint: the model is untrained '
        '(random weights), so its captions mean nothing.** Start the page '
        'with `--checkpoint` to see what a trained one says.'
    )


def default_examples(cfg: Config) -> Dict[str, Optional[List[str]]]:
    """The shipped example videos, then the first videos of the config's
    test set that exist (none when its annotations cannot be read), each
    with its references (None for the shipped ones)."""
    examples = {
        osp.join(EXAMPLES_DIR, f): None
        for f in sorted(os.listdir(EXAMPLES_DIR))
        if f.endswith('.mp4')
    }
    dataset = (cfg.get('test_dataloader') or {}).get('dataset')
    if not dataset:
        return examples
    from mmaction.registry import DATASETS

    try:
        test_set = DATASETS.build(dict(dataset, lazy_init=True))
        test_set.full_init()
    except Exception as err:  # only the examples depend on it
        logger.info('no examples from the test set: %s', err)
        return examples
    found = 0
    for i in range(len(test_set)):
        info = test_set.get_data_info(i)
        path = info['filename']
        if osp.isfile(path) and path not in examples:
            examples[path] = list(info.get('gt_captions') or []) or None
            found += 1
        if found == NUM_TEST_EXAMPLES:
            break
    return examples


def browser_playable(path: str, folder: str) -> str:
    """``path``, or a VP8 WebM copy of it in ``folder`` when browsers
    cannot play its codec (e.g. the demo's mp4v clips), so that an example
    shows in the page's player."""
    capture = cv2.VideoCapture(path)
    code = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, 'little')
    if code.decode('latin-1').lower() in BROWSER_CODECS:
        capture.release()
        return path
    stem = osp.splitext(osp.basename(path))[0]
    copy = osp.join(folder, f'{stem}.webm')
    size = tuple(
        int(capture.get(p))
        for p in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT)
    )
    fps = capture.get(cv2.CAP_PROP_FPS) or 25
    writer = cv2.VideoWriter(copy, cv2.VideoWriter_fourcc(*'VP80'), fps, size)
    frames = 0
    while writer.isOpened():
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(frame)
        frames += 1
    writer.release()
    capture.release()
    if not frames:
        logger.warning(
            '%s: no WebM copy could be made; offered as it is', path
        )
        return path
    logger.info('example %s: offered as a VP8 WebM copy %s', path, copy)
    return copy


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    model = init_captioner(
        args.config, args.checkpoint, args.device, args.cfg_options
    )
    if args.examples is None:
        examples = default_examples(model.cfg)
    else:
        examples = dict.fromkeys(args.examples)
    for path in examples:
        if not osp.isfile(path):
            raise SystemExit(f'--examples: {path} is not a file')
    max_bytes = int(args.max_size_mb * 2**20)
    page = CaptionPage(model, max_bytes, args.max_seconds)
    copies = tempfile.mkdtemp(prefix='vidcap_web_examples_')
    atexit.register(shutil.rmtree, copies, ignore_errors=True)
    examples = [
        page.show_example(path, copies, references)
        for path, references in examples.items()
    ]
    blocks = build_page(
        page, examples, model_status(model.cfg, args.checkpoint)
    )
    blocks.queue(max_size=args.queue_size, default_concurrency_limit=1)
    if args.auth is None and args.host not in ('127.0.0.1', 'localhost'):
        logger.warning(
            'the page is served on %s with no password: anyone who reaches '
            'this machine can use the model (see --auth-file)',
            args.host,
        )
    blocks.launch(
        server_name=args.host,
        server_port=args.port,
        auth=args.auth,
        max_file_size=max_bytes,
        show_error=True,
        ssr_mode=False,
        mcp_server=False,
        theme=gr.themes.Default(
            # System fonts: the default theme's come from Google's servers.
            font=['ui-sans-serif', 'system-ui', 'sans-serif'],
            font_mono=['ui-monospace', 'monospace'],
        ),
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
