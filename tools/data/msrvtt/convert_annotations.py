"""Convert MSR-VTT's official annotations to the LAVIS layout.

Example::

    python tools/data/msrvtt/convert_annotations.py data/msrvtt \
        train_val_videodatainfo.json test_videodatainfo.json
"""

import argparse

from vidcap_mm.datasets.converters import convert_and_write, convert_msrvtt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'out_dir', help='dataset root: writes annotations/{split}.json'
    )
    parser.add_argument(
        'ann_files',
        nargs='+',
        help='train_val_videodatainfo.json and/or test_videodatainfo.json',
    )
    parser.add_argument('--video-ext', default='.mp4')
    args = parser.parse_args()
    print(
        convert_and_write(
            convert_msrvtt, args.out_dir, args.ann_files, args.video_ext
        )
    )


if __name__ == '__main__':
    main()
