"""Time the SCST reward: pycocoevalcap's way against ours.

One SCST step scores ``--videos`` x ``--candidates`` sampled captions, each
against the ``--refs`` references of its video (MSR-VTT-like captions
generated here: lower-case, 5-15 words, a Zipf-distributed vocabulary). The
script prints

* the pycocoevalcap way, as the seed does at every step: its Java PTB
  tokenizer (one call for the references, one for the candidates) and its
  ``Cider`` (document frequencies from the step's references);
* ours computing the same numbers (Python PTB tokenizer + numpy CIDEr-D,
  batch document frequencies), the speed ratio and the largest absolute
  difference of the scores;
* ours as SCST uses it (``CiderDReward``, corpus document frequencies from
  a ``--corpus``-caption training set built once), and that start-up's time
  and memory (resident memory kept after it, and its peak);
* the seed's own reward as its code computes it (each candidate against
  its record's reference only, with pycocoevalcap's ``Cider`` called with
  the candidates as references: document frequencies from the
  candidates), pycocoevalcap's way and ours (``CiderDReward(mode='seed')``).

``--prose`` times the PTB tokenizers alone on English prose instead (what
``CaptionMetric(tokenizer='python')`` pays on references: mixed case,
punctuation, numbers): the sentences of a document that every install of
requirements/runtime.txt has, opencv-python's third-party licences
(``--prose-file`` takes another text file), tokenized in one call by
pycocoevalcap's Java tokenizer and by ours. It prints both throughputs,
the ratio and how many sentences the two tokenize differently.

Example::

    python tools/analysis_tools/benchmark_reward.py --repeat 5
    python tools/analysis_tools/benchmark_reward.py --prose --repeat 5
"""

import argparse
import importlib.metadata
import os
import re
import resource
import time

import numpy as np
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from vidcap_mm.evaluation.cider import CiderD
from vidcap_mm.evaluation.cider_reward import CiderDReward
from vidcap_mm.evaluation.java_runtime import ensure_java
from vidcap_mm.evaluation.ptb_tokenizer import tokenize_captions

# Made-up words of one to three consonant-vowel syllables.
_SYLLABLES = [c + v for c in 'bdklmnrst' for v in 'aeiou']
_COMMON = (
    'a the is are man woman person people dog cat car playing talking '
    'walking running in on of and with to at video game song music girl '
    'boy someone cooking kitchen road street field ball team'
).split()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--videos', type=int, default=64)
    parser.add_argument('--candidates', type=int, default=5)
    parser.add_argument('--refs', type=int, default=20)
    parser.add_argument('--corpus', type=int, default=130_000)
    parser.add_argument('--vocab', type=int, default=12_000)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--punctuated',
        action='store_true',
        help='COCO-like references: capitalised, ending in a period',
    )
    parser.add_argument(
        '--prose',
        action='store_true',
        help='time the PTB tokenizers on the sentences of a licence text',
    )
    parser.add_argument(
        '--prose-file',
        help="a UTF-8 text file for --prose (default: opencv-python's "
        'LICENSE-3RD-PARTY.txt)',
    )
    parser.add_argument(
        '--sentences',
        type=int,
        help='--prose: only the first N sentences',
    )
    return parser.parse_args()


# opencv-python is in requirements/runtime.txt and its wheels carry the
# licences of everything they bundle: ~180 kB of legal English.
PROSE_DISTRIBUTION = 'opencv-python'
PROSE_DOCUMENT = 'LICENSE-3RD-PARTY.txt'
# A sentence ends at . ! or ? before a blank and a capital, digit, quote or
# bracket (the next sentence's start).
_SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z0-9"\'(\[])')


def prose_text(path=None) -> str:
    """The text of ``path``, or opencv-python's third-party licences.

    Raises:
        FileNotFoundError: opencv-python or its licence file is missing.
    """
    if path is not None:
        with open(path, encoding='utf-8') as f:
            return f.read()
    try:
        text = importlib.metadata.distribution(PROSE_DISTRIBUTION).read_text(
            PROSE_DOCUMENT
        )
    except importlib.metadata.PackageNotFoundError:
        text = None
    if text is None:
        raise FileNotFoundError(
            f'{PROSE_DOCUMENT} of {PROSE_DISTRIBUTION} not found (is '
            f'{PROSE_DISTRIBUTION} installed?): pass --prose-file instead'
        )
    return text


def prose_sentences(text: str) -> list:
    """The sentences of ``text``: paragraphs, unwrapped, split at ends."""
    sentences = []
    for paragraph in re.split(r'\n\s*\n', text):
        paragraph = ' '.join(paragraph.split())
        if paragraph:
            sentences.extend(_SENTENCE_END.split(paragraph))
    return sentences


class CaptionGenerator:
    """MSR-VTT-like captions: each video has a topic of its own words."""

    def __init__(
        self, vocab_size: int, seed: int, punctuated: bool = False
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.punctuated = punctuated
        words = list(_COMMON)
        seen = set(words)
        while len(words) < vocab_size:
            k = int(self.rng.integers(1, 4))
            word = ''.join(self.rng.choice(_SYLLABLES, k))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = np.array(words)
        p = 1.0 / np.arange(1, len(words) + 1)
        self.p = p / p.sum()

    def video(self, num_captions: int) -> list:
        topic = self.rng.choice(self.words, 8, p=self.p)
        captions = [self.caption(topic) for _ in range(num_captions)]
        if self.punctuated:
            captions = [c.capitalize() + '.' for c in captions]
        return captions

    def caption(self, topic: np.ndarray) -> str:
        length = int(self.rng.integers(5, 16))
        from_topic = self.rng.random(length) < 0.5
        words = np.where(
            from_topic,
            self.rng.choice(topic, length),
            self.rng.choice(self.words, length, p=self.p),
        )
        return ' '.join(words)


def _rss_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pycocoevalcap_step(candidates, references) -> np.ndarray:
    """The seed's way: two Java PTB calls, then pycocoevalcap's Cider."""
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize(
        {
            i: [{'caption': c} for c in refs]
            for i, refs in enumerate(references)
        }
    )
    res = tokenizer.tokenize(
        {i: [{'caption': c}] for i, c in enumerate(candidates)}
    )
    _, scores = Cider().compute_score(gts, res)
    return np.asarray(scores)


def ours_step(candidates, references) -> np.ndarray:
    """The same numbers without Java."""
    flat = tokenize_captions([c for refs in references for c in refs])
    size = len(references[0])
    refs = [flat[i : i + size] for i in range(0, len(flat), size)]
    return CiderD().score_batch(tokenize_captions(candidates), refs)


def best_time(function, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times)), result


def prose_benchmark(args) -> None:
    """Our PTB tokenizer against pycocoevalcap's Java one, on prose."""
    source = args.prose_file or f'{PROSE_DISTRIBUTION} {PROSE_DOCUMENT}'
    sentences = prose_sentences(prose_text(args.prose_file))
    sentences = sentences[: args.sentences]
    tokenizer = PTBTokenizer()
    java_best, java_median, java = best_time(
        lambda: tokenizer.tokenize(
            {i: [{'caption': s}] for i, s in enumerate(sentences)}
        ),
        args.repeat,
    )
    # The first call also fills the tokenizer's caches (rules by first
    # characters, abbreviations): timed on its own.
    start = time.perf_counter()
    tokenize_captions(sentences)
    ours_first = time.perf_counter() - start
    ours_best, ours_median, ours = best_time(
        lambda: tokenize_captions(sentences), args.repeat
    )
    differ = sum(java[i][0] != o for i, o in enumerate(ours))
    n = len(sentences)
    print(
        f'prose: {n} sentences ({sum(map(len, sentences))} characters) of '
        f'{source}; one call each, best / median of {args.repeat}'
    )
    for name, best, median in (
        ('Java (pycocoevalcap)', java_best, java_median),
        ('ours (Python)', ours_best, ours_median),
    ):
        print(
            f'{name:21s} {best * 1e3:8.1f} / {median * 1e3:.1f} ms   '
            f'{n / best:8.0f} sentences/s   {best / n * 1e6:6.0f} us each'
        )
    print(
        f'ours / Java throughput: x{java_best / ours_best:.2f} (first call: '
        f'x{java_best / ours_first:.2f})   sentences tokenized '
        f'differently: {differ}'
    )


def main() -> None:
    args = parse_args()
    ensure_java()
    if args.prose:
        prose_benchmark(args)
        return
    gen = CaptionGenerator(args.vocab, args.seed, args.punctuated)
    num_corpus_videos = max(args.corpus // args.refs, args.videos)
    corpus = {
        f'video{i}': gen.video(args.refs) for i in range(num_corpus_videos)
    }
    num_captions = sum(len(v) for v in corpus.values())

    rss0 = _rss_mib()
    start = time.perf_counter()
    reward = CiderDReward(corpus)
    startup = time.perf_counter() - start
    rss1 = _rss_mib()
    peak = _peak_rss_mib()

    video_ids = [
        f'video{i}'
        for i in gen.rng.choice(num_corpus_videos, args.videos, replace=False)
    ]
    step_videos = [v for v in video_ids for _ in range(args.candidates)]
    candidates = []
    for video in step_videos:
        topic = np.array(
            ' '.join(corpus[video]).lower().replace('.', '').split()
        )
        candidates.append(gen.caption(topic))
    references = [corpus[v] for v in step_videos]

    coco_best, coco_median, coco = best_time(
        lambda: pycocoevalcap_step(candidates, references), args.repeat
    )
    ours_best, ours_median, ours = best_time(
        lambda: ours_step(candidates, references), args.repeat
    )
    reward_best, reward_median, _ = best_time(
        lambda: reward(candidates, step_videos), args.repeat
    )
    diff = float(np.abs(coco - ours).max())
    # The seed's reward: each candidate against its record's own reference,
    # with the seed's swapped call (the candidates are the references).
    own = [[refs[0]] for refs in references]
    seed_reward = CiderDReward(mode='seed')
    coco_seed_best, _, coco_seed = best_time(
        lambda: pycocoevalcap_step(
            [r[0] for r in own], [[c] for c in candidates]
        ).astype(np.float32),
        args.repeat,
    )
    seed_best, seed_median, ours_seed = best_time(
        lambda: seed_reward(candidates, references=[r[0] for r in own]),
        args.repeat,
    )
    seed_diff = float(np.abs(coco_seed - ours_seed).max())

    print(
        f'step: {args.videos} videos x {args.candidates} candidates, '
        f'{args.refs} references per video; best / median of '
        f'{args.repeat}'
    )
    print(
        f'pycocoevalcap (Java PTB + Cider, batch df): '
        f'{coco_best * 1e3:9.1f} / {coco_median * 1e3:.1f} ms'
    )
    print(
        f'ours, same numbers (batch df):             '
        f'{ours_best * 1e3:9.1f} / {ours_median * 1e3:.1f} ms   '
        f'x{coco_best / ours_best:.0f}   max |diff| {diff:.2e}'
    )
    print(
        f'ours, SCST reward (corpus df):             '
        f'{reward_best * 1e3:9.1f} / {reward_median * 1e3:.1f} ms   '
        f'x{coco_best / reward_best:.0f}'
    )
    print(
        "the seed's reward (own reference, swapped call): pycocoevalcap "
        f'{coco_seed_best * 1e3:.1f} ms, ours {seed_best * 1e3:.1f} / '
        f'{seed_median * 1e3:.1f} ms   x{coco_seed_best / seed_best:.0f}   '
        f'max |diff| {seed_diff:.2e}'
    )
    print(
        f'start-up on {num_captions} captions ({num_corpus_videos} videos): '
        f'{startup:.2f} s, memory +{rss1 - rss0:.0f} MiB kept, '
        f'peak +{max(peak - rss0, 0):.0f} MiB'
    )


if __name__ == '__main__':
    main()
