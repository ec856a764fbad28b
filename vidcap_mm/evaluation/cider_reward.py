"""CIDEr-D rewards for self-critical sequence training (SCST)."""

from typing import Any, Hashable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .cider import CiderD
from .ptb_tokenizer import tokenize_captions

#: The word that ``end_token=True`` appends to every tokenized caption. The
#: PTB tokenizer lower-cases, so no caption's own tokens can be this one.
END_WORD = '<EOS>'


class CiderDReward:
    """CIDEr-D of sampled captions, for every SCST step, without Java.

    Captions are tokenized by our pure-Python PTB tokenizer (the tokens of
    pycocoevalcap's Java one) and scored by :class:`~.cider.CiderD` (the
    numbers of pycocoevalcap's ``Cider``). Four modes, by what a caption is
    scored against and where the document frequencies (df) come from:

    * ``'corpus'`` (default; ours): against all references of its video,
      with df of the whole training corpus, computed once here from
      ``references``. A caption's reward does not depend on the rest of
      the batch. Called with ``video_ids``.
    * ``'seed'``: the seed's reward exactly as its code computes it
      (``blip2_t5.py`` / ``blip2_opt.py`` of the reference code, SCST
      branch). Its ``tokenize(refs, cands)`` returns ``(refs, cands)`` but
      is called as ``caps_gen, caps_gt = tokenize(caps_gt, caps_gen)``, so
      ``Cider().compute_score(caps_gt, caps_gen)`` gets the captions as the
      references (``gts``) and the training record's caption as the
      candidate (``res``): df from the call's captions (one document per
      caption, empty ones included), and the result cast to float32. That
      is pycocoevalcap's ``Cider().compute_score({i: [caption_i]}, {i:
      [record_i]})`` after one PTB call for the records and one for the
      captions. Called with ``references``: the record's one caption per
      candidate.
    * ``'record'``: what the seed's code meant: each caption against its
      record's own caption, df from the call's records (one document per
      caption): ``Cider().compute_score({i: [record_i]}, {i:
      [caption_i]})``. Called with ``references``.
    * ``'batch'``: pycocoevalcap's way on all references: each caption
      against the references given for it (all of its video's), df from
      the call's reference lists (one document per caption). Called with
      ``references``.

    Args:
        references (Mapping, optional): ``{video_id: [caption, ...]}`` of
            the whole training set, raw (not tokenized). Required for
            ``'corpus'``; unused by the other modes.
        mode (str): One of :attr:`MODES`. Defaults to ``'corpus'``.
        sigma (float): CIDEr-D's length penalty width. Defaults to 6.
        end_token (bool): Score the end of a caption as a word
            (:data:`END_WORD` appended to every tokenized caption and
            reference), so that a caption cut before its last word loses
            the n-grams that end a reference (self-critical.pytorch's
            remedy for "bad endings"). The seed has none. Defaults to
            False.
    """

    MODES = ('corpus', 'seed', 'record', 'batch')

    def __init__(
        self,
        references: Optional[Mapping[Hashable, Sequence[str]]] = None,
        mode: str = 'corpus',
        sigma: float = 6.0,
        end_token: bool = False,
    ) -> None:
        if mode not in self.MODES:
            raise ValueError(
                f'CiderDReward: unknown mode {mode!r}; choose from '
                f'{list(self.MODES)}.'
            )
        self.mode = mode
        self.end_token = end_token
        if mode != 'corpus':
            self.scorer = CiderD(sigma=sigma)
            return
        if not references:
            raise ValueError(
                "CiderDReward: mode='corpus' needs the training references "
                '({video_id: [caption, ...]}).'
            )
        videos = list(references)
        for video in videos:
            refs = references[video]
            if isinstance(refs, str) or not refs:
                raise ValueError(
                    f'CiderDReward: video {video!r} must have a non-empty '
                    f'list of reference captions, got {refs!r}.'
                )
        # One tokenizer call over the corpus, as COCOEvalCap does for gts.
        tokenized = self._tokenize_lists([references[v] for v in videos])
        self.scorer = CiderD.from_corpus(
            dict(zip(videos, tokenized)), sigma=sigma
        )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(mode={self.mode!r}, '
            f'sigma={self.scorer.sigma}, end_token={self.end_token})'
        )

    def _tokenize(self, captions: Sequence[str]) -> List[str]:
        """One PTB call over ``captions``, with the end word if asked."""
        tokens = tokenize_captions(list(captions))
        if self.end_token:
            tokens = [f'{t} {END_WORD}' if t else END_WORD for t in tokens]
        return tokens

    def _tokenize_lists(self, lists: Sequence[Sequence[str]]) -> List[list]:
        """One PTB call over all captions of ``lists``, split back."""
        flat = self._tokenize([c for captions in lists for c in captions])
        out, start = [], 0
        for captions in lists:
            out.append(flat[start : start + len(captions)])
            start += len(captions)
        return out

    def __call__(
        self,
        candidates: Sequence[str],
        video_ids: Optional[Sequence[Hashable]] = None,
        references: Optional[Sequence[Any]] = None,
    ) -> np.ndarray:
        """One CIDEr-D per raw candidate caption.

        Args:
            candidates (Sequence[str]): Sampled captions, raw; empty ones
                are scored too (they count as documents in the batch
                modes).
            video_ids (Sequence, optional): The video of each candidate
                (``'corpus'``).
            references (Sequence, optional): The references of each
                candidate, a str or a list of str: its record's caption
                (``'seed'``, ``'record'``) or its video's references
                (``'batch'``).

        Returns:
            np.ndarray: float64 rewards, one per candidate (float32 values
            in ``'seed'`` mode, as the seed casts them).
        """
        tokens = self._tokenize(candidates)
        if self.mode == 'corpus':
            if video_ids is None:
                raise ValueError(
                    "CiderDReward: mode='corpus' scores against each "
                    "video's references: pass `video_ids`."
                )
            return self.scorer.score_corpus_videos(tokens, list(video_ids))
        if references is None:
            raise ValueError(
                f'CiderDReward: mode={self.mode!r} scores against the '
                'references given for each candidate: pass `references`.'
            )
        if len(references) != len(candidates):
            raise ValueError(
                f'CiderDReward: {len(candidates)} candidates but '
                f'{len(references)} reference lists.'
            )
        refs = [[r] if isinstance(r, str) else list(r) for r in references]
        if self.mode in ('seed', 'record'):
            several = [i for i, r in enumerate(refs) if len(r) != 1]
            if several:
                raise ValueError(
                    f'CiderDReward: mode={self.mode!r} scores against one '
                    f'record caption per candidate; candidate {several[0]} '
                    f'has {len(refs[several[0]])}.'
                )
        tokenized = self._tokenize_lists(refs)
        if self.mode == 'seed':
            # The seed's swap: the candidates are the documents.
            records = [r[0] for r in tokenized]
            scores = self.scorer.score_batch(records, [[t] for t in tokens])
            return scores.astype(np.float32).astype(np.float64)
        return self.scorer.score_batch(tokens, tokenized)

    def compute_score(
        self, gts: Mapping[Any, List[str]], res: Mapping[Any, List[str]]
    ) -> Tuple[float, np.ndarray]:
        """pycocoevalcap's scorer interface on tokenized captions.

        In the batch modes this is pycocoevalcap's ``Cider`` (document
        frequencies from ``gts``; ``'seed'`` and ``'record'`` differ only
        in their ``__call__``, which decides what goes into ``gts``). With
        ``mode='corpus'`` the keys are video ids of the corpus and
        ``res[key][0]`` is scored against the corpus references of that
        video with corpus document frequencies; ``gts`` only has to have
        the same keys.

        Args:
            gts (Mapping): ``{key: [tokenized reference, ...]}``.
            res (Mapping): ``{key: [tokenized candidate]}``.

        Returns:
            tuple[float, np.ndarray]: Mean and per-key scores, key order.
        """
        if self.mode != 'corpus':
            return self.scorer.compute_score(gts, res)
        if gts.keys() != res.keys():
            raise ValueError(
                'CiderDReward: gts and res must have the same keys.'
            )
        keys = list(res)
        scores = self.scorer.score_corpus_videos(
            [res[k][0] for k in keys], keys
        )
        return float(np.mean(scores)), scores

    def method(self) -> str:
        return 'CIDEr-D'
