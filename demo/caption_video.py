"""Caption a video, or every video of a folder, with a trained captioner:
``python demo/caption_video.py VIDEO_OR_FOLDER CONFIG [--checkpoint K]
[--out results.json] [--show-dir DIR]``.

Captions are printed as ``name<TAB>caption`` lines. Videos that cannot be
read are listed with the reason at the end, after the others are
captioned; the exit status is then 1 (2 when there is nothing to caption).
"""

import argparse
import json
import os.path as osp
import sys
from typing import List

from mmengine.config import DictAction
from mmengine.utils import ProgressBar, mkdir_or_exist

from vidcap_mm.apis import (
    CaptionResult,
    collect_videos,
    init_captioner,
    iter_captions,
)
from vidcap_mm.visualization import CaptionVisualizer


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Caption videos with a trained video captioner.'
    )
    parser.add_argument('video', help='a video file or a folder of videos')
    parser.add_argument('config', help='config file of the captioner')
    parser.add_argument(
        '--checkpoint',
        help="checkpoint file; without it the config's weights "
        '(pretrained=, or random for a tiny config)',
    )
    parser.add_argument(
        '--out',
        help='write the captions as a COCO caption result file '
        '([{"image_id", "caption", "video"}], what '
        'tools/analysis_tools/eval_captions.py scores)',
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
    try:
        videos = collect_videos(args.video)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    model = init_captioner(
        args.config, args.checkpoint, args.device, args.cfg_options
    )
    visualizer = _visualizer(model.cfg) if args.show_dir else None

    captioned: List[CaptionResult] = []
    failed: List[CaptionResult] = []
    progress = ProgressBar(len(videos), file=sys.stderr)
    for result in iter_captions(
        model, videos, args.batch_size, skip_unreadable=True
    ):
        if result.error is not None:
            failed.append(result)
        else:
            captioned.append(result)
            if visualizer is not None:
                visualizer.add_datasample(
                    result.name,
                    result.frames,
                    result.data_sample,
                    out_file=osp.join(args.show_dir, f'{result.name}.png'),
                )
        progress.update()
    sys.stderr.write('\n')

    for result in captioned:
        print(f'{result.name}\t{result.caption}')
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


def _visualizer(cfg) -> CaptionVisualizer:
    """The config's CaptionVisualizer settings (frame size, columns...),
    without its storage backends: pictures go to files."""
    settings = dict(cfg.get('visualizer') or {})
    if settings.pop('type', None) not in ('CaptionVisualizer', None):
        settings = {}
    for key in ('name', 'vis_backends', 'save_dir'):
        settings.pop(key, None)
    return CaptionVisualizer(name='caption_video', **settings)


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
