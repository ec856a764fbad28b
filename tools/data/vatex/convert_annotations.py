"""Convert VATEX's official JSON files (English captions) to the LAVIS layout.

Example::

    python tools/data/vatex/convert_annotations.py data/vatex \
        --train vatex_training_v1.0.json --val vatex_validation_v1.0.json
"""

import argparse

from vidcap_mm.datasets.converters import convert_and_write, convert_vatex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'out_dir', help='dataset root: writes annotations/{split}.json'
    )
    parser.add_argument('--train', help='vatex_training_v1.0.json')
    parser.add_argument('--val', help='vatex_validation_v1.0.json')
    parser.add_argument(
        '--test', help='a test file with English captions ("enCap")'
    )
    parser.add_argument('--video-ext', default='.mp4')
    args = parser.parse_args()
    if not (args.train or args.val or args.test):
        parser.error('give at least one of --train, --val, --test')
    print(
        convert_and_write(
            convert_vatex,
            args.out_dir,
            args.train,
            args.val,
            args.test,
            args.video_ext,
        )
    )


if __name__ == '__main__':
    main()
