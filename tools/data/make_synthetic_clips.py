"""Generate synthetic captioned clips for the demo and for smoke tests.

Example::

    python tools/data/make_synthetic_clips.py data/synthetic --num-train 48
"""

import argparse

from vidcap_mm.datasets.synthetic import generate_synthetic_clips


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write synthetic shape clips (mp4) and LAVIS-layout '
        'caption annotations.'
    )
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--num-train', type=int, default=48)
    parser.add_argument('--num-val', type=int, default=12)
    parser.add_argument('--num-test', type=int, default=12)
    parser.add_argument('--num-frames', type=int, default=16)
    parser.add_argument(
        '--size', type=int, default=64, help='frame height and width'
    )
    parser.add_argument('--fps', type=float, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--num-references',
        type=int,
        default=3,
        help='reference captions per clip (1-4)',
    )
    parser.add_argument(
        '--two-shape-ratio',
        type=float,
        default=0.25,
        help='fraction of clips showing two shapes',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    paths = generate_synthetic_clips(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        num_frames=args.num_frames,
        size=args.size,
        fps=args.fps,
        seed=args.seed,
        num_references=args.num_references,
        two_shape_ratio=args.two_shape_ratio,
    )
    for key, path in paths.items():
        print(f'{key}: {path}')


if __name__ == '__main__':
    main()
