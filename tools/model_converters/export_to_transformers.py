"""Export a trained captioner as a transformers model directory:
``python tools/model_converters/export_to_transformers.py CONFIG CHECKPOINT
OUT_DIR``.

OUT_DIR gets the BLIP-2 / InstructBLIP model (``save_pretrained``, LoRA
merged into the LLM), its tokenizers, BLIP-2's image processor and
``vidcap_config.py``, our config loading OUT_DIR with no checkpoint:
``init_captioner('OUT_DIR/vidcap_config.py')`` or ``tools/test.py
OUT_DIR/vidcap_config.py``. What each holds:
:func:`vidcap_mm.apis.transformers_export.export_to_transformers`.
"""

import argparse
import sys

from mmengine.config import DictAction

from vidcap_mm.apis.transformers_export import export_to_transformers
from vidcap_mm.models import CheckpointMismatchError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a trained captioner (LoRA merged) as a '
        'transformers model directory with its tokenizers and our config.'
    )
    parser.add_argument('config', help='the training config')
    parser.add_argument('checkpoint', help='our checkpoint (.pth)')
    parser.add_argument('out_dir', help='directory to write')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as in tools/test.py',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        files = export_to_transformers(
            args.config, args.checkpoint, args.out_dir, args.cfg_options
        )
    except (CheckpointMismatchError, OSError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(
        f'{args.checkpoint} -> {args.out_dir}: {", ".join(files)}. Load it '
        f'with init_captioner("{args.out_dir}/vidcap_config.py").'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
