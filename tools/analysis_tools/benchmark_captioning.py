"""Clips per second of our captioning path against a hand-written loop.

Ours: :func:`~vidcap_mm.apis.iter_captions` over a folder, as
``demo/caption_video.py`` runs it: the config's test pipeline in
``--workers`` DataLoader workers decoding ahead, ``--batch-size`` clips
per ``model.test_step``. Hand-written: the loop a user writes with decord
and the captioner's public pieces, one video at a time: open the file with
``decord.VideoReader`` at the model's frame size (decord's default
threads), take the test pipeline's evenly spaced frame indices, turn the
frames into a ``(T, 3, H, W)`` uint8 tensor and caption that one clip with
``model.test_step`` (data preprocessor, ViT, Q-Former, ``generate``).

Both caption the same clips, and the script stops if any clip's caption
differs between the two. It prints the clips per second of each (median of
``--repeats`` runs, the two alternated, after an untimed warm-up), their
ratio, and the share of wall time spent in ``model.test_step`` ("model
busy": on a GPU, whether decoding keeps it fed). PyTorch gets the same
threads in both: on a machine without a GPU those ``tools/test.py`` sets
for ``--workers`` workers (:func:`~vidcap_mm.engine.launch.use_cpu_threads`),
unless ``--threads`` or ``OMP_NUM_THREADS`` says otherwise.

``--model`` chooses the weights: ``config`` builds the config's model as
``init_captioner`` does (with ``--checkpoint``), ``tiny`` and ``real`` the
random stand-ins of ``benchmark_train_step.py`` (a recipe's pretrained
checkpoint at tiny or real dimensions; see ``vidcap_mm/models/
stand_ins.py``). Without ``--videos`` the clips are generated: coloured
blocks, 16-32 frames at 64-128 px.

Examples::

    python tools/analysis_tools/benchmark_captioning.py
    python tools/analysis_tools/benchmark_captioning.py \\
        --config configs/msvd_flant5xl_eval.py --model real --device cuda \\
        --batch-size 16 --workers 8
"""

import argparse
import os
import os.path as osp
import platform
import statistics
import tempfile
import time

import cv2
import decord
import numpy as np
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

import vidcap_mm  # noqa: F401  (registers our classes)
from vidcap_mm.apis import init_captioner, iter_captions
from vidcap_mm.apis.video_inputs import iter_video_files
from vidcap_mm.engine.launch import use_cpu_threads
from vidcap_mm.engine.phase_timer import PhaseTimer
from vidcap_mm.models.stand_ins import random_weights_model, suppress_non_words

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--checkpoint', help='with --model config')
    parser.add_argument(
        '--model',
        choices=['config', 'tiny', 'real'],
        default='config',
        help="the config's own model, or a random stand-in of its "
        'pretrained checkpoint at tiny or real dimensions',
    )
    parser.add_argument('--videos', help='a folder (else clips generated)')
    parser.add_argument(
        '--num-videos',
        type=_positive,
        default=48,
        help='clips generated, or the first ones of --videos',
    )
    parser.add_argument('--batch-size', type=_positive, default=8)
    parser.add_argument(
        '--workers',
        type=int,
        default=2,
        help='DataLoader workers of our path',
    )
    parser.add_argument('--repeats', type=_positive, default=3)
    parser.add_argument(
        '--threads',
        type=_positive,
        help="PyTorch threads of both paths (default: tools/test.py's "
        'choice on a machine without a GPU, else left as they are)',
    )
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error(f'--workers must be 0 or more, got {args.workers}')
    if args.checkpoint and args.model != 'config':
        parser.error('--checkpoint goes with --model config')
    return args


def build_captioner(args, device: torch.device):
    """The config's captioner, or a random stand-in built on ``device``
    directly (a real-size one initialises there in seconds)."""
    if args.model == 'config':
        return init_captioner(args.config, args.checkpoint, device)
    cfg = Config.fromfile(args.config)
    cfg.model = random_weights_model(cfg.model.to_dict(), args.model)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    torch.manual_seed(args.seed)
    with torch.device(device):
        model = MODELS.build(cfg.model)
    # A random model otherwise writes ids its small tokenizer lacks.
    suppress_non_words(model, model.head.generation_cfg)
    # Frames decoded at the stand-in ViT's size (a tiny one's is not the
    # recipe's 224 px).
    size = model.backbone.vision_model.config.image_size
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'DecordVideoInit':
            step['resize'] = (size, size)
    model.cfg = cfg
    model.to(device).eval()
    return model


def frame_sampling(cfg: Config):
    """``(num_frames, (width, height))`` of the config's test pipeline,
    what the hand-written loop needs to see the same frames.

    Raises:
        SystemExit: If the pipeline does not open videos with
            ``DecordVideoInit(resize=...)`` and sample them with
            ``EvenlySpacedSample``.
    """
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    steps = {
        step['type']: step
        for step in dataset.get('pipeline') or cfg.get('test_pipeline') or []
    }
    init = steps.get('DecordVideoInit') or {}
    sample = steps.get('EvenlySpacedSample')
    if init.get('resize') is None or sample is None:
        raise SystemExit(
            f'benchmark_captioning.py: {cfg.filename}: the hand-written '
            'loop reproduces a test pipeline of DecordVideoInit(resize=...) '
            f'and EvenlySpacedSample; this one has {sorted(steps)}'
        )
    return sample['num_frames'], tuple(init['resize'])


def write_clips(folder: str, num_videos: int, seed: int) -> None:
    """``num_videos`` mp4v clips of coloured blocks that change every
    frame, of 16-32 frames at 64-128 px."""
    rng = np.random.default_rng(seed)
    for i in range(num_videos):
        frames = int(rng.integers(16, 33))
        width, height = (int(v) for v in rng.integers(64, 129, 2))
        path = osp.join(folder, f'clip{i:04d}.mp4')
        writer = cv2.VideoWriter(
            path, cv2.VideoWriter_fourcc(*'mp4v'), 10, (width, height)
        )
        if not writer.isOpened():
            raise SystemExit(f'benchmark_captioning.py: cannot write {path}')
        for _ in range(frames):
            blocks = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
            writer.write(
                cv2.resize(
                    blocks, (width, height), interpolation=cv2.INTER_NEAREST
                )
            )
        writer.release()


def our_captions(model, files, batch_size: int, workers: int) -> list:
    """Our path, as ``demo/caption_video.py`` runs it."""
    return [
        result.caption
        for result in iter_captions(
            model, files, batch_size, num_workers=workers
        )
    ]


def hand_written_captions(model, files, num_frames: int, size) -> list:
    """The loop a user writes: one video at a time, decoded here."""
    width, height = size
    captions = []
    for path in files:
        reader = decord.VideoReader(path, width=width, height=height)
        total = len(reader)
        indices = [i * total // num_frames for i in range(num_frames)]
        frames = reader.get_batch(indices).asnumpy()  # (T, H, W, 3) RGB
        clip = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
        data = dict(inputs=[clip], data_samples=[ActionDataSample()])
        with torch.no_grad():
            (sample,) = model.test_step(data)
        captions.append(sample.pred_caption)
    return captions


def timed(run, model, device: torch.device):
    """``run()``'s captions, its wall time and the time spent in
    ``model.test_step`` (the device synchronised around each call)."""
    timer = PhaseTimer(device)
    timer.wrap(model, 'test_step', 'model')
    try:
        timer.sync()
        start = time.perf_counter()
        captions = run()
        timer.sync()
        wall = time.perf_counter() - start
    finally:
        del model.test_step
    return captions, wall, timer.totals['model']


def check_same_captions(files, ours, hand_written) -> None:
    """Stop, naming the clips, unless both paths captioned every clip the
    same."""
    differ = [
        (path, a, b) for path, a, b in zip(files, ours, hand_written) if a != b
    ]
    if differ or len(ours) != len(hand_written):
        path, a, b = differ[0] if differ else ('(count)', ours, hand_written)
        raise SystemExit(
            f'benchmark_captioning.py: {len(differ)} of {len(files)} clips '
            f'captioned differently, first {path}: ours {a!r}, '
            f'hand-written {b!r}'
        )


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def _torch_threads(args) -> int:
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    else:
        # As tools/test.py with a test loader of --workers workers.
        loader = Config(
            dict(caption_dataloader=dict(num_workers=args.workers))
        )
        use_cpu_threads(loader, 'caption_dataloader')
    return torch.get_num_threads()


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = torch.device(args.device)
    threads = _torch_threads(args)
    model = build_captioner(args, device)
    num_frames, size = frame_sampling(model.cfg)
    with tempfile.TemporaryDirectory() as tmp_dir:
        if args.videos:
            where = f'from {args.videos}'
            folder = args.videos
        else:
            where = 'generated: 16-32 frames at 64-128 px'
            folder = tmp_dir
            write_clips(folder, args.num_videos, args.seed)
        files = []
        for item in iter_video_files(folder):
            files.append(item.path)
            if len(files) == args.num_videos:
                break
        cores = len(os.sched_getaffinity(0))
        print(
            f'{osp.basename(args.config)}: {args.model} weights'
            f'{" + " + args.checkpoint if args.checkpoint else ""}; '
            f'{len(files)} clips ({where}), {num_frames} frames at '
            f'{size[0]} x {size[1]}; {device}; {_cpu_name()}, {cores} '
            f'cores, {threads} PyTorch thread(s) in both paths; median of '
            f'{args.repeats} runs'
        )
        paths = dict(
            ours=lambda: our_captions(
                model, files, args.batch_size, args.workers
            ),
            hand=lambda: hand_written_captions(model, files, num_frames, size),
        )
        # Warm-up: first calls allocate and, on a GPU, pick kernels.
        warm = files[: args.batch_size]
        our_captions(model, warm, args.batch_size, args.workers)
        hand_written_captions(model, warm, num_frames, size)
        runs = dict(ours=[], hand=[])
        for _ in range(args.repeats):
            for name, run in paths.items():
                runs[name].append(timed(run, model, device))
    captions = {name: r[0][0] for name, r in runs.items()}
    check_same_captions(files, captions['ours'], captions['hand'])
    print(
        f'same captions: both paths give every one of the {len(files)} '
        f'clips the same caption ({len(set(captions["ours"]))} distinct)'
    )
    results = {}
    for name, r in runs.items():
        wall = statistics.median(run[1] for run in r)
        busy = statistics.median(run[2] / run[1] for run in r)
        results[name] = dict(clips_per_s=len(files) / wall, model_busy=busy)
    labels = dict(
        ours=f'ours (batch {args.batch_size}, workers {args.workers})',
        hand='hand-written (1 at a time)',
    )
    width = max(len(label) for label in labels.values())
    print(f'{"path":<{width}} {"clips/s":>8} {"model busy":>11}')
    for name, label in labels.items():
        print(
            f'{label:<{width}} {results[name]["clips_per_s"]:>8.2f} '
            f'{100 * results[name]["model_busy"]:>10.0f}%'
        )
    ratio = results['ours']['clips_per_s'] / results['hand']['clips_per_s']
    print(f'ratio: {ratio:.2f}x the hand-written loop')
    return dict(results, ratio=ratio, captions=captions['ours'])


if __name__ == '__main__':
    main()
