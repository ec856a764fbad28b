"""CIDEr-D reward for self-critical sequence training (SCST)."""

from typing import Any, Hashable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .cider import CiderD
from .ptb_tokenizer import tokenize_captions

_MODES = ('corpus', 'seed')


class CiderDReward:
    """CIDEr-D of sampled captions, for every SCST step, without Java.

    Captions are tokenized by our pure-Python PTB tokenizer (the tokens of
    pycocoevalcap's Java one) and scored by :class:`~.cider.CiderD` (the
    numbers of pycocoevalcap's ``Cider``).

    * ``mode='corpus'`` (default): built once from every training reference.
      A candidate is scored against all references of its video, with
      document frequencies from the whole corpus (computed once), so its
      reward does not depend on the rest of the batch.
    * ``mode='seed'``: the seed's reward. Each candidate is scored against
      the reference of its own training record only, with document
      frequencies from the references of the call (one document per
      candidate): exactly ``pycocoevalcap`` ``Cider().compute_score`` on
      ``{i: [reference_i]}`` and ``{i: [candidate_i]}`` after one PTB call
      for the candidates and one for the references.

    Args:
        references (Mapping, optional): ``{video_id: [caption, ...]}`` of
            the whole training set, raw (not tokenized). Required for
            ``mode='corpus'``; unused for ``'seed'``.
        mode (str): ``'corpus'`` or ``'seed'``. Defaults to ``'corpus'``.
        sigma (float): CIDEr-D's length penalty width. Defaults to 6.
    """

    def __init__(
        self,
        references: Optional[Mapping[Hashable, Sequence[str]]] = None,
        mode: str = 'corpus',
        sigma: float = 6.0,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(
                f'CiderDReward: unknown mode {mode!r}; choose from '
                f'{list(_MODES)}.'
            )
        self.mode = mode
        if mode == 'seed':
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
        flat = tokenize_captions([c for v in videos for c in references[v]])
        tokenized, start = {}, 0
        for video in videos:
            end = start + len(references[video])
            tokenized[video] = flat[start:end]
            start = end
        self.scorer = CiderD.from_corpus(tokenized, sigma=sigma)

    def __call__(
        self,
        candidates: Sequence[str],
        video_ids: Optional[Sequence[Hashable]] = None,
        references: Optional[Sequence[Any]] = None,
    ) -> np.ndarray:
        """One CIDEr-D per raw candidate caption.

        Args:
            candidates (Sequence[str]): Sampled captions, raw.
            video_ids (Sequence, optional): The video of each candidate
                (``mode='corpus'``).
            references (Sequence, optional): The record's own reference of
                each candidate, a str or a list of str (``mode='seed'``).

        Returns:
            np.ndarray: float64 rewards, one per candidate.
        """
        tokens = tokenize_captions(list(candidates))
        if self.mode == 'corpus':
            if video_ids is None:
                raise ValueError(
                    "CiderDReward: mode='corpus' scores against each "
                    "video's references: pass `video_ids`."
                )
            return self.scorer.score_corpus_videos(tokens, list(video_ids))
        if references is None:
            raise ValueError(
                "CiderDReward: mode='seed' scores against each record's own "
                'reference: pass `references`.'
            )
        refs = [[r] if isinstance(r, str) else list(r) for r in references]
        flat = tokenize_captions([c for r in refs for c in r])
        tokenized, start = [], 0
        for r in refs:
            tokenized.append(flat[start : start + len(r)])
            start += len(r)
        return self.scorer.score_batch(tokens, tokenized)

    def compute_score(
        self, gts: Mapping[Any, List[str]], res: Mapping[Any, List[str]]
    ) -> Tuple[float, np.ndarray]:
        """pycocoevalcap's scorer interface on tokenized captions.

        With ``mode='seed'`` this is pycocoevalcap's ``Cider`` (document
        frequencies from ``gts``). With ``mode='corpus'`` the keys are video
        ids of the corpus and ``res[key][0]`` is scored against the corpus
        references of that video with corpus document frequencies; ``gts``
        only has to have the same keys.

        Args:
            gts (Mapping): ``{key: [tokenized reference, ...]}``.
            res (Mapping): ``{key: [tokenized candidate]}``.

        Returns:
            tuple[float, np.ndarray]: Mean and per-key scores, key order.
        """
        if self.mode == 'seed':
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
