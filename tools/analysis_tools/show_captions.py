"""Print predicted captions beside their references.

Example::

    python tools/analysis_tools/show_captions.py \\
        work_dirs/x/test_captions.json \\
        data/synthetic_clips/annotations/test.json --num 8
"""

import argparse
import json

from vidcap_mm.datasets import VideoCaptionDataset


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'predictions', help='COCO result JSON from ' 'tools/test.py --dump'
    )
    parser.add_argument('annotations', help='the test annotation JSON')
    parser.add_argument('--num', type=int, default=8, help='how many')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with open(args.predictions) as f:
        predictions = {str(p['image_id']): p['caption'] for p in json.load(f)}
    dataset = VideoCaptionDataset(
        ann_file=args.annotations, pipeline=[], test_mode=True
    )
    for idx in range(min(args.num, len(dataset))):
        info = dataset.get_data_info(idx)
        video_id = info['video_id']
        print(
            f'{video_id}\n  predicted: {predictions.get(video_id)!r}\n'
            f'  reference: {info["gt_captions"][0]!r}'
        )


if __name__ == '__main__':
    main()
