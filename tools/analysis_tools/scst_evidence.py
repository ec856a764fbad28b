"""Does SCST beat cross-entropy, and more cross-entropy? Evidence over seeds.

On the demo's synthetic clips, for each seed:

1. XE: cross-entropy from scratch (``configs/demo/tiny_<llm>_synthetic.py``
   with that seed), then its best checkpoint;
2. for each SCST config (``--variants``, default the demo's
   ``configs/demo/tiny_<llm>_synthetic_scst.py``), from that checkpoint:

   (a) the SCST run;
   (b) its control: the same config without SCST (no objective, no reward
       hook), i.e. cross-entropy continued from the same checkpoint with
       the same data, steps and schedule. Variants whose controls come out
       the same share one run;

3. every run's best checkpoint captions the test clips (``tools/test.py
   --dump``), scored here: BLEU-4, CIDEr (``CaptionMetric``), right
   captions (``SyntheticCaptionAccuracy``: shapes, colours and background
   all named right), unreadable captions (not a sentence of the synthetic
   grammar, e.g. cut before the last word), the share written in the
   first reference phrasing, and the phrasing bound (the CIDEr of each
   caption's content written in that phrasing: what rephrasing alone can
   reach, so CIDEr above it needs other content).

It prints a table per seed and the mean +- std over seeds (sample std),
with the ceiling (every test clip captioned with its first reference
phrasing, scored the same way), the share of the XE-to-ceiling CIDEr gap
each run closes, and whether each variant reaches the goal: SCST test
CIDEr above XE and above the control on every seed, right captions not
below XE's on average, at least half of the gap closed on average.
``--markdown FILE`` also writes the mean table as Markdown (the README's).

Runs go through ``tools/train.py`` / ``tools/test.py`` as subprocesses
with ``OMP_NUM_THREADS=1`` unless set (as ``tools/demo.sh``), each in its
own directory under ``--work-dir`` with the config it ran. A rerun reuses
every finished run whose config is unchanged, so an interrupted study
resumes and adding a variant runs only what is new. ``--num-train`` etc.
make a smaller clip set for a quick look (its own data directory).

Examples::

    python tools/analysis_tools/scst_evidence.py
    python tools/analysis_tools/scst_evidence.py --num-train 256 --seeds 0
    python tools/analysis_tools/scst_evidence.py --variants \\
        configs/demo/tiny_opt_synthetic_scst.py \\
        configs/demo/tiny_opt_synthetic_scst_seed_reward.py
"""

import argparse
import glob
import json
import os
import os.path as osp
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

from mmengine.config import Config

from vidcap_mm.datasets.synthetic import (
    generate_synthetic_clips,
    make_captions,
    parse_caption,
)
from vidcap_mm.evaluation import CaptionMetric, SyntheticCaptionAccuracy

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The demo's clip set (tools/demo.sh): runs on it use the configs' paths.
DEMO_DATA = dict(num_train=2048, num_val=48, num_test=96)
DEMO_DATA_DIR = 'data/synthetic_clips'
DONE = 'done.json'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--llm', choices=['opt', 't5'], default='opt')
    parser.add_argument(
        '--variants',
        nargs='+',
        help='SCST configs to compare (default: the demo SCST config)',
    )
    parser.add_argument(
        '--no-control', action='store_true', help='skip the control runs'
    )
    parser.add_argument(
        '--num-train', type=int, default=DEMO_DATA['num_train']
    )
    parser.add_argument('--num-val', type=int, default=DEMO_DATA['num_val'])
    parser.add_argument('--num-test', type=int, default=DEMO_DATA['num_test'])
    parser.add_argument('--work-dir', default='work_dirs/scst_evidence')
    parser.add_argument(
        '--rerun-changed',
        action='store_true',
        help='replace finished runs whose config changed (default: stop)',
    )
    parser.add_argument('--markdown', help='write the mean table here too')
    args = parser.parse_args(argv)
    if not args.variants:
        args.variants = [f'configs/demo/tiny_{args.llm}_synthetic_scst.py']
    return args


# Data ---------------------------------------------------------------------


def prepare_data(args) -> Dict[str, str]:
    """The clip set; the demo's directory for the demo's sizes."""
    sizes = dict(
        num_train=args.num_train, num_val=args.num_val, num_test=args.num_test
    )
    if sizes == DEMO_DATA:
        root = DEMO_DATA_DIR
    else:
        root = 'data/synthetic_clips_{num_train}_{num_val}_{num_test}'.format(
            **sizes
        )
    paths = generate_synthetic_clips(root, **sizes)
    # Relative to the repository, so that a run's config does not depend
    # on where the checkout is.
    return {k: osp.relpath(v, REPO) for k, v in paths.items()}


def point_at_data(cfg: Config, data: Dict[str, str]) -> None:
    """Make every dataloader of ``cfg`` read the clip set ``data``."""
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        dataset = loader['dataset']
        dataset['ann_file'] = data[split]
        dataset['data_prefix'] = dict(video=data['video_dir'])


# Runs ---------------------------------------------------------------------


def stage_config(
    path: str,
    data: Dict[str, str],
    seed: int,
    load_from: Optional[str] = None,
    control: bool = False,
) -> Config:
    """The config one run trains with."""
    cfg = Config.fromfile(path)
    point_at_data(cfg, data)
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
    cfg.load_from = load_from
    if control:
        cfg.model.objective = None
        cfg.custom_hooks = [
            hook
            for hook in cfg.get('custom_hooks') or []
            if hook.get('type') != 'SCSTRewardHook'
        ]
    return cfg


def config_text(cfg: Config) -> str:
    """The config as text, without anything that names its run's place."""
    cfg = Config(cfg.to_dict())
    cfg.pop('work_dir', None)
    return cfg.pretty_text


def run(command: List[str], log: str) -> None:
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', '1')
    with open(log, 'w') as out:
        result = subprocess.run(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if result.returncode:
        with open(log) as f:
            tail = ''.join(f.readlines()[-30:])
        raise SystemExit(
            f'[scst_evidence] failed ({result.returncode}): '
            f'{" ".join(command)}\n--- end of {log} ---\n{tail}'
        )


def train_and_test(
    cfg: Config, work_dir: str, label: str, rerun_changed: bool = False
) -> dict:
    """Train ``cfg`` in ``work_dir`` and caption the test clips with its best
    checkpoint, unless a finished run of the same config is there. A
    finished run of another config is replaced only if ``rerun_changed``."""
    text = config_text(cfg)
    done = osp.join(work_dir, DONE)
    if osp.isfile(done):
        with open(done) as f:
            record = json.load(f)
        if record.get('config') == text:
            print(f'  {label}: reused {work_dir}', flush=True)
            return record
        if not rerun_changed:
            raise SystemExit(
                f'[scst_evidence] {work_dir} holds a finished run of another '
                f'config than {label} has now (its config: {work_dir}/'
                'config.py); move it away, or pass --rerun-changed to '
                'replace it.'
            )
        print(f'  {label}: config changed, rerunning {work_dir}', flush=True)
    if osp.isdir(work_dir):
        shutil.rmtree(work_dir)
    os.makedirs(work_dir)
    config = osp.join(work_dir, 'config.py')
    cfg.work_dir = work_dir
    cfg.dump(config)
    start = time.time()
    print(f'  {label}: training in {work_dir}', flush=True)
    run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir],
        osp.join(work_dir, 'train.out'),
    )
    (best,) = glob.glob(osp.join(work_dir, 'best_*.pth'))
    captions = osp.join(work_dir, 'test_captions.json')
    run(
        [
            sys.executable,
            'tools/test.py',
            config,
            best,
            '--work-dir',
            osp.join(work_dir, 'test'),
            '--dump',
            captions,
        ],
        osp.join(work_dir, 'test.out'),
    )
    record = dict(
        config=text,
        checkpoint=best,
        captions=captions,
        minutes=(time.time() - start) / 60,
    )
    with open(done + '.tmp', 'w') as f:
        json.dump(record, f)
    os.replace(done + '.tmp', done)
    return record


# Scores -------------------------------------------------------------------


def load_references(ann_file: str) -> Dict[str, List[str]]:
    with open(ann_file) as f:
        return {r['image_id']: list(r['caption']) for r in json.load(f)}


def load_predictions(path: str) -> Dict[str, str]:
    with open(path) as f:
        return {str(r['image_id']): r['caption'] for r in json.load(f)}


def score(
    predictions: Dict[str, str], references, phrasing: bool = True
) -> dict:
    """BLEU-4, CIDEr, right and unreadable captions of test predictions;
    with ``phrasing``, also the share written in the first reference
    phrasing and the phrasing bound: the CIDEr of the same content written
    in that phrasing (how far rephrasing alone can take these captions)."""
    missing = sorted(set(references) - set(predictions))
    if missing:
        raise SystemExit(
            f'[scst_evidence] no prediction for test videos {missing[:5]}'
        )
    samples = [
        dict(video_id=v, pred_caption=predictions[v], gt_captions=refs)
        for v, refs in references.items()
    ]
    caption, accuracy = (
        CaptionMetric(scorers=('BLEU', 'CIDEr')),
        SyntheticCaptionAccuracy(),
    )
    for metric in (caption, accuracy):
        metric.process(None, samples)
    captions = caption.compute_metrics(caption.results)
    right = accuracy.compute_metrics(accuracy.results)['accuracy']
    contents = {v: parse_caption(p) for v, p in predictions.items()}
    unreadable = sum(c is None for c in contents.values())
    scores = dict(
        BLEU_4=captions['BLEU_4'],
        CIDEr=captions['CIDEr'],
        right=right,
        unreadable=unreadable / len(references),
    )
    if phrasing:
        first = {
            v: make_captions(c, 1)[0] if c else predictions[v]
            for v, c in contents.items()
        }
        scores['first_phrasing'] = sum(
            first[v] == predictions[v] for v in references
        ) / len(references)
        bound = score(first, references, phrasing=False)
        scores['phrasing_bound'] = bound['CIDEr']
    return scores


def ceilings(references) -> List[float]:
    """Test CIDEr of captioning every clip with its k-th reference."""
    return [
        score(
            {v: refs[k] for v, refs in references.items()},
            references,
            phrasing=False,
        )['CIDEr']
        for k in range(min(len(r) for r in references.values()))
    ]


# Report -------------------------------------------------------------------

COLUMNS = (
    'BLEU_4',
    'CIDEr',
    'right',
    'unreadable',
    'gap_closed',
    'first_phrasing',
    'phrasing_bound',
)
HEADERS = (
    'BLEU-4',
    'CIDEr',
    'right captions',
    'unreadable',
    'gap closed',
    'first phrasing',
    'phrasing bound',
)


def cell(column: str, values: List[float]) -> str:
    scale, unit, digits = (
        (100, ' %', 1)
        if column in ('right', 'unreadable', 'gap_closed', 'first_phrasing')
        else (1, '', 3)
    )
    values = [scale * v for v in values]
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f'{mean:.{digits}f}{unit}'
    std = statistics.stdev(values)
    return f'{mean:.{digits}f} ± {std:.{digits}f}{unit}'


def table(rows: Dict[str, List[dict]], markdown: bool = False) -> str:
    lines = []
    if markdown:
        lines.append('| run | ' + ' | '.join(HEADERS) + ' |')
        lines.append('| --- ' * (len(HEADERS) + 1) + '|')
    else:
        width = max([30] + [len(name) + 2 for name in rows])
        lines.append(
            f'{"run":<{width}}' + ''.join(f'{h:>17}' for h in HEADERS).rstrip()
        )
    for name, scores in rows.items():
        cells = [
            cell(c, [s[c] for s in scores]) if c in scores[0] else '-'
            for c in COLUMNS
        ]
        if markdown:
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        else:
            lines.append(
                f'{name:<{width}}' + ''.join(f'{c:>17}' for c in cells)
            )
    return '\n'.join(lines)


def table_rows(
    run_of: Dict[int, Dict[str, str]], seeds: List[int]
) -> List[tuple]:
    """``(row name, label)`` for the tables: a control that is one run
    for several variants on every seed is one row, named after the first
    of them with how many more share it."""
    sharing: Dict[tuple, List[str]] = {}
    firsts = []
    for label in run_of[seeds[0]]:
        run = tuple(run_of[seed][label] for seed in seeds)
        if label.startswith('control: ') and run in sharing:
            sharing[run].append(label)
            continue
        sharing[run] = [label]
        firsts.append((label, run))
    rows = []
    for label, run in firsts:
        more = len(sharing[run]) - 1
        rows.append((f'{label} + {more} more' if more else label, label))
    return rows


def goal(xe: List[dict], scst: List[dict], control: Optional[List[dict]]):
    """The issue's goal, criterion by criterion."""
    checks = {
        'CIDEr above XE on every seed': all(
            s['CIDEr'] > x['CIDEr'] for s, x in zip(scst, xe)
        ),
        'right captions not below XE on average': statistics.fmean(
            s['right'] for s in scst
        )
        >= statistics.fmean(x['right'] for x in xe),
        'half the gap to the ceiling closed on average': statistics.fmean(
            s['gap_closed'] for s in scst
        )
        >= 0.5,
    }
    if control is not None:
        checks['CIDEr above the control on every seed'] = all(
            s['CIDEr'] > c['CIDEr'] for s, c in zip(scst, control)
        )
    return checks


def variant_name(path: str, llm: str) -> str:
    name = osp.splitext(osp.basename(path))[0]
    return name.replace(f'tiny_{llm}_synthetic_', '')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    os.chdir(REPO)
    data = prepare_data(args)
    references = load_references(data['test'])
    ceiling = ceilings(references)
    xe_config = f'configs/demo/tiny_{args.llm}_synthetic.py'
    names = [variant_name(v, args.llm) for v in args.variants]
    if len(set(names)) != len(names):
        raise SystemExit(f'[scst_evidence] variants repeat a name: {names}')
    tag = osp.basename(osp.dirname(data['root'] + '/'))
    root = osp.join(args.work_dir, f'{args.llm}_{tag}')

    results: Dict[int, Dict[str, dict]] = {}
    run_of: Dict[int, Dict[str, str]] = {}  # label -> its run's captions
    for seed in args.seeds:
        print(f'[scst_evidence] seed {seed}', flush=True)
        seed_dir = osp.join(root, f'seed_{seed}')
        rerun = dict(rerun_changed=args.rerun_changed)
        xe_run = train_and_test(
            stage_config(xe_config, data, seed),
            osp.join(seed_dir, 'xe'),
            'XE',
            **rerun,
        )
        runs = {'XE': xe_run}
        # Controls that came out the same (also in an earlier study of
        # this seed) share one run.
        controls: Dict[str, dict] = {}
        for done in sorted(glob.glob(osp.join(seed_dir, '*_control', DONE))):
            with open(done) as f:
                record = json.load(f)
            controls.setdefault(record['config'], record)
        for path, name in zip(args.variants, names):
            start = dict(data=data, seed=seed, load_from=xe_run['checkpoint'])
            runs[f'SCST: {name}'] = train_and_test(
                stage_config(path, **start),
                osp.join(seed_dir, name),
                f'SCST {name}',
                **rerun,
            )
            if args.no_control:
                continue
            cfg = stage_config(path, control=True, **start)
            text = config_text(cfg)
            if text in controls:
                runs[f'control: {name}'] = controls[text]
                continue
            runs[f'control: {name}'] = controls[text] = train_and_test(
                cfg,
                osp.join(seed_dir, f'{name}_control'),
                f'control {name}',
                **rerun,
            )
        xe_cider = None
        results[seed] = {}
        run_of[seed] = {label: r['captions'] for label, r in runs.items()}
        for label, record in runs.items():
            scores = score(load_predictions(record['captions']), references)
            if label == 'XE':
                xe_cider = scores['CIDEr']
            else:
                scores['gap_closed'] = (scores['CIDEr'] - xe_cider) / (
                    ceiling[0] - xe_cider
                )
            results[seed][label] = scores

    print()
    print(
        f'[scst_evidence] {args.llm} demo, {args.num_train} / {args.num_val} '
        f'/ {args.num_test} train / val / test clips; ceiling (every test '
        'clip captioned with its k-th reference phrasing): CIDEr '
        + ', '.join(f'{c:.3f}' for c in ceiling)
    )
    rows = table_rows(run_of, args.seeds)
    for seed in args.seeds:
        print(f'\nseed {seed}')
        print(table({row: [results[seed][label]] for row, label in rows}))
    means = {
        label: [results[seed][label] for seed in args.seeds]
        for label in results[args.seeds[0]]
    }
    print(f'\nmean ± std over seeds {args.seeds}')
    print(table({row: means[label] for row, label in rows}))
    verdicts = {}
    for name in names:
        control = means.get(f'control: {name}')
        checks = goal(means['XE'], means[f'SCST: {name}'], control)
        verdicts[name] = checks
        print(f'\ngoal, {name}:')
        for check, ok in checks.items():
            print(f'  [{"x" if ok else " "}] {check}')
    summary = dict(
        args=vars(args),
        ceiling=ceiling,
        results={str(s): r for s, r in results.items()},
        goal=verdicts,
    )
    with open(osp.join(root, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            mean_rows = {row: means[label] for row, label in rows}
            f.write(table(mean_rows, markdown=True) + '\n')
    print(f'\n[scst_evidence] summary: {osp.join(root, "summary.json")}')


if __name__ == '__main__':
    main()
