"""Assemble a BLIP-2 model directory from an InstructBLIP model:
``python tools/model_converters/instructblip_to_blip2.py SRC DST``.

SRC is an InstructBLIP model id or directory (the seed's Vicuna recipe:
``Salesforce/instructblip-vicuna-7b``); DST gets a
``Blip2ForConditionalGeneration`` (``save_pretrained``) of its ViT, query
tokens, Q-Former less the parts only text passes through, language
projection and LLM, and the LLM tokenizer with '</s>' as its BOS, as LAVIS's
Vicuna tokenizer. ``pretrained=DST`` then loads it
(``configs/_base_/models/blip2_vicuna7b.py``). What is left out and why:
:mod:`vidcap_mm.models.instructblip_to_blip2`.
"""

import argparse
import sys

from vidcap_mm.models.instructblip_to_blip2 import assemble_blip2_directory


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the BLIP-2 model (a Q-Former that reads no '
        'text) of an InstructBLIP model.'
    )
    parser.add_argument('src', help='InstructBLIP model id or directory')
    parser.add_argument('dst', help='directory to write')
    parser.add_argument(
        '--dtype',
        default='auto',
        help="weights' dtype (default: auto, as SRC stores them)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        left_out = assemble_blip2_directory(args.src, args.dst, args.dtype)
    except (OSError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(
        f'{args.src} -> {args.dst}: BLIP-2 model and LLM tokenizer; left '
        f'out {len(left_out)} Q-Former tensors that only text reads '
        '(embeddings, text feed-forward blocks).'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
