"""Time one SCST training step, split into its phases.

The step is the captioner's own (``mode='loss'`` with an ``SCSTObjective``
and the reward ``SCSTRewardHook`` builds, then ``backward``); the script
times its parts by wrapping the methods the step calls:

* visual tokens: ViT on every frame + Q-Former (``extract_feat``), once;
* generation: the k candidates per clip (and the greedy caption for the
  greedy baseline), without gradient;
* reward: ``--reward corpus`` (default): CIDEr-D of the candidates
  against all references of their video (corpus document frequencies over
  ``--corpus-videos`` x ``--refs`` references); ``--reward seed``: the
  seed's reward as its code computes it (``CiderDRewardTerm(mode='seed')``,
  against each record's own caption);
* re-scoring: the teacher-forced pass over all B*k candidates;
* backward; "other" is the rest (decoding, advantages, statistics).

It also times the seed's way of computing its reward (pycocoevalcap on
every step: the Java PTB tokenizer on the records' captions, then on the
candidates, then ``Cider`` with the candidates as references, as the
seed's code calls it) on the same captions when Java runs, and prints the
ratio to our reward and its share of the step had it been used.

Models are built from config with random weights: ``tiny-opt`` /
``tiny-t5`` (the demo's) or ``flan-t5-xl`` (BLIP-2 Flan-T5-XL dimensions:
EVA ViT-g 1408 x 39 layers at 224 px, Q-Former 768 x 12, T5-XL 2048 x 24;
GPU: ViT in fp16, LLM in bf16). Candidates are restricted to the words of
an offline tokenizer, so that captions are words the reward can score.

Examples::

    python tools/analysis_tools/benchmark_scst_step.py
    python tools/analysis_tools/benchmark_scst_step.py --model flan-t5-xl \\
        --frames 16 --batch 2 --device cuda
"""

import argparse
import os.path as osp
import resource
import time

import numpy as np
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config

import vidcap_mm  # noqa: F401  (registers the model parts)
from vidcap_mm.engine.phase_timer import PhaseTimer
from vidcap_mm.evaluation import CiderDRewardTerm, SCSTReward
from vidcap_mm.models.stand_ins import (
    random_references,
    random_weights_model,
    suppress_non_words,
    tokenizer_words,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PHASES = ('visual tokens', 'generation', 'reward', 're-scoring', 'backward')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--model',
        choices=['tiny-opt', 'tiny-t5', 'flan-t5-xl'],
        default='tiny-t5',
    )
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--candidates', type=int, default=5)
    parser.add_argument('--max-new-tokens', type=int, default=32)
    parser.add_argument(
        '--baseline',
        choices=['beam_mean', 'greedy', 'leave_one_out'],
        default='beam_mean',
    )
    parser.add_argument(
        '--reward',
        choices=['corpus', 'seed'],
        default='corpus',
        help="CiderDRewardTerm's mode",
    )
    parser.add_argument('--corpus-videos', type=int, default=6513)
    parser.add_argument('--refs', type=int, default=20)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--no-java', action='store_true', help='skip the pycocoevalcap way'
    )
    return parser.parse_args()


def model_cfg(args) -> dict:
    objective = dict(
        type='SCSTObjective',
        num_candidates=args.candidates,
        baseline=args.baseline,
        generation_cfg=dict(max_new_tokens=args.max_new_tokens),
    )
    if args.model.startswith('tiny'):
        kind = args.model.split('-')[1]
        cfg = Config.fromfile(
            osp.join(
                REPO, 'configs', '_base_', 'models', f'tiny_blip2_{kind}.py'
            )
        ).model.to_dict()
        cfg['objective'] = objective
        return cfg
    on_gpu = args.device.startswith('cuda')
    model = dict(
        type='Blip2VideoCaptioner',
        pretrained='Salesforce/blip2-flan-t5-xl',
        backbone=dict(
            type='Blip2VisionBackbone', dtype='float16' if on_gpu else None
        ),
        neck=dict(type='QFormerFusionNeck'),
        head=dict(
            type='LLMCaptionHead',
            prompt='a video of',
            dtype='bfloat16' if on_gpu else None,
        ),
        objective=objective,
    )
    return random_weights_model(model, 'real')


def pycocoevalcap_reward_ms(captions, records, repeat: int = 3):
    """The seed's per-step reward as its code computes it: Java PTB on the
    records' captions, then on the candidates, then pycocoevalcap's
    ``Cider`` with the candidates as references (its swapped call)."""
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        tokenizer = PTBTokenizer()
        tokenized_records = tokenizer.tokenize(
            {i: [dict(caption=r)] for i, r in enumerate(records)}
        )
        tokenized_captions = tokenizer.tokenize(
            {i: [dict(caption=c)] for i, c in enumerate(captions)}
        )
        Cider().compute_score(tokenized_captions, tokenized_records)
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True

    build_start = time.perf_counter()
    captioner = MODELS.build(model_cfg(args)).to(device).train()
    suppress_non_words(captioner, captioner.objective.generation_cfg)
    build_s = time.perf_counter() - build_start
    corpus = random_references(
        tokenizer_words(captioner.head.tokenizer),
        args.corpus_videos,
        args.refs,
        rng,
    )
    reward_start = time.perf_counter()
    reward = SCSTReward([(CiderDRewardTerm(mode=args.reward), 1.0)])
    reward.prepare(corpus)
    captioner.objective.set_reward(reward)
    reward_build_s = time.perf_counter() - reward_start

    size = captioner.backbone.vision_model.config.image_size
    video_ids = [f'video{v}' for v in range(args.batch)]
    samples = []
    for video_id in video_ids:
        sample = ActionDataSample()
        sample.gt_caption = corpus[video_id][0]
        sample.set_metainfo(dict(video_id=video_id))
        samples.append(sample)
    inputs = torch.randn(args.batch, args.frames, 3, size, size, device=device)
    params = [p for p in captioner.parameters() if p.requires_grad]

    timer = PhaseTimer(device)
    head, objective = captioner.head, captioner.objective
    timer.wrap(captioner, 'extract_feat', 'visual tokens')
    timer.wrap(head, 'generate', 'generation')
    timer.wrap(objective, 'rewards', 'reward')
    timer.wrap(head, 'sequence_log_probs', 're-scoring')
    captions_seen = []
    decode = head.decode

    def decode_and_keep(token_ids):
        captions = decode(token_ids)
        captions_seen.append(captions)
        return captions

    head.decode = decode_and_keep

    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    step_times = []
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            timer.totals.clear()
        timer.sync()
        start = time.perf_counter()
        loss = captioner(inputs, samples, mode='loss')['loss_scst']
        timer.sync()
        backward_start = time.perf_counter()
        loss.backward()
        timer.sync()
        end = time.perf_counter()
        timer.totals['backward'] += end - backward_start
        for p in params:
            p.grad = None
        if step >= args.warmup:
            step_times.append(end - start)

    total_ms = 1000 * sum(step_times) / args.steps
    print(
        f'SCST step: {args.model}, {args.frames} frames, batch '
        f'{args.batch}, {args.candidates} beams, baseline {args.baseline}, '
        f'reward {args.reward}, max {args.max_new_tokens} new tokens, '
        f'{device}; mean of '
        f'{args.steps} steps after {args.warmup} warm-up'
    )
    print(
        f'model built in {build_s:.1f} s; reward corpus of '
        f'{args.corpus_videos} videos x {args.refs} references built in '
        f'{reward_build_s:.1f} s'
    )
    print(f'{"phase":<14}{"ms":>10}{"share":>9}')
    accounted = 0.0
    for phase in PHASES:
        ms = 1000 * timer.totals[phase] / args.steps
        accounted += ms
        print(f'{phase:<14}{ms:>10.1f}{ms / total_ms:>9.1%}')
    other = total_ms - accounted
    print(f'{"other":<14}{other:>10.1f}{other / total_ms:>9.1%}')
    print(f'{"step":<14}{total_ms:>10.1f}{1:>9.0%}')
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated(device) / 2**30
        print(f'peak GPU memory: {peak:.2f} GiB')
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f'peak resident memory: {peak:.2f} GiB')

    if args.no_java:
        return
    from vidcap_mm.evaluation.java_runtime import ensure_java

    try:
        ensure_java()
    except RuntimeError as error:
        print(f'(pycocoevalcap way not timed: {error})')
        return
    captions = captions_seen[-1]
    own = [s.gt_caption for s in samples for _ in range(args.candidates)]
    java_ms = pycocoevalcap_reward_ms(captions, own)
    ours_ms = 1000 * timer.totals['reward'] / args.steps
    print(
        "the seed's way (Java PTB + pycocoevalcap Cider, record captions): "
        f'{java_ms:.1f} ms per step; ours ({args.reward}) {ours_ms:.1f} ms, '
        f"ratio {java_ms / ours_ms:.0f}; the seed's way would be "
        f'{java_ms / (total_ms - ours_ms + java_ms):.1%} of this step'
    )


if __name__ == '__main__':
    main()
