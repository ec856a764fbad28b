"""CIDEr-D as pycocoevalcap's ``Cider`` computes it, vectorised with numpy.

pycocoevalcap's ``Cider`` (despite its name CIDEr-D: clipped, with a length
penalty) scores a candidate against the references of its video as

* n-grams for n = 1..4 of the space-split (already tokenized) captions,
  each weighted ``tf * (log(N) - log(max(1, df)))``, where ``df`` counts the
  videos whose references contain the n-gram and ``N`` the videos;
* per reference and n, ``sum(min(w_cand, w_ref) * w_ref) / (|cand| |ref|)``
  (norms over the n-grams of that order; no division when one is 0), times
  ``exp(-d**2 / (2 * sigma**2))`` with ``sigma = 6`` and ``d`` the
  difference of the two captions' *bigram* counts (pycocoevalcap's length);
* averaged over n, summed over references, divided by their number, x10.

:class:`CiderD` computes exactly that (equal to pycocoevalcap's numbers up
to float rounding, well below 1e-9) with document frequencies either from
the scored batch (pycocoevalcap's way, and the seed's) or from a whole
reference corpus given once (:meth:`CiderD.from_corpus`).
"""

import ctypes
import ctypes.util
from typing import (
    Any,
    Dict,
    Hashable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np

MAX_N = 4
# n-grams are coded as integers: word ids (from 1) in base 2**16, so one
# uint64 holds up to four words and the order is implied by the code.
_BASE = 1 << 16
_MAX_WORDS = _BASE - 1


def _release_freed_memory() -> None:
    """Give the heap that glibc keeps after freeing temporaries back.

    Building a corpus index frees far more temporaries than it keeps;
    glibc holds on to that memory (its mmap threshold grows after large
    frees), which more than doubled the process's resident memory.
    """
    name = ctypes.util.find_library('c')
    if name is None:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, 'malloc_trim'):  # glibc only
        libc.malloc_trim(0)


class _Vocabulary:
    """Word -> id (from 1), with room for words seen only in candidates."""

    def __init__(self) -> None:
        self.ids: Dict[str, int] = {}

    def encode(self, captions: Sequence[str], grow: bool) -> tuple:
        """Word ids of all captions, flat, and the caption of each word."""
        ids = self.ids
        extra: Dict[str, int] = {}
        flat: List[int] = []
        lengths = []
        for caption in captions:
            words = caption.split()
            lengths.append(len(words))
            for word in words:
                wid = ids.get(word)
                if wid is None:
                    if grow:
                        wid = ids[word] = len(ids) + 1
                    else:
                        wid = extra.get(word)
                        if wid is None:
                            wid = extra[word] = len(ids) + len(extra) + 1
                flat.append(wid)
        if len(ids) + len(extra) > _MAX_WORDS:
            raise ValueError(
                f'CIDEr-D: more than {_MAX_WORDS} distinct words '
                f'({len(ids) + len(extra)}); n-gram codes would overflow.'
            )
        owner = np.repeat(
            np.arange(len(captions), dtype=np.int64),
            np.asarray(lengths, dtype=np.int64),
        )
        return np.asarray(flat, dtype=np.uint64), owner


def _ngram_counts(words: np.ndarray, owner: np.ndarray) -> tuple:
    """Distinct n-grams of each caption with their counts.

    Returns:
        tuple: ``(caption, code, order, count)`` arrays sorted by caption
        then code; ``order`` is n - 1.
    """
    codes, owners, orders = [], [], []
    for k in range(MAX_N):
        if len(words) <= k:
            break
        code = words[: len(words) - k].copy()
        for j in range(1, k + 1):
            code = code * np.uint64(_BASE) + words[j : len(words) - k + j]
        same = owner[: len(words) - k] == owner[k:]
        codes.append(code[same])
        owners.append(owner[: len(words) - k][same])
        orders.append(np.full(int(same.sum()), k, dtype=np.int8))
    if not codes:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, np.uint64), np.zeros(0, np.int8), empty
    code = np.concatenate(codes)
    own = np.concatenate(owners)
    order = np.concatenate(orders)
    sort = np.lexsort((code, own))
    code, own, order = code[sort], own[sort], order[sort]
    start = np.ones(len(code), dtype=bool)
    start[1:] = (code[1:] != code[:-1]) | (own[1:] != own[:-1])
    first = np.flatnonzero(start)
    count = np.diff(np.append(first, len(code)))
    return own[first], code[first], order[first], count


class _References:
    """References of a set of videos: n-gram table, df, norms, lengths.

    Kept compact for a large corpus: per reference n-gram only its table
    index, order and count (weights are recomputed for the few references
    of a call), built in chunks of videos so that temporaries stay small.
    """

    _CHUNK_VIDEOS = 512

    def __init__(
        self,
        refs_per_video: Sequence[Sequence[str]],
        vocab: _Vocabulary,
        grow: bool,
        sigma: float,
    ) -> None:
        num_refs = np.array([len(r) for r in refs_per_video], np.int64)
        if (num_refs == 0).any():
            raise ValueError('CIDEr-D: a video has no reference caption.')
        self.video_ptr = np.concatenate([[0], np.cumsum(num_refs)])
        self.sigma = sigma
        num_videos = len(refs_per_video)
        chunks = range(0, num_videos, self._CHUNK_VIDEOS)

        def ngrams(first: int, grow: bool) -> tuple:
            chunk = refs_per_video[first : first + self._CHUNK_VIDEOS]
            words, owner = vocab.encode([c for r in chunk for c in r], grow)
            ref, code, order, count = _ngram_counts(words, owner)
            return ref + self.video_ptr[first], code, order, count

        # Two passes over the captions (the second re-encodes them) rather
        # than keeping every n-gram code of a large corpus in memory.
        video_codes, sizes = [], []
        for first in chunks:
            ref, code, _, _ = ngrams(first, grow)
            sizes.append(len(code))
            # The distinct n-grams of each video, for df.
            video = np.searchsorted(self.video_ptr, ref, side='right') - 1
            sort = np.lexsort((code, video))
            vc, cc = video[sort], code[sort]
            new = np.ones(len(cc), dtype=bool)
            new[1:] = (cc[1:] != cc[:-1]) | (vc[1:] != vc[:-1])
            video_codes.append(cc[new])
            del ref, code, video, sort, vc, cc, new
        # df: in how many videos' references each n-gram occurs (sorted
        # in place: np.unique would hold two more copies of every code).
        codes = np.concatenate(video_codes)
        del video_codes
        codes.sort()
        first = np.flatnonzero(np.diff(codes, prepend=~codes[:1]) != 0)
        self.table = codes[first]
        self.df = np.diff(first, append=len(codes)).astype(np.uint32)
        del codes, first
        self.log_n = float(np.log(float(num_videos)))

        num_captions = int(self.video_ptr[-1])
        self.norm = np.zeros((num_captions, MAX_N))
        self.length = np.zeros(num_captions)
        total = int(sum(sizes))
        self.gidx = np.empty(total, np.int32)
        self.order = np.empty(total, np.int8)
        self.count = np.empty(total, np.uint16)
        self.ref_ptr = np.empty(num_captions + 1, np.int64)
        self.ref_ptr[-1] = total
        start = 0
        for first, size in zip(chunks, sizes):
            ref, code, order, count = ngrams(first, False)
            if count.max(initial=0) > np.iinfo(np.uint16).max:
                raise ValueError(
                    'CIDEr-D: a caption repeats an n-gram more than 65535 '
                    'times.'
                )
            index, weight = self.lookup(code, count)
            lo = int(self.video_ptr[first])
            last = min(first + self._CHUNK_VIDEOS, num_videos)
            hi = int(self.video_ptr[last])
            local = ref - lo
            self.norm[lo:hi] = _norms(local, order, weight, hi - lo)
            self.length[lo:hi] = _bigram_counts(local, order, count, hi - lo)
            self.ref_ptr[lo:hi] = start + np.searchsorted(
                local, np.arange(hi - lo)
            )
            end = start + size
            self.gidx[start:end] = index
            self.order[start:end] = order
            self.count[start:end] = count
            start = end
        _release_freed_memory()

    def idf(self, index: np.ndarray) -> np.ndarray:
        """``log N - log(max(1, df))`` of table entries."""
        df = self.df[index].astype(np.float64)
        return self.log_n - np.log(np.maximum(1.0, df))

    def entry_weight(self, entry: np.ndarray) -> np.ndarray:
        """tf-idf weights of reference n-gram entries."""
        return self.count[entry] * self.idf(self.gidx[entry])

    def lookup(self, code: np.ndarray, count: np.ndarray) -> tuple:
        """Table index (-1 if absent) and tf-idf weight of n-grams."""
        if not len(self.table):
            return np.full(len(code), -1, np.int64), count * self.log_n
        pos = np.searchsorted(self.table, code)
        pos = np.minimum(pos, len(self.table) - 1)
        found = self.table[pos] == code
        # Absent: df 0, so log(max(1, 0)) = 0 as in pycocoevalcap.
        idf = np.where(found, self.idf(pos), self.log_n)
        gidx = np.where(found, pos, -1).astype(np.int64)
        return gidx, count * idf


def _norms(owner, order, weight, size) -> np.ndarray:
    squares = np.bincount(
        owner * MAX_N + order, weights=weight * weight, minlength=size * MAX_N
    )
    return np.sqrt(squares).reshape(size, MAX_N)


def _bigram_counts(owner, order, count, size) -> np.ndarray:
    # pycocoevalcap's caption "length" is its number of bigrams.
    bigram = order == 1
    return np.bincount(
        owner[bigram], weights=count[bigram], minlength=size
    ).astype(np.float64)


def _score(
    refs: _References,
    vocab: _Vocabulary,
    candidates: Sequence[str],
    video_index: np.ndarray,
) -> np.ndarray:
    """CIDEr-D of each candidate against the references of its video."""
    num = len(candidates)
    words, owner = vocab.encode(candidates, grow=False)
    cand, code, order, count = _ngram_counts(words, owner)
    gidx, weight = refs.lookup(code, count)
    cand_norm = _norms(cand, order, weight, num)
    cand_length = _bigram_counts(cand, order, count, num)

    # The videos of this call, and their references' seen n-grams.
    videos, slot = np.unique(video_index, return_inverse=True)
    first = refs.video_ptr[videos]
    nrefs = refs.video_ptr[videos + 1] - first
    ref_rows = np.concatenate(
        [np.arange(a, a + k) for a, k in zip(first, nrefs)]
    )
    ref_slot = np.repeat(np.arange(len(videos)), nrefs)
    starts = refs.ref_ptr[ref_rows]
    sizes = refs.ref_ptr[ref_rows + 1] - starts
    entry = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(
        sizes.sum()
    )
    entry_row = np.repeat(np.arange(len(ref_rows)), sizes)
    keep = refs.gidx[entry] >= 0
    entry, entry_row = entry[keep], entry_row[keep]
    table_size = np.int64(len(refs.table) + 1)
    ref_key = ref_slot[entry_row] * table_size + refs.gidx[entry]
    sort = np.argsort(ref_key, kind='stable')
    ref_key, entry, entry_row = ref_key[sort], entry[sort], entry_row[sort]

    # Every (candidate n-gram, reference n-gram) pair with the same n-gram
    # and a reference of the candidate's video.
    seen = gidx >= 0
    hyp = np.flatnonzero(seen)
    hyp_key = slot[cand[hyp]] * table_size + gidx[hyp]
    lo = np.searchsorted(ref_key, hyp_key, side='left')
    hi = np.searchsorted(ref_key, hyp_key, side='right')
    matches = hi - lo
    pair_hyp = np.repeat(hyp, matches)
    pair_ref = np.repeat(lo - np.cumsum(matches) + matches, matches)
    pair_ref = pair_ref + np.arange(matches.sum())
    w_hyp = weight[pair_hyp]
    w_ref = refs.entry_weight(entry[pair_ref])
    row = entry_row[pair_ref]
    c = cand[pair_hyp]
    n = order[pair_hyp].astype(np.int64)

    # Sum per (candidate, reference row, order).
    pair_id = c * len(ref_rows) + row
    uniq, inverse = np.unique(pair_id, return_inverse=True)
    local = np.bincount(
        inverse * MAX_N + n,
        weights=np.minimum(w_hyp, w_ref) * w_ref,
        minlength=len(uniq) * MAX_N,
    ).reshape(len(uniq), MAX_N)
    pc, pr = uniq // len(ref_rows), uniq % len(ref_rows)
    denom = cand_norm[pc] * refs.norm[ref_rows[pr]]
    local = np.where(denom != 0, local / np.where(denom != 0, denom, 1), local)
    delta = cand_length[pc] - refs.length[ref_rows[pr]]
    local = local * np.exp(-(delta**2) / (2 * refs.sigma**2))[:, None]
    total = np.bincount(pc, weights=local.mean(axis=1), minlength=num)
    return total / nrefs[slot] * 10.0


class CiderD:
    """CIDEr-D equal to pycocoevalcap's ``Cider``, fast.

    :meth:`compute_score` and :meth:`score_batch` take document frequencies
    from the scored references, as pycocoevalcap does. Built with
    :meth:`from_corpus`, :meth:`score_corpus_videos` scores against the
    corpus references with the corpus's document frequencies (and ``log N``
    from its number of videos), so a candidate's score does not depend on
    the batch it is in.

    Args:
        n (int): Longest n-gram. Only 4 (pycocoevalcap's) is supported.
        sigma (float): Length penalty's standard deviation. Defaults to 6.
    """

    def __init__(self, n: int = MAX_N, sigma: float = 6.0) -> None:
        if n != MAX_N:
            raise ValueError(f'CiderD: only n={MAX_N} is supported, got {n}.')
        self.sigma = float(sigma)
        self._corpus: Optional[_References] = None
        self._vocab = _Vocabulary()
        self._corpus_keys: Dict[Hashable, int] = {}

    @classmethod
    def from_corpus(
        cls,
        references: Mapping[Hashable, Sequence[str]],
        n: int = MAX_N,
        sigma: float = 6.0,
    ) -> 'CiderD':
        """Document frequencies from every video's (tokenized) references.

        Args:
            references (Mapping): ``{video_id: [tokenized reference, ...]}``.
            n (int): Longest n-gram (4).
            sigma (float): Length penalty's standard deviation.

        Returns:
            CiderD: A scorer with corpus document frequencies.
        """
        scorer = cls(n=n, sigma=sigma)
        scorer._corpus_keys = {k: i for i, k in enumerate(references)}
        scorer._corpus = _References(
            list(references.values()), scorer._vocab, True, scorer.sigma
        )
        return scorer

    @property
    def corpus_df(self) -> bool:
        """Whether document frequencies come from a fixed corpus."""
        return self._corpus is not None

    def score_corpus_videos(
        self, candidates: Sequence[str], video_ids: Sequence[Hashable]
    ) -> np.ndarray:
        """Score tokenized candidates against their corpus video's refs.

        Args:
            candidates (Sequence[str]): Tokenized candidate captions.
            video_ids (Sequence): The corpus video of each candidate.

        Returns:
            np.ndarray: One CIDEr-D per candidate.
        """
        if self._corpus is None:
            raise RuntimeError('CiderD: built without a corpus.')
        if len(candidates) != len(video_ids):
            raise ValueError(
                f'CiderD: {len(candidates)} candidates but '
                f'{len(video_ids)} video ids.'
            )
        missing = [v for v in video_ids if v not in self._corpus_keys]
        if missing:
            raise KeyError(
                f'CiderD: videos {missing[:5]} are not in the reference '
                'corpus.'
            )
        if not len(candidates):
            return np.zeros(0)
        index = np.array([self._corpus_keys[v] for v in video_ids], np.int64)
        return _score(self._corpus, self._vocab, candidates, index)

    def score_batch(
        self,
        candidates: Sequence[str],
        references: Sequence[Sequence[str]],
    ) -> np.ndarray:
        """pycocoevalcap's way: candidate i against ``references[i]``.

        Document frequencies come from these references, one document per
        candidate, whether or not the scorer has a corpus.

        Args:
            candidates (Sequence[str]): Tokenized candidates.
            references (Sequence[Sequence[str]]): Tokenized references of
                each candidate.

        Returns:
            np.ndarray: One CIDEr-D per candidate.
        """
        if len(candidates) != len(references):
            raise ValueError(
                f'CiderD: {len(candidates)} candidates but '
                f'{len(references)} reference lists.'
            )
        if not len(candidates):
            return np.zeros(0)
        vocab = _Vocabulary()
        refs = _References(references, vocab, True, self.sigma)
        return _score(refs, vocab, candidates, np.arange(len(candidates)))

    def compute_score(
        self, gts: Mapping[Any, List[str]], res: Mapping[Any, List[str]]
    ) -> Tuple[float, np.ndarray]:
        """pycocoevalcap's interface: ``(mean score, per-key scores)``.

        Args:
            gts (Mapping): ``{key: [tokenized reference, ...]}``.
            res (Mapping): ``{key: [tokenized candidate]}``, same keys.

        Returns:
            tuple[float, np.ndarray]: The mean and the scores in key order.
        """
        if gts.keys() != res.keys():
            raise ValueError('CiderD: gts and res must have the same keys.')
        for key, hypo in res.items():
            if not isinstance(hypo, list) or len(hypo) != 1:
                raise ValueError(
                    f'CiderD: res[{key!r}] must be a list of one caption.'
                )
        keys = list(res)
        scores = self.score_batch(
            [res[k][0] for k in keys], [gts[k] for k in keys]
        )
        return float(np.mean(scores)), scores

    def method(self) -> str:
        return 'CIDEr-D'
