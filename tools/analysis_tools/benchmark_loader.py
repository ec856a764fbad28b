"""Clips per second of our training data path against a plain loader.

Ours: :class:`VideoCaptionDataset` with the seed's training pipeline from
``configs/_base_/datasets/msrvtt.py`` (decode at the model size, head-tail
sampling, random resized crop, flip, caption cleaning), then the
captioner's ``CaptionerDataPreprocessor`` normalising the batch. Plain: a
per-sample decord loader doing the seed's work in each worker (open the
file with decord's default threads, head-tail indices, decode at the model
size, random resized crop with bicubic interpolation, flip, normalise to
float).
Both read the same clips with the same number of frames.

By default the clips are copies of the real H.264 test clip
(``demo/examples/bikes_h264.mp4``, 640 x 272); ``--video`` takes
another file and ``--ann-file`` / ``--video-dir`` a real dataset.

Example::

    python tools/analysis_tools/benchmark_loader.py --workers 1 2
"""

import argparse
import json
import os
import os.path as osp
import shutil
import tempfile
import time

import decord
import numpy as np
import torch
import torch.nn.functional as F
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader, Dataset

import vidcap_mm  # noqa: F401  (registers our classes)
from vidcap_mm.models.data_preprocessor import CLIP_MEAN, CLIP_STD

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class PlainDecordClips(Dataset):
    """The seed's per-sample loading, written plainly for comparison."""

    def __init__(self, files, num_frames, size, num_threads=0):
        self.files = files
        self.num_threads = num_threads
        self.num_frames = num_frames
        self.size = size
        self.mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1) / 255
        self.std = torch.tensor(CLIP_STD).view(1, 3, 1, 1) / 255

    def __len__(self):
        return len(self.files)

    def _head_tail(self, total):
        half = total // 2
        head = sorted(np.random.choice(half, self.num_frames // 2, False))
        tail = sorted(
            np.random.choice(
                total - half, self.num_frames - self.num_frames // 2, False
            )
            + half
        )
        return [int(i) for i in head + tail]

    def __getitem__(self, idx):
        reader = decord.VideoReader(
            self.files[idx],
            width=self.size,
            height=self.size,
            num_threads=self.num_threads,
        )
        frames = reader.get_batch(self._head_tail(len(reader))).asnumpy()
        clip = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
        # Random resized crop, area 0.5-1.0, aspect 3/4-4/3, one per clip.
        area = self.size * self.size * np.random.uniform(0.5, 1.0)
        ratio = np.exp(np.random.uniform(np.log(3 / 4), np.log(4 / 3)))
        w = min(self.size, int(round(np.sqrt(area * ratio))))
        h = min(self.size, int(round(np.sqrt(area / ratio))))
        y = np.random.randint(0, self.size - h + 1)
        x = np.random.randint(0, self.size - w + 1)
        clip = F.interpolate(
            clip[:, :, y : y + h, x : x + w],
            size=(self.size, self.size),
            mode='bicubic',
            align_corners=False,
        )
        if np.random.rand() < 0.5:
            clip = clip.flip(-1)
        return (clip - self.mean) / self.std, 'caption'


def _clips(args, tmp_dir):
    """Annotation file and video directory to read."""
    if args.ann_file:
        return args.ann_file, args.video_dir
    video_dir = osp.join(tmp_dir, 'videos')
    os.makedirs(video_dir)
    ext = osp.splitext(args.video)[1]
    records = []
    for i in range(args.num_clips):
        name = f'clip{i:04d}{ext}'
        shutil.copy(args.video, osp.join(video_dir, name))
        records.append(dict(video=name, caption='A clip.', image_id=name))
    ann_file = osp.join(tmp_dir, 'train.json')
    with open(ann_file, 'w') as f:
        json.dump(records, f)
    return ann_file, video_dir


def _time(loader, on_batch, num_batches):
    """Clips per second over ``num_batches`` batches after the first (whose
    time includes starting the workers)."""
    it = iter(loader)
    on_batch(next(it))
    count, start = 0, time.perf_counter()
    for _ in range(num_batches):
        count += on_batch(next(it))
    return count / (time.perf_counter() - start)


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def _batches_to_time(num_clips, batch_size, max_batches):
    """How many batches, and clips, are timed after the first.

    Raises:
        SystemExit: If the clips fill no batch after the first.
    """
    num_batches = -(-num_clips // batch_size)  # the last one may be short
    if num_batches < 2:
        raise SystemExit(
            f'benchmark_loader.py: {num_clips} clip(s) make {num_batches} '
            f'batch(es) of {batch_size}, and the first batch is not timed '
            f'(it includes starting the workers): give at least '
            f'{batch_size + 1} clips (--num-clips) or a smaller --batch-size'
        )
    timed = min(max_batches, num_batches - 1)
    return timed, min(timed * batch_size, num_clips - batch_size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ann-file', help='LAVIS-layout annotations')
    parser.add_argument('--video-dir', default='', help='with --ann-file')
    parser.add_argument(
        '--video',
        default=osp.join(REPO, 'demo', 'examples', 'bikes_h264.mp4'),
        help='clip copied --num-clips times when no --ann-file',
    )
    parser.add_argument('--num-clips', type=_positive, default=96)
    parser.add_argument('--num-frames', type=_positive, default=8)
    parser.add_argument('--size', type=_positive, default=224)
    parser.add_argument('--batch-size', type=_positive, default=8)
    parser.add_argument(
        '--max-batches',
        type=_positive,
        default=12,
        help='batches timed after the first (fewer if the clips run out)',
    )
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    parser.add_argument(
        '--plain-threads',
        type=int,
        default=0,
        help="decord threads of the plain loader (0, decord's default, is "
        "the seed's; ours uses 1)",
    )
    parser.add_argument(
        '--repeats',
        type=_positive,
        default=3,
        help='runs per loader, best kept',
    )
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if min(args.workers) < 0:
        parser.error(f'--workers must be 0 or more, got {args.workers}')

    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', 'msrvtt.py')
    )
    pipeline = []
    for step in cfg.train_pipeline:
        step = step.to_dict()
        if step['type'] == 'HeadTailSample':
            step['num_frames'] = args.num_frames
        if step['type'] == 'DecordVideoInit':
            step['resize'] = (args.size, args.size)
        if step['type'] == 'Resize':
            step['scale'] = (args.size, args.size)
        pipeline.append(step)

    with (
        tempfile.TemporaryDirectory() as tmp_dir,
        DefaultScope.overwrite_default_scope('mmaction'),
    ):
        ann_file, video_dir = _clips(args, tmp_dir)
        ours = DATASETS.build(
            dict(
                type='VideoCaptionDataset',
                ann_file=ann_file,
                data_prefix=dict(video=video_dir),
                pipeline=pipeline,
                train_samples='per_video',
            )
        )
        files = [ours.get_data_info(i)['filename'] for i in range(len(ours))]
        num_batches, num_timed = _batches_to_time(
            len(files), args.batch_size, args.max_batches
        )
        plain = PlainDecordClips(
            files, args.num_frames, args.size, args.plain_threads
        )
        preprocessor = MODELS.build(dict(type='CaptionerDataPreprocessor'))

        def ours_batch(batch):
            inputs = preprocessor(batch)['inputs']
            return inputs.shape[0]

        def plain_batch(batch):
            return batch[0].shape[0]

        print(
            f'{len(files)} clips, {args.num_frames} frames at '
            f'{args.size} x {args.size}, batch {args.batch_size}, '
            f'{num_batches} batches ({num_timed} clips) timed after the '
            f'first, best of '
            f'{args.repeats}, plain loader with decord '
            f'num_threads={args.plain_threads}'
        )
        print(f'{"workers":>7} {"ours":>9} {"plain":>9} {"ratio":>6}')
        for workers in args.workers:
            # Alternate the two loaders and keep each one's best run: on a
            # shared machine other load only ever slows a run down.
            rates = [[], []]
            for _ in range(args.repeats):
                for k, (dataset, collate, on_batch) in enumerate(
                    (
                        (ours, pseudo_collate, ours_batch),
                        (plain, None, plain_batch),
                    )
                ):
                    torch.manual_seed(args.seed)
                    loader = DataLoader(
                        dataset,
                        batch_size=args.batch_size,
                        shuffle=True,
                        num_workers=workers,
                        collate_fn=collate,
                    )
                    rates[k].append(_time(loader, on_batch, num_batches))
            best = [max(r) for r in rates]
            print(
                f'{workers:>7} {best[0]:>7.1f}/s {best[1]:>7.1f}/s '
                f'{best[0] / best[1]:>5.2f}x'
            )


if __name__ == '__main__':
    main()
