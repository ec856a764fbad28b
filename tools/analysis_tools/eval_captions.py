"""Score a caption result file with CaptionMetric, without a model.

PRED is a COCO caption result file (``[{"image_id": ..., "caption": ...}]``,
what ``tools/test.py`` dumps). GT is either COCO caption annotations (a dict
with ``"annotations": [{"image_id": ..., "caption": ...}]``) or our LAVIS
JSON annotation file. Every video of GT needs exactly one prediction.

Example::

    python tools/analysis_tools/eval_captions.py \\
        work_dirs/x/test_captions.json \\
        data/synthetic_clips/annotations/test.json --tokenizer python
"""

import argparse
import json
from collections import OrderedDict
from typing import Dict, List

from vidcap_mm.datasets import AnnotationError, VideoCaptionDataset
from vidcap_mm.datasets.annotation_files import (
    load_caption_results,
    read_json_file,
)
from vidcap_mm.evaluation import CaptionMetric


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('predictions', help='COCO caption result JSON')
    parser.add_argument(
        'annotations', help='COCO caption annotations or our LAVIS JSON'
    )
    parser.add_argument(
        '--scorers',
        nargs='+',
        default=['BLEU', 'METEOR', 'ROUGE_L', 'CIDEr'],
        help='any of BLEU METEOR ROUGE_L CIDEr SPICE',
    )
    parser.add_argument(
        '--tokenizer',
        default='auto',
        choices=['auto', 'java', 'python'],
        help="PTB tokenizer: pycocoevalcap's Java one (auto: if Java runs) "
        'or ours (same tokens)',
    )
    parser.add_argument('--out', help='also write the scores to this JSON')
    return parser.parse_args()


def _is_coco_record(record) -> bool:
    return (
        isinstance(record, dict)
        and 'image_id' in record
        and 'caption' in record
    )


def load_references(path: str) -> Dict[str, List[str]]:
    """``{video_id: [reference, ...]}`` from COCO or LAVIS annotations."""
    data = read_json_file(
        path, 'COCO caption annotations or a LAVIS JSON list of records'
    )
    if isinstance(data, dict):
        if 'annotations' not in data:
            raise AnnotationError(
                f'{path}: expected COCO caption annotations (an object with '
                f'"annotations") or a LAVIS JSON list of records, got an '
                f'object with {sorted(data)[:5]}'
            )
        refs: Dict[str, List[str]] = OrderedDict()
        for i, ann in enumerate(data['annotations']):
            if not _is_coco_record(ann):
                raise AnnotationError(
                    f'{path}: annotation {i} lacks "image_id" or "caption": '
                    f'{ann!r}'
                )
            refs.setdefault(str(ann['image_id']), []).append(ann['caption'])
        return refs
    dataset = VideoCaptionDataset(
        ann_file=path, pipeline=[], test_mode=True, lazy_init=True
    )
    return dataset.get_references()


def main() -> None:
    args = parse_args()
    try:
        references = load_references(args.annotations)
        predictions = load_caption_results(args.predictions)
    except (FileNotFoundError, AnnotationError) as err:
        raise SystemExit(f'eval_captions.py: {err}') from None
    missing = [v for v in references if v not in predictions]
    extra = [v for v in predictions if v not in references]
    if missing or extra:
        raise SystemExit(
            f'{len(missing)} videos of {args.annotations} have no prediction '
            f'(e.g. {missing[:5]}) and {len(extra)} predictions have no '
            f'references (e.g. {extra[:5]}): every video is scored exactly '
            'once.'
        )
    metric = CaptionMetric(scorers=args.scorers, tokenizer=args.tokenizer)
    metric.process(
        None,
        [
            dict(video_id=v, pred_caption=predictions[v], gt_captions=refs)
            for v, refs in references.items()
        ],
    )
    scores = metric.evaluate(len(references))
    print(f'{len(references)} videos, {metric.tokenizer} PTB tokenizer')
    for name, value in scores.items():
        print(f'{name:32s} {value:.4f}')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(scores, f, indent=2)


if __name__ == '__main__':
    main()
