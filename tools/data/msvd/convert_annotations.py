"""Convert MSVD's descriptions and clip mapping to the LAVIS layout.

Example::

    python tools/data/msvd/convert_annotations.py data/msvd \
        AllVideoDescriptions.txt youtube_mapping.txt
"""

import argparse

from vidcap_mm.datasets.converters import convert_and_write, convert_msvd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'out_dir', help='dataset root: writes annotations/{split}.json'
    )
    parser.add_argument(
        'descriptions',
        help='AllVideoDescriptions.txt or "MSR Video Description Corpus.csv"',
    )
    parser.add_argument('mapping', help='youtube_mapping.txt')
    parser.add_argument('--video-ext', default='.avi')
    args = parser.parse_args()
    print(
        convert_and_write(
            convert_msvd,
            args.out_dir,
            args.descriptions,
            args.mapping,
            args.video_ext,
        )
    )


if __name__ == '__main__':
    main()
