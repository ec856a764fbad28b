"""Convert a LAVIS BLIP-2 checkpoint into a checkpoint of our captioner:
``python tools/model_converters/lavis_to_vidcap.py SRC DST --config CONFIG``.

SRC is a ``.pth`` file of LAVIS's ``Blip2T5``, ``Blip2OPT`` or
``Blip2VicunaInstruct`` (a release checkpoint or one its trainer saved);
CONFIG is the config DST is for (its model decides the keys, shapes and
trainable part). DST then loads with ``load_from=DST`` or
``python tools/test.py CONFIG DST``. The key mapping is documented in
:mod:`vidcap_mm.models.lavis_keys`.
"""

import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config

import vidcap_mm  # noqa: F401  (registers the model parts)
from vidcap_mm.models.lavis_checkpoint import (
    LavisCheckpointError,
    convert_lavis_checkpoint,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a LAVIS BLIP-2 checkpoint for a vidcap_mm '
        'config.'
    )
    parser.add_argument('src', help='LAVIS checkpoint (.pth)')
    parser.add_argument('dst', help='where to write our checkpoint')
    parser.add_argument(
        '--config', required=True, help='the config DST is for'
    )
    parser.add_argument(
        '--unsafe-load',
        action='store_true',
        help='load SRC with torch.load(weights_only=False): only for a '
        'file you trust that the safe loader refuses',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    try:
        checkpoint, conversion = convert_lavis_checkpoint(
            args.src,
            cfg.model.to_dict(),
            config_name=args.config,
            weights_only=not args.unsafe_load,
        )
    except LavisCheckpointError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    # Written beside DST and renamed: an interrupted run leaves no
    # truncated checkpoint under DST's name.
    partial = args.dst + '.partial'
    torch.save(checkpoint, partial)
    os.replace(partial, args.dst)
    what = (
        'the whole model'
        if conversion.complete
        else 'its trainable part and what else SRC holds (the rest comes '
        "from the config's pretrained weights)"
    )
    print(
        f'{args.src} (LAVIS {conversion.layout}): '
        f'{len(conversion.state_dict)} tensors -> {args.dst}, {what}.'
    )
    if conversion.dropped:
        print(f'left out {len(conversion.dropped)} constant buffers.')
    if conversion.tied_copies:
        print(
            f'left out {len(conversion.tied_copies)} second names of the '
            f"frozen LLM's tied weights ({', '.join(conversion.tied_copies)}"
            "): the config's pretrained weights supply them (not compared "
            'with SRC).'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
