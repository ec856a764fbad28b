"""Time and size one training step of a config's model.

The step is the runner's own: ``model.train_step(data, optim_wrapper)``
(data preprocessor, forward under the optim wrapper's context, backward,
optimizer step) on a synthetic batch of random frames and captions. It
prints, per setting (frames, batch, AMP), the step time, clips per second,
peak GPU memory and the split of the step into ViT, Q-Former, LLM (the
loss; for an SCST config this includes generating the candidates),
backward and optimizer; "other" is the rest (preprocessing, hooks of
the optim wrapper).

Weights are random: ``--random-weights`` builds the config's checkpoint at
its real dimensions (no download; see ``vidcap_mm/models/stand_ins.py``),
``--tiny`` the tiny model of the same LLM family (a smoke run on CPU).
Without either, ``pretrained`` is loaded as in training.

The step time is the mean over ``--steps`` steps with no synchronisation
inside; the split comes from as many more steps with the device
synchronised around each part (so it adds up to a little more).

``--feature-cache DIR`` also times epochs of ``--steps`` distinct batches
with the frozen ViT's tokens read from a disk cache under ``DIR``
(:class:`~vidcap_mm.models.FrameFeatureCache`, keyed by the config's test
pipeline): an epoch without the cache, the first epoch with it (the ViT
runs and its tokens are written) and a later one (the tokens are read).

Examples::

    python tools/analysis_tools/benchmark_train_step.py \\
        configs/msvd_flant5xl_ft.py --tiny --frames 2 --batch 2
    python tools/analysis_tools/benchmark_train_step.py \\
        configs/msvd_flant5xl_ft.py --random-weights --frames 8 16 \\
        --batch 64 --device cuda --json results.json
    python tools/analysis_tools/benchmark_train_step.py \\
        configs/msvd_flant5xl_ft.py --tiny --frames 8 --batch 8 \\
        --feature-cache /tmp/vit_cache
"""

import argparse
import copy
import json
import os.path as osp
import resource
import tempfile
import time

import numpy as np
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper

import vidcap_mm  # noqa: F401  (registers the model parts)
from vidcap_mm.engine.launch import allow_tf32, use_amp
from vidcap_mm.engine.phase_timer import PhaseTimer
from vidcap_mm.models import FrameFeatureCache
from vidcap_mm.models.stand_ins import (
    random_references,
    random_weights_model,
    suppress_non_words,
    tokenizer_words,
)

PHASES = ('ViT', 'Q-Former', 'LLM', 'backward', 'optimizer')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--frames', type=int, nargs='+', default=[8])
    parser.add_argument(
        '--batch',
        type=int,
        default=64,
        help='clips per step; halved until the step fits in memory',
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument('--random-weights', action='store_true')
    weights.add_argument('--tiny', action='store_true')
    parser.add_argument(
        '--amp',
        nargs='*',
        choices=['off', 'on'],
        default=['off'],
        help="AmpOptimWrapper ('on'), the config's wrapper ('off'), or both",
    )
    parser.add_argument(
        '--amp-dtype',
        default=None,
        help='autocast dtype under --amp on (default: as tools/train.py '
        '--amp chooses it, the dtype of the LLM)',
    )
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--caption-words', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--memory-limit-gib',
        type=float,
        default=None,
        help='cap the GPU memory this process may take (e.g. 80 for an '
        'A100-80G on a larger card)',
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument(
        '--feature-cache',
        metavar='DIR',
        help='also time epochs with the ViT tokens cached in a temporary '
        'folder under DIR',
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def build_model(cfg: Config, args, device: torch.device):
    model_cfg = cfg.model.to_dict()
    if args.tiny:
        model_cfg = random_weights_model(model_cfg, 'tiny')
    elif args.random_weights:
        model_cfg = random_weights_model(model_cfg, 'real')
    torch.manual_seed(args.seed)
    # Built on the device directly: a random model of billions of
    # parameters initialises there in seconds.
    with torch.device(device):
        model = MODELS.build(model_cfg)
    model.to(device).train()
    if model.objective is not None:
        from vidcap_mm.evaluation import CiderDRewardTerm, SCSTReward

        suppress_non_words(model, model.objective.generation_cfg)
        corpus = random_references(
            tokenizer_words(model.head.tokenizer),
            1000,
            20,
            np.random.default_rng(args.seed),
        )
        reward = SCSTReward([(CiderDRewardTerm(), 1.0)])
        reward.prepare(corpus)
        model.objective.set_reward(reward)
    return model


def synthetic_batch(
    model, frames: int, batch: int, words: int, rng, first: int = 0
):
    """Random uint8 clips and captions of the tokenizer's words; the clips
    are numbered from ``first`` (their file names key a feature cache)."""
    size = model.backbone.vision_model.config.image_size
    vocab = [
        w for w in model.head.tokenizer.get_vocab() if w.isalpha() and w
    ] or ['a']
    inputs, samples = [], []
    for idx in range(batch):
        clip = rng.integers(0, 256, (frames, 3, size, size), dtype=np.uint8)
        inputs.append(torch.from_numpy(clip))
        sample = ActionDataSample()
        sample.gt_caption = ' '.join(rng.choice(vocab, words))
        number = first + idx
        sample.set_metainfo(
            dict(
                video_id=f'video{number % 1000}',
                filename=f'video{number}.mp4',
                frame_inds=np.arange(frames),
            )
        )
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def optim_wrapper_for(cfg: Config, model, amp: bool, amp_dtype):
    """The config's optimizer wrapper, or what ``tools/train.py --amp``
    makes of it."""
    cfg = copy.deepcopy(cfg)
    if amp:
        if amp_dtype is not None:
            cfg.optim_wrapper.dtype = amp_dtype
        use_amp(cfg)
    return build_optim_wrapper(model, cfg.optim_wrapper)


def time_setting(model, cfg, args, device, frames, batch, amp):
    """One setting's figures (raises torch.OutOfMemoryError)."""
    rng = np.random.default_rng(args.seed)
    data = synthetic_batch(model, frames, batch, args.caption_words, rng)
    wrapper = optim_wrapper_for(cfg, model, amp, args.amp_dtype)
    timer = PhaseTimer(device)
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(args.warmup):
        model.train_step(data, wrapper)
    timer.sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        model.train_step(data, wrapper)
    timer.sync()
    step_s = (time.perf_counter() - start) / args.steps

    loss_owner = model.objective if model.objective is not None else None
    originals = []
    for owner, name, phase in (
        (model.backbone, 'forward', 'ViT'),
        (model.neck, 'forward', 'Q-Former'),
        (loss_owner or model.head, 'loss', 'LLM'),
        (wrapper, 'backward', 'backward'),
        (wrapper, 'step', 'optimizer'),
        (wrapper, 'zero_grad', 'optimizer'),
    ):
        originals.append((owner, name, owner.__dict__.get(name)))
        timer.wrap(owner, name, phase)
    try:
        for _ in range(args.steps):
            model.train_step(data, wrapper)
    finally:
        for owner, name, original in reversed(originals):
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
    result = dict(
        frames=frames,
        batch=batch,
        amp=amp,
        step_ms=1000 * step_s,
        clips_per_s=batch / step_s,
        split_ms={p: 1000 * timer.totals[p] / args.steps for p in PHASES},
    )
    if device.type == 'cuda':
        result['peak_gib'] = torch.cuda.max_memory_allocated(device) / 2**30
        result['reserved_gib'] = torch.cuda.max_memory_reserved(device) / 2**30
    else:
        result['peak_gib'] = (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        )
    del wrapper
    return result


def fit_setting(model, cfg, args, device, frames, amp):
    """The setting at ``--batch``, or the largest halving that fits."""
    batch = args.batch
    while True:
        try:
            return time_setting(model, cfg, args, device, frames, batch, amp)
        except torch.OutOfMemoryError:
            for param in model.parameters():
                param.grad = None
            torch.cuda.empty_cache()
            if batch == 1:
                return dict(frames=frames, batch=0, amp=amp, oom=True)
            print(f'  {frames} frames, batch {batch}: out of memory')
            batch //= 2


def time_feature_cache(model, cfg, args, device, frames, batch, amp):
    """Mean step time over an epoch of ``--steps`` distinct batches:
    without the cache, in the cache's first epoch and in a later one."""
    rng = np.random.default_rng(args.seed)
    epoch = [
        synthetic_batch(
            model, frames, batch, args.caption_words, rng, step * batch
        )
        for step in range(args.steps)
    ]
    wrapper = optim_wrapper_for(cfg, model, amp, args.amp_dtype)
    timer = PhaseTimer(device)
    backbone = model.backbone

    def epoch_ms():
        timer.sync()
        start = time.perf_counter()
        for data in epoch:
            model.train_step(data, wrapper)
        timer.sync()
        return 1000 * (time.perf_counter() - start) / args.steps

    for data in epoch[: args.warmup]:
        model.train_step(data, wrapper)
    # The best of two epochs where there are two: other processes on the
    # machine slow single epochs down.
    uncached_ms = min(epoch_ms(), epoch_ms())
    with tempfile.TemporaryDirectory(dir=args.feature_cache) as cache_dir:
        backbone.feature_cache = FrameFeatureCache(
            cache_dir, backbone, cfg.test_dataloader.dataset.pipeline
        )
        try:
            first_ms = epoch_ms()
            later_ms = min(epoch_ms(), epoch_ms())
        finally:
            backbone.feature_cache = None
    return dict(
        frames=frames,
        batch=batch,
        amp=amp,
        uncached_ms=uncached_ms,
        first_epoch_ms=first_ms,
        later_epoch_ms=later_ms,
        speed_up=uncached_ms / later_ms,
    )


def print_feature_cache(cached: list, args) -> None:
    print(
        f'feature cache under {args.feature_cache}: mean step ms over '
        f'epochs of {args.steps} distinct batches'
    )
    print(
        f'{"frames":>6}{"batch":>6}{"amp":>5}{"no cache":>10}'
        f'{"1st epoch":>11}{"later":>9}{"speed-up":>10}'
    )
    for r in cached:
        print(
            f'{r["frames"]:>6}{r["batch"]:>6}{"on" if r["amp"] else "off":>5}'
            f'{r["uncached_ms"]:>10.1f}{r["first_epoch_ms"]:>11.1f}'
            f'{r["later_epoch_ms"]:>9.1f}{r["speed_up"]:>9.2f}x'
        )


def trainable_millions(model) -> float:
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return count / 1e6


def main(argv=None) -> list:
    args = parse_args(argv)
    device = torch.device(args.device)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    allow_tf32(cfg)
    if device.type == 'cuda' and args.memory_limit_gib is not None:
        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(
            min(1.0, args.memory_limit_gib * 2**30 / total), device
        )
    build_start = time.perf_counter()
    model = build_model(cfg, args, device)
    build_s = time.perf_counter() - build_start
    weights = (
        'tiny random'
        if args.tiny
        else 'random, real size'
        if args.random_weights
        else 'pretrained'
    )
    print(
        f'{osp.basename(args.config)}: {weights} weights, built in '
        f'{build_s:.1f} s; {trainable_millions(model):.2f} M trainable '
        f'parameters; {device}; mean of {args.steps} steps after '
        f'{args.warmup} warm-up'
    )
    if device.type == 'cuda':
        print(
            'weights on the GPU: '
            f'{torch.cuda.memory_allocated(device) / 2**30:.2f} GiB'
        )
    results, cached = [], []
    for frames in args.frames:
        for amp in args.amp:
            result = fit_setting(model, cfg, args, device, frames, amp == 'on')
            results.append(result)
            if args.feature_cache and not result.get('oom'):
                cached.append(
                    time_feature_cache(
                        model,
                        cfg,
                        args,
                        device,
                        frames,
                        result['batch'],
                        amp == 'on',
                    )
                )
    header = (
        f'{"frames":>6}{"batch":>6}{"amp":>5}{"step ms":>10}{"clips/s":>9}'
        f'{"peak GiB":>10}'
        + ''.join(f'{p:>11}' for p in PHASES)
        + f'{"other":>9}'
    )
    print(header)
    for r in results:
        if r.get('oom'):
            print(f'{r["frames"]:>6}{"-":>6}  out of memory at batch 1')
            continue
        split = r['split_ms']
        other = r['step_ms'] - sum(split.values())
        print(
            f'{r["frames"]:>6}{r["batch"]:>6}{"on" if r["amp"] else "off":>5}'
            f'{r["step_ms"]:>10.1f}{r["clips_per_s"]:>9.1f}'
            f'{r["peak_gib"]:>10.2f}'
            + ''.join(f'{split[p]:>11.1f}' for p in PHASES)
            + f'{other:>9.1f}'
        )
    if device.type != 'cuda':
        print('(CPU: "peak GiB" is the peak resident memory of the process)')
    if cached:
        print_feature_cache(cached, args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(
                dict(
                    config=args.config,
                    weights=weights,
                    results=results,
                    feature_cache=cached,
                ),
                f,
                indent=1,
            )
    return results + cached


if __name__ == '__main__':
    main()
