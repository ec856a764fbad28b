"""Print predicted captions beside their references.

Several result files (e.g. after cross-entropy and after SCST) are printed
side by side, each under its label.

Example::

    python tools/analysis_tools/show_captions.py \\
        work_dirs/xe/test_captions.json work_dirs/scst/test_captions.json \\
        data/synthetic_clips/annotations/test.json --labels XE SCST --num 8
"""

import argparse
from typing import Dict, List

from vidcap_mm.datasets import AnnotationError, VideoCaptionDataset
from vidcap_mm.datasets.annotation_files import load_caption_results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'predictions',
        nargs='+',
        help='COCO result JSON(s) from tools/test.py --dump',
    )
    parser.add_argument('annotations', help='the test annotation JSON')
    parser.add_argument(
        '--labels', nargs='+', help='a name per result file (default: path)'
    )
    parser.add_argument('--num', type=int, default=8, help='how many')
    args = parser.parse_args()
    if args.num < 1:
        parser.error(f'--num must be at least 1, got {args.num}')
    return args


def _some(ids: List[str]) -> str:
    return ', '.join(repr(i) for i in ids[:5]) + (
        ', ...' if len(ids) > 5 else ''
    )


def check_matches(
    video_ids: List[str], predictions: Dict[str, str], path: str, ann: str
) -> None:
    """Exit naming the videos shown that ``path`` has no prediction for.

    Args:
        video_ids (list[str]): The videos to show.
        predictions (dict): Video id -> caption, from ``path``.
        path (str): The result file.
        ann (str): The annotation file, for the message.
    """
    missing = [v for v in video_ids if v not in predictions]
    if not missing:
        return
    found = f'its {len(predictions)} id(s): {_some(list(predictions))}'
    if len(missing) == len(video_ids):
        raise SystemExit(
            f'show_captions.py: none of the {len(video_ids)} video ids shown '
            f'({_some(video_ids)}, from {ann}) matches a prediction in '
            f'{path} ({found}). Is it the result of this annotation file?'
        )
    raise SystemExit(
        f'show_captions.py: {len(missing)} of the {len(video_ids)} video ids '
        f'shown (from {ann}) match no prediction in {path} ({found}): '
        f'{_some(missing)}'
    )


def main() -> None:
    args = parse_args()
    labels = args.labels or args.predictions
    if len(labels) != len(args.predictions):
        raise SystemExit(
            f'{len(labels)} labels for {len(args.predictions)} result files'
        )
    try:
        results = [load_caption_results(p) for p in args.predictions]
        dataset = VideoCaptionDataset(
            ann_file=args.annotations, pipeline=[], test_mode=True
        )
    except (FileNotFoundError, AnnotationError) as err:
        raise SystemExit(f'show_captions.py: {err}') from None
    infos = [
        dataset.get_data_info(idx)
        for idx in range(min(args.num, len(dataset)))
    ]
    video_ids = [info['video_id'] for info in infos]
    for path, predictions in zip(args.predictions, results):
        check_matches(video_ids, predictions, path, args.annotations)
    width = max(len('reference'), *(len(label) for label in labels))
    for info in infos:
        video_id = info['video_id']
        print(video_id)
        for label, predictions in zip(labels, results):
            print(f'  {label + ":":<{width + 1}} {predictions[video_id]!r}')
        print(f'  {"reference:":<{width + 1}} {info["gt_captions"][0]!r}')


if __name__ == '__main__':
    main()
