"""Print predicted captions beside their references.

Several result files (e.g. after cross-entropy and after SCST) are printed
side by side, each under its label.

Example::

    python tools/analysis_tools/show_captions.py \\
        work_dirs/xe/test_captions.json work_dirs/scst/test_captions.json \\
        data/synthetic_clips/annotations/test.json --labels XE SCST --num 8
"""

import argparse
import json

from vidcap_mm.datasets import VideoCaptionDataset


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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    labels = args.labels or args.predictions
    if len(labels) != len(args.predictions):
        raise SystemExit(
            f'{len(labels)} labels for {len(args.predictions)} result files'
        )
    results = []
    for path in args.predictions:
        with open(path) as f:
            results.append(
                {str(p['image_id']): p['caption'] for p in json.load(f)}
            )
    dataset = VideoCaptionDataset(
        ann_file=args.annotations, pipeline=[], test_mode=True
    )
    width = max(len('reference'), *(len(label) for label in labels))
    for idx in range(min(args.num, len(dataset))):
        info = dataset.get_data_info(idx)
        video_id = info['video_id']
        print(video_id)
        for label, predictions in zip(labels, results):
            if video_id not in predictions:
                raise SystemExit(
                    f'{video_id!r} of {args.annotations} has no prediction '
                    f'in the {label} results'
                )
            print(f'  {label + ":":<{width + 1}} {predictions[video_id]!r}')
        print(f'  {"reference:":<{width + 1}} {info["gt_captions"][0]!r}')


if __name__ == '__main__':
    main()
