"""Caption a test set with a checkpoint and score it:
``python tools/test.py CONFIG [CHECKPOINT] [--dump preds.pkl]
[--show-dir DIR]``.
"""

import argparse

from mmengine.config import Config

from vidcap_mm.engine.launch import (
    add_launch_arguments,
    apply_launch_arguments,
    build_runner,
    end_process_group,
    use_cpu_threads,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and score) a video captioner.'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help="checkpoint file; without it the config's load_from (none for "
        'a zero-shot config)',
    )
    parser.add_argument(
        '--dump',
        help='also write the predictions: a .json file gets the COCO '
        'result format ([{"image_id", "caption"}]), a .pkl file every data '
        "sample (MMEngine's DumpResults)",
    )
    parser.add_argument(
        '--show-dir',
        help='write a picture of each test video (its frames, predicted '
        'and reference captions) to DIR/<video id>.png',
    )
    parser.add_argument(
        '--show',
        action='store_true',
        help='show each picture in a window',
    )
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2.0,
        help='seconds each picture is shown with --show (0: until a key)',
    )
    add_launch_arguments(parser, example='test_dataloader.batch_size=4')
    return parser.parse_args()


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    apply_launch_arguments(cfg, args)
    if args.checkpoint is not None:
        cfg.load_from = args.checkpoint
    # --cfg-options first: --dump turns a dict evaluator into a list,
    # which options such as test_evaluator.X=... no longer reach.
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.dump is not None:
        cfg.test_evaluator = add_dump(cfg.test_evaluator, args.dump)
    if args.show or args.show_dir is not None:
        turn_on_visualization(cfg, args)
    return cfg


def add_dump(evaluator, path: str) -> list:
    """The test evaluator, writing predictions to ``path`` as well."""
    metrics = [evaluator] if isinstance(evaluator, dict) else list(evaluator)
    if path.endswith('.json'):
        caption_metrics = [m for m in metrics if m['type'] == 'CaptionMetric']
        if not caption_metrics:
            raise ValueError(
                '--dump *.json needs a CaptionMetric in '
                'test_evaluator; use a .pkl file instead.'
            )
        caption_metrics[0]['dump_path'] = path
        return metrics
    if path.endswith(('.pkl', '.pickle')):
        return [*metrics, dict(type='DumpResults', out_file_path=path)]
    raise ValueError(f'--dump must name a .json or .pkl file, got {path!r}.')


def turn_on_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Enable ``default_hooks.visualization`` (a CaptionVisualizationHook
    unless the config names another) for ``--show`` / ``--show-dir``."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        hooks.visualization = dict(type='CaptionVisualizationHook')
    # Read back: the config stores a converted copy of what it is given.
    hook = hooks.visualization
    hook['enable'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir is not None:
        hook['out_dir'] = args.show_dir


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    use_cpu_threads(cfg, 'test_dataloader')
    build_runner(cfg).test()
    end_process_group()


if __name__ == '__main__':
    main()
