"""Caption a video, a folder of videos or a list of them with a trained
captioner: ``python demo/caption_video.py INPUT CONFIG [--checkpoint K]
[--out results.json | --out records.jsonl] [--show-dir DIR]``.

INPUT is a video, a folder (searched recursively) or a list file (``.txt``
/ ``.lst``: a path per line; ``.csv`` / ``.jsonl``: a ``path`` column or
key). Without ``--out`` or with a ``.json`` one, captions are printed as
``name<TAB>caption`` lines (and written as a COCO caption result file).
With ``--out OUT.jsonl`` the run is for many videos: one JSON record per
line and video, appended a batch at a time so that a killed run loses at
most the batch in flight and a rerun skips what OUT holds; videos that
cannot be read go to ``OUT.errors.jsonl`` with the reason. Videos decode in
``--workers`` DataLoader workers while the model captions. Unreadable
videos never stop a run; they are counted at the end and the exit status
is then 1 (2 when there is nothing to caption).
"""

import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import List, Optional

from mmengine.config import DictAction
from mmengine.utils import ProgressBar, mkdir_or_exist

from vidcap_mm.apis import (
    CaptionResult,
    Shots,
    collect_videos,
    init_captioner,
    iter_captions,
)
from vidcap_mm.apis.caption_loader import video_key
from vidcap_mm.apis.caption_records import (
    CaptionRecordError,
    CaptionRecordFile,
    caption_record,
    errors_path,
    file_digest,
    merge_record_parts,
    part_path,
    recorded_videos,
    segments_record,
)
from vidcap_mm.apis.subtitles import write_subtitles
from vidcap_mm.apis.video_inputs import iter_video_files
from vidcap_mm.visualization import picture_visualizer


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Caption videos with a trained video captioner.'
    )
    parser.add_argument(
        'video',
        help='a video file, a folder of videos or a list file (.txt / .lst: '
        'a path per line; .csv / .jsonl: a path column or key)',
    )
    parser.add_argument('config', help='config file of the captioner')
    parser.add_argument(
        '--checkpoint',
        help="checkpoint file; without it the config's weights "
        '(pretrained=, or random for a tiny config)',
    )
    parser.add_argument(
        '--out',
        help='OUT.json: the captions as a COCO caption result file '
        '([{"image_id", "caption", "video"}], what '
        'tools/analysis_tools/eval_captions.py scores); OUT.jsonl: one '
        'record per line and video (video, caption, duration, frames, '
        'config, checkpoint), appended as it goes and resumable',
    )
    parser.add_argument(
        '--show-dir',
        help='write a picture of each video (the sampled frames and the '
        'caption) to DIR/<name>.png',
    )
    parser.add_argument(
        '--device',
        help="e.g. 'cpu' or 'cuda:0' (default: cuda:0 when available)",
    )
    parser.add_argument(
        '--batch-size', type=int, default=1, help='videos per forward pass'
    )
    parser.add_argument(
        '--segment-seconds',
        type=float,
        help='caption each video in windows of this many seconds (each '
        "sampled the model's way within it) instead of once",
    )
    parser.add_argument(
        '--segment-stride',
        type=float,
        help='seconds from one window to the next (default: '
        '--segment-seconds, windows side by side)',
    )
    parser.add_argument(
        '--shots',
        action='store_true',
        help='caption each video shot by shot (cuts found by '
        "PySceneDetect's ContentDetector) instead of once",
    )
    parser.add_argument(
        '--shot-threshold',
        type=float,
        default=Shots().threshold,
        help="with --shots: ContentDetector's threshold, the frame-to-frame "
        'change that makes a cut (default 27; lower finds more cuts)',
    )
    parser.add_argument(
        '--subtitles',
        help='with --segment-seconds or --shots: write DIR/<name>.srt and '
        'DIR/<name>.vtt of each video',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='several processes (with --out OUT.jsonl): pytorch under '
        'torchrun (tools/dist_caption.sh), slurm under srun '
        '(tools/slurm_caption.sh)',
    )
    parser.add_argument(
        '--workers',
        type=int,
        default=2,
        help='DataLoader workers decoding videos ahead (0: in this process)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'model.head.generation_cfg.num_beams=1',
    )
    return parser.parse_args(argv)


def caption_video_files(args: argparse.Namespace) -> int:
    """Caption what ``args`` names; returns the exit status."""
    if args.batch_size < 1:
        print(
            f'error: --batch-size must be >= 1, got {args.batch_size}',
            file=sys.stderr,
        )
        return 2
    if args.workers < 0:
        print(
            f'error: --workers must be >= 0, got {args.workers}',
            file=sys.stderr,
        )
        return 2
    problem = _segment_problem(args)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    if args.out is not None and args.out.endswith('.jsonl'):
        return caption_to_records(args)
    if args.launcher != 'none':
        print(
            'error: --launcher needs --out OUT.jsonl (each process writes '
            'its part of it).',
            file=sys.stderr,
        )
        return 2
    try:
        videos = collect_videos(args.video)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    model = init_captioner(
        args.config, args.checkpoint, args.device, args.cfg_options
    )
    visualizer = picture_visualizer(model.cfg) if args.show_dir else None

    captioned: List[CaptionResult] = []
    failed: List[CaptionResult] = []
    progress = ProgressBar(len(videos), file=sys.stderr)
    for result in iter_captions(
        model,
        videos,
        args.batch_size,
        skip_unreadable=True,
        num_workers=args.workers,
        segments=_segments(args),
    ):
        if result.error is not None:
            failed.append(result)
        else:
            captioned.append(result)
            _draw(visualizer, result, args.show_dir)
            _write_subtitles(args, result)
        progress.update()
    sys.stderr.write('\n')

    for result in captioned:
        for caption in _printed(result):
            print(f'{result.name}\t{caption}')
    if args.out is not None:
        _write_results(args.out, captioned)
        print(f'Captions written to {args.out}', file=sys.stderr)
    if args.show_dir is not None and captioned:
        print(f'Pictures written to {args.show_dir}', file=sys.stderr)
    if failed:
        print(
            f'{len(failed)} of {len(videos)} videos could not be read:',
            file=sys.stderr,
        )
        for result in failed:
            print(f'  {result.path}: {result.error}', file=sys.stderr)
    if not captioned:
        print(
            f'error: no readable video in {args.video}; nothing was '
            'captioned.',
            file=sys.stderr,
        )
    return 1 if failed else 0


def caption_to_records(args: argparse.Namespace) -> int:
    """``--out OUT.jsonl``: caption what is not in OUT yet, appending a
    record per video a batch at a time; returns the exit status.

    Under ``--launcher pytorch`` (torchrun: tools/dist_caption.sh) or
    ``slurm`` (srun: tools/slurm_caption.sh) each process captions every
    R-th batch into its own part of OUT, and the first merges the parts
    into OUT in input order at the end (torch.distributed directly: the
    work is a stream of videos written as it goes, not MMEngine's test
    loop, which gathers all results on one process at the end).
    """
    rank, world_size = start_processes(args.launcher)
    try:
        return _caption_share(args, rank, world_size)
    finally:
        end_processes()


def _caption_share(args, rank: int, world_size: int) -> int:
    lead = rank == 0
    try:
        done = recorded_videos(args.out)
        # A pass over the names only (no decoding) for the progress total.
        todo = sum(
            video_key(item) not in done
            for item in iter_video_files(args.video)
        )
    except (CaptionRecordError, FileNotFoundError) as err:
        _say(lead, f'error: {err}')
        return 2
    # Every process has read what is done before any writes more.
    barrier()
    if todo == 0:
        if done and lead:
            merge_record_parts(args.out, _order(args.video))
            merge_record_parts(errors_path(args.out), _order(args.video))
        _say(
            lead,
            f'All videos of {args.video} are in {args.out} already '
            f'({len(done)} records).'
            if done
            else f'error: no video in {args.video}.',
        )
        return 0 if done else 2
    if done:
        _say(
            lead,
            f'{args.out} holds {len(done)} records: captioning the other '
            f'{todo} videos.',
        )
    out, errors_out = args.out, errors_path(args.out)
    if world_size > 1:
        out = part_path(args.out, rank, world_size)
        errors_out = part_path(errors_out, rank, world_size)
    records, errors = CaptionRecordFile(out), CaptionRecordFile(errors_out)
    device = args.device or local_device(world_size)
    model = init_captioner(
        args.config, args.checkpoint, device, args.cfg_options
    )
    visualizer = picture_visualizer(model.cfg) if args.show_dir else None
    run = dict(
        config=osp.basename(args.config),
        checkpoint=file_digest(args.checkpoint),
    )
    progress = Progress(
        share_size(todo, args.batch_size, rank, world_size), enabled=lead
    )
    captioned, failed, batch, batch_errors = 0, 0, [], []
    for result in iter_captions(
        model,
        args.video,
        args.batch_size,
        skip_unreadable=True,
        num_workers=args.workers,
        skip=done,
        shard=(rank, world_size),
        segments=_segments(args),
    ):
        key = result.path if result.path is not None else result.name
        if result.error is not None:
            failed += 1
            batch_errors.append(dict(video=key, error=result.error))
            print(f'unreadable: {key}: {result.error}', file=sys.stderr)
        else:
            captioned += 1
            if result.segments is not None:
                batch.append(
                    segments_record(key, result.segments, result.duration, run)
                )
            else:
                batch.append(
                    caption_record(
                        key, result.caption, result.data_sample.metainfo, run
                    )
                )
            _draw(visualizer, result, args.show_dir)
            _write_subtitles(args, result)
        if len(batch) + len(batch_errors) == args.batch_size:
            records.append(batch)
            errors.append(batch_errors)
            batch, batch_errors = [], []
        progress.update(captioned + failed)
    records.append(batch)
    errors.append(batch_errors)
    progress.close(captioned + failed)
    captioned, failed = sum_over_processes(captioned, failed)
    if lead:
        merge_record_parts(args.out, _order(args.video))
        merge_record_parts(errors_path(args.out), _order(args.video))
    _say(
        lead,
        f'{captioned} videos captioned into {args.out}'
        + (
            f'; {failed} could not be read (listed in '
            f'{errors_path(args.out)})'
            if failed
            else ''
        )
        + '.',
    )
    return 1 if failed else 0


def _order(source: str):
    return (video_key(item) for item in iter_video_files(source))


def _say(lead: bool, message: str) -> None:
    if lead:
        print(message, file=sys.stderr)


def start_processes(launcher: str):
    """``(rank, world_size)`` of this process, after joining the process
    group for ``pytorch`` (torchrun) or ``slurm`` (srun); ``(0, 1)`` for
    ``none``."""
    if launcher == 'none':
        return 0, 1
    import torch
    import torch.distributed as dist

    if launcher == 'slurm':
        from vidcap_mm.engine.distributed import set_slurm_environment

        set_slurm_environment()
    backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    if backend == 'nccl':
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def end_processes() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def sum_over_processes(*counts: int):
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return counts
    total = torch.tensor(counts, dtype=torch.long)
    if dist.get_backend() == 'nccl':
        total = total.cuda()
    dist.all_reduce(total)
    return tuple(int(c) for c in total.tolist())


def local_device(world_size: int) -> Optional[str]:
    """This process's GPU under a launcher (None: init_captioner's
    default)."""
    import torch

    if world_size > 1 and torch.cuda.is_available():
        return f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    return None


def share_size(todo: int, batch_size: int, rank: int, world_size: int) -> int:
    """How many of ``todo`` videos (in batches) fall to ``rank``."""
    batches = -(-todo // batch_size)
    mine = len(range(rank, batches, world_size))
    if mine and (batches - 1) % world_size == rank:
        return (mine - 1) * batch_size + todo - (batches - 1) * batch_size
    return mine * batch_size


class Progress:
    """Count, rate and time left: a tqdm bar on a terminal (tqdm comes with
    transformers and draws rate and ETA itself), plain lines every
    ``interval`` seconds otherwise (logs, batch jobs)."""

    def __init__(
        self, total: int, interval: float = 30.0, enabled: bool = True
    ) -> None:
        self.total = total
        self.interval = interval
        self.enabled = enabled
        self.start = self.last = time.monotonic()
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit='video', file=sys.stderr)
        self.count = 0

    def update(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count - self.count)
        elif self.enabled and time.monotonic() - self.last >= self.interval:
            self.last = time.monotonic()
            print(self.line(count), file=sys.stderr, flush=True)
        self.count = count

    def line(self, count: int, now: Optional[float] = None) -> str:
        elapsed = (now or time.monotonic()) - self.start
        rate = count / elapsed if elapsed > 0 else 0.0
        left = (self.total - count) / rate if rate > 0 else float('nan')
        return (
            f'{count}/{self.total} videos, {rate:.2f} videos/s, '
            f'{_duration(elapsed)} elapsed, {_duration(left)} left'
        )

    def close(self, count: int) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(self.line(count), file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds != seconds:  # nan: no rate yet
        return '?'
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f'{hours}:{minutes:02d}:{seconds:02d}'


def _segment_problem(args: argparse.Namespace) -> Optional[str]:
    if args.shots:
        if args.segment_seconds is not None:
            return '--shots or --segment-seconds: not both.'
        if not args.shot_threshold > 0:
            return '--shot-threshold must be > 0.'
    elif args.segment_seconds is None:
        if args.segment_stride is not None or args.subtitles is not None:
            return (
                '--segment-stride and --subtitles need --segment-seconds '
                '(--subtitles: or --shots).'
            )
        return None
    elif args.segment_seconds <= 0 or (args.segment_stride or 1) <= 0:
        return '--segment-seconds and --segment-stride must be > 0.'
    if args.show_dir is not None:
        return '--show-dir draws one picture a video: not with segments.'
    if args.out is not None and not args.out.endswith('.jsonl'):
        return 'segments are written to --out OUT.jsonl (or printed).'
    return None


def _segments(args: argparse.Namespace):
    if args.shots:
        return Shots(args.shot_threshold)
    if args.segment_seconds is None:
        return None
    return args.segment_seconds, args.segment_stride or args.segment_seconds


def _printed(result: CaptionResult) -> List[str]:
    if result.segments is None:
        return [result.caption]
    return [
        f'{s["start"]:.3f}-{s["end"]:.3f}\t{s["caption"]}'
        for s in result.segments
    ]


def _write_subtitles(args: argparse.Namespace, result: CaptionResult):
    if args.subtitles is not None and result.segments is not None:
        write_subtitles(args.subtitles, result.name, result.segments)


def _draw(visualizer, result: CaptionResult, show_dir: str) -> None:
    """``show_dir/<name>.png``: what the model saw and said."""
    if visualizer is not None:
        visualizer.add_datasample(
            result.name,
            result.frames,
            result.data_sample,
            out_file=osp.join(show_dir, f'{result.name}.png'),
        )


def _write_results(path: str, results: List[CaptionResult]) -> None:
    records = [
        dict(image_id=r.name, caption=r.caption, video=r.path) for r in results
    ]
    mkdir_or_exist(osp.dirname(osp.abspath(path)))
    with open(path, 'w', encoding='utf-8') as file:
        json.dump(records, file, ensure_ascii=False, indent=1)


def main(argv=None) -> int:
    return caption_video_files(parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
