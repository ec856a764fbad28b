"""The SCST reward: a weighted sum of registered reward terms.

A reward term scores the captions an SCST step wrote, one value per
caption: ``term(captions, data_samples) -> array``, ``captions[i]`` written
for the clip of ``data_samples[i]`` (its ``video_id`` in the metainfo, its
training record's caption in ``gt_caption``). Captions can be empty
strings; the objective sets an empty caption's reward to 0 whatever the
terms say, but hands it to them (batch document frequencies count it). A
term may also have

* ``prepare(references)``: called once before training with every
  training video's references, ``{video_id: [caption, ...]}``;
* ``uses_record_caption = True``: it reads ``gt_caption``, so the reward
  hook checks before training that every training record has a caption;
* ``name``: the key its mean is logged under (``reward_<name>``).

Terms are registered in mmaction's ``TASK_UTILS`` (no new registry: they
are task-specific helpers built from config, which is what MMEngine keeps
that registry for) and listed in
:class:`~vidcap_mm.engine.hooks.SCSTRewardHook`'s ``terms``, each with an
optional ``weight``.
"""

import importlib
import re
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Union

import numpy as np
from mmaction.registry import TASK_UTILS
from pycocoevalcap.bleu.bleu_scorer import BleuScorer

from .cider_reward import CiderDReward
from .ptb_tokenizer import tokenize_captions

References = Dict[Hashable, List[str]]


def sample_video_ids(data_samples: Sequence, term: str) -> List[Hashable]:
    """The ``video_id`` of each data sample's metainfo."""
    video_ids = []
    for sample in data_samples:
        video_id = sample.metainfo.get('video_id')
        if video_id is None:
            raise ValueError(
                f"SCST reward term {term} scores against each sample's "
                "video's references and needs its video_id in the metainfo "
                '(PackCaptionInputs meta_keys); one sample has none.'
            )
        video_ids.append(video_id)
    return video_ids


def sample_record_captions(data_samples: Sequence, term: str) -> List[str]:
    """The training record's caption (``gt_caption``) of each sample."""
    captions = []
    for sample in data_samples:
        caption = sample.get('gt_caption')
        if not caption:
            raise ValueError(
                f"SCST reward term {term} scores against each data sample's "
                'training caption (gt_caption), and video '
                f'{sample.metainfo.get("video_id")!r} has none; pack it with '
                'PackCaptionInputs.'
            )
        captions.append(caption)
    return captions


class _VideoReferences:
    """The training references a term looks videos up in."""

    references: Optional[References] = None

    def prepare(self, references: References) -> None:
        self.references = references

    def video_references(self, data_samples: Sequence) -> List[List[str]]:
        if self.references is None:
            raise RuntimeError(
                f'{type(self).__name__}: prepare(references) was not called '
                '(SCSTRewardHook does, before training).'
            )
        video_ids = sample_video_ids(data_samples, type(self).__name__)
        unknown = [v for v in video_ids if v not in self.references]
        if unknown:
            raise KeyError(
                f'{type(self).__name__}: videos {unknown[:5]} have no '
                'training references.'
            )
        return [self.references[v] for v in video_ids]


@TASK_UTILS.register_module()
class CiderDRewardTerm(_VideoReferences):
    """CIDEr-D of each caption, in one of
    :class:`~vidcap_mm.evaluation.CiderDReward`'s modes.

    ``'corpus'`` (ours: all references of the video, document frequencies
    of the training corpus), ``'seed'`` (the seed's code exactly: against
    the record's caption with the swapped scorer arguments), ``'record'``
    (against the record's caption, un-swapped) or ``'batch'`` (all
    references, document frequencies of the step).

    Args:
        mode (str): Defaults to ``'corpus'``.
        sigma (float): CIDEr-D's length penalty width. Defaults to 6.
        end_token (bool): Score the end of a caption as a word (against
            captions cut before their last word). Defaults to False (the
            seed has none).
    """

    name = 'cider_d'

    def __init__(
        self, mode: str = 'corpus', sigma: float = 6.0, end_token: bool = False
    ) -> None:
        if mode not in CiderDReward.MODES:
            raise ValueError(
                f'CiderDRewardTerm: unknown mode {mode!r}; choose from '
                f'{list(CiderDReward.MODES)}.'
            )
        self.mode, self.sigma, self.end_token = mode, sigma, end_token
        self.uses_record_caption = mode in ('seed', 'record')
        self.scorer: Optional[CiderDReward] = None
        if mode != 'corpus':
            self.scorer = CiderDReward(
                mode=mode, sigma=sigma, end_token=end_token
            )

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(mode={self.mode!r}, sigma={self.sigma}, '
            f'end_token={self.end_token})'
        )

    def prepare(self, references: References) -> None:
        super().prepare(references)
        if self.mode == 'corpus':
            self.scorer = CiderDReward(
                references, sigma=self.sigma, end_token=self.end_token
            )

    def __call__(self, captions: List[str], data_samples: Sequence):
        if self.scorer is None:
            raise RuntimeError(
                "CiderDRewardTerm(mode='corpus'): prepare(references) was "
                'not called (SCSTRewardHook does, before training).'
            )
        if self.mode == 'corpus':
            video_ids = sample_video_ids(data_samples, repr(self))
            return self.scorer(captions, video_ids=video_ids)
        if self.uses_record_caption:
            records = sample_record_captions(data_samples, repr(self))
            return self.scorer(captions, references=records)
        return self.scorer(
            captions, references=self.video_references(data_samples)
        )


@TASK_UTILS.register_module()
class Bleu4RewardTerm(_VideoReferences):
    """BLEU-4 of each caption against all references of its video.

    pycocoevalcap's per-caption BLEU (its ``BleuScorer`` with the closest
    reference length, as its ``Bleu`` computes ``score_list``) after our
    PTB tokenizer, the sentence-level BLEU that self-critical.pytorch mixes
    into its CIDEr-D reward. In [0, 1] where CIDEr-D is in [0, 10]: weigh
    it accordingly.
    """

    name = 'bleu_4'

    def __call__(self, captions: List[str], data_samples: Sequence):
        references = self.video_references(data_samples)
        flat = tokenize_captions(
            list(captions) + [c for refs in references for c in refs]
        )
        tokens, start = flat[: len(captions)], len(captions)
        scorer = BleuScorer(n=4)
        for caption, refs in zip(tokens, references):
            scorer += (caption, flat[start : start + len(refs)])
            start += len(refs)
        _, per_order = scorer.compute_score(option='closest', verbose=0)
        return np.asarray(per_order[3], dtype=np.float64)


def import_callable(path: str) -> Callable:
    """``'package.module.name'`` -> that object."""
    module, _, attr = path.rpartition('.')
    if not module:
        raise ValueError(
            f'CallableRewardTerm: function={path!r} is not an import path '
            "('package.module.function')."
        )
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ImportError(
            f'CallableRewardTerm: cannot import {path!r}: {err}'
        ) from err


@TASK_UTILS.register_module()
class CallableRewardTerm:
    """A plain function ``(captions, data_samples) -> array`` as a term.

    Args:
        function (str | callable): The function or its import path
            (``'my_project.rewards.length_bonus'``), so that a config can
            name it.
        name (str, optional): The log key's name. Defaults to the
            function's ``__name__``.
    """

    def __init__(
        self, function: Union[str, Callable], name: Optional[str] = None
    ) -> None:
        if isinstance(function, str):
            function = import_callable(function)
        if not callable(function):
            raise TypeError(
                f'CallableRewardTerm: {function!r} is not callable.'
            )
        self.function = function
        self.name = name or getattr(function, '__name__', 'callable')

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.name})'

    def __call__(self, captions: List[str], data_samples: Sequence):
        return self.function(captions, data_samples)


def term_name(term) -> str:
    """A term's log name: its ``name``, else its class name in snake case."""
    name = getattr(term, 'name', None)
    if name:
        return str(name)
    return re.sub(r'(?<!^)(?=[A-Z])', '_', type(term).__name__).lower()


class SCSTReward:
    """The reward an :class:`~vidcap_mm.models.SCSTObjective` calls: the
    weighted sum of its terms, ``sum_i weight_i * term_i(captions,
    data_samples)``.

    After each call :attr:`last_means` holds each term's mean (unweighted)
    by name, which the objective logs as ``reward_<name>``.

    Args:
        terms (Sequence[tuple]): ``(term, weight)`` pairs.
    """

    def __init__(self, terms: Sequence[tuple]) -> None:
        if not terms:
            raise ValueError('SCSTReward: no reward terms.')
        self.terms, names = [], []
        for term, weight in terms:
            name = term_name(term)
            if name in names:
                name = f'{name}_{names.count(name) + 1}'
            names.append(name)
            self.terms.append((name, term, float(weight)))
        self.last_means: Dict[str, float] = {}

    def __repr__(self) -> str:
        parts = ', '.join(f'{w:g} x {t!r}' for _, t, w in self.terms)
        return f'{type(self).__name__}({parts})'

    @property
    def uses_record_caption(self) -> bool:
        return any(
            getattr(term, 'uses_record_caption', False)
            for _, term, _ in self.terms
        )

    def prepare(self, references: References) -> None:
        for _, term, _ in self.terms:
            if hasattr(term, 'prepare'):
                term.prepare(references)

    def __call__(self, captions: List[str], data_samples: Sequence):
        total = np.zeros(len(captions), dtype=np.float64)
        means = {}
        for name, term, weight in self.terms:
            values = np.asarray(term(captions, data_samples), np.float64)
            if values.shape != (len(captions),):
                raise ValueError(
                    f'SCST reward term {name} ({term!r}) returned shape '
                    f'{values.shape} for {len(captions)} captions; expected '
                    'one value each.'
                )
            means[name] = float(values.mean()) if len(values) else 0.0
            total += weight * values
        self.last_means = means
        return total
