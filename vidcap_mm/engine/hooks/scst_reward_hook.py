"""Build the SCST reward from the training set and hand it to the model."""

import logging
from typing import Dict, Hashable, List, Optional, Sequence

from mmaction.registry import HOOKS
from mmengine.dataset import ClassBalancedDataset, ConcatDataset, RepeatDataset
from mmengine.hooks import Hook
from mmengine.logging import print_log

from vidcap_mm.evaluation import CiderDReward

from .runner_model import runner_model

REFERENCES = ('all', 'own')
DOCUMENT_FREQUENCIES = ('corpus', 'batch')


def dataset_parts(dataset) -> List:
    """The leaf datasets of mmengine's dataset wrappers, in order."""
    if isinstance(dataset, ConcatDataset):
        return [p for d in dataset.datasets for p in dataset_parts(d)]
    if isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        return dataset_parts(dataset.dataset)
    return [dataset]


def collect_references(dataset) -> Dict[str, List[str]]:
    """Every training video's reference captions, through mmengine's
    ``ConcatDataset`` / ``RepeatDataset`` / ``ClassBalancedDataset``.

    Args:
        dataset: The training dataset; each part must have
            ``get_references()`` (as
            :class:`~vidcap_mm.datasets.VideoCaptionDataset` does).

    Returns:
        dict[str, list[str]]: Video id -> its captions.

    Raises:
        TypeError: If a part cannot list its references.
        ValueError: If two parts give one video id different references.
    """
    references: Dict[str, List[str]] = {}
    for index, part in enumerate(dataset_parts(dataset)):
        if not hasattr(part, 'get_references'):
            raise TypeError(
                f'SCSTRewardHook: training dataset part {index} '
                f'({type(part).__name__}) has no get_references(), so the '
                "reward cannot know its videos' captions; use a "
                'VideoCaptionDataset (or a subclass) for SCST data.'
            )
        for video_id, captions in part.get_references().items():
            known = references.setdefault(video_id, list(captions))
            if known != list(captions):
                raise ValueError(
                    f'SCSTRewardHook: video id {video_id!r} has different '
                    f'references in training dataset part {index} than in '
                    'an earlier part; give the videos distinct ids.'
                )
    return references


class SCSTReward:
    """The reward an :class:`~vidcap_mm.models.SCSTObjective` calls:
    CIDEr-D of captions for data samples.

    Args:
        scorer (CiderDReward): Built from the training references.
        references (str): ``'all'``: against all references of the sample's
            video (``video_id`` in its metainfo); ``'own'``: against the
            sample's own training caption (``gt_caption``), the seed's way.
        corpus (dict, optional): Video id -> references, for
            ``references='all'`` with batch document frequencies.
    """

    def __init__(
        self,
        scorer: CiderDReward,
        references: str,
        corpus: Optional[Dict[Hashable, List[str]]] = None,
    ) -> None:
        self.scorer = scorer
        self.references = references
        self.corpus = corpus

    def __call__(self, captions: List[str], data_samples: Sequence):
        if self.references == 'own':
            own = []
            for sample in data_samples:
                caption = sample.get('gt_caption')
                if not caption:
                    raise ValueError(
                        "SCST reward with references='own' needs each data "
                        "sample's training caption (gt_caption), and video "
                        f'{sample.metainfo.get("video_id")!r} has none; '
                        'pack it with PackCaptionInputs.'
                    )
                own.append([caption])
            return self.scorer(captions, references=own)
        video_ids = []
        for sample in data_samples:
            video_id = sample.metainfo.get('video_id')
            if video_id is None:
                raise ValueError(
                    "SCST reward with references='all' needs each data "
                    "sample's video_id in its metainfo (PackCaptionInputs "
                    'meta_keys); one sample has none.'
                )
            video_ids.append(video_id)
        if self.scorer.mode == 'corpus':
            return self.scorer(captions, video_ids=video_ids)
        unknown = [v for v in video_ids if v not in self.corpus]
        if unknown:
            raise KeyError(
                f'SCST reward: videos {unknown[:5]} have no references.'
            )
        return self.scorer(
            captions, references=[self.corpus[v] for v in video_ids]
        )


@HOOKS.register_module()
class SCSTRewardHook(Hook):
    """Builds the CIDEr-D reward of SCST once, before training, from the
    training set's references, and hands it to the model's
    :class:`~vidcap_mm.models.SCSTObjective`.

    ``references='all'`` with ``document_frequency='corpus'`` (default)
    scores each caption against all references of its video with document
    frequencies over the whole training corpus (computed once here).
    ``references='own'`` with ``document_frequency='batch'`` is the seed's
    reward: against the training record's own caption only, document
    frequencies from the references of the step. ``references='all'`` with
    ``'batch'`` is pycocoevalcap's way on all references.
    ``references='own'`` with ``'corpus'`` is not offered: the corpus index
    holds the references as read, while a record's caption reaches the
    model after the pipeline's text cleaning, so it need not be found
    there.

    Configuration errors surface before the first step: a model without an
    SCST objective, a training dataset without references, a training
    sample whose video the references do not know, or (``'own'``) a
    training record without a caption.

    Args:
        references (str): ``'all'`` or ``'own'``. Defaults to ``'all'``.
        document_frequency (str): ``'corpus'`` or ``'batch'``. Defaults to
            ``'corpus'``.
        sigma (float): CIDEr-D's length penalty width. Defaults to 6.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        references: str = 'all',
        document_frequency: str = 'corpus',
        sigma: float = 6.0,
    ) -> None:
        if references not in REFERENCES:
            raise ValueError(
                f'SCSTRewardHook: references={references!r}; expected one '
                f'of {REFERENCES}.'
            )
        if document_frequency not in DOCUMENT_FREQUENCIES:
            raise ValueError(
                'SCSTRewardHook: document_frequency='
                f'{document_frequency!r}; expected one of '
                f'{DOCUMENT_FREQUENCIES}.'
            )
        if references == 'own' and document_frequency == 'corpus':
            raise ValueError(
                "SCSTRewardHook: references='own' goes with "
                "document_frequency='batch' (the seed's reward); corpus "
                "document frequencies come with references='all'."
            )
        self.references = references
        self.document_frequency = document_frequency
        self.sigma = sigma

    @staticmethod
    def _objective(runner):
        model = runner_model(runner)
        objective = getattr(model, 'objective', None)
        if objective is None or not hasattr(objective, 'set_reward'):
            raise TypeError(
                'SCSTRewardHook: the model has no SCST objective; set '
                "model.objective=dict(type='SCSTObjective') or remove the "
                'hook.'
            )
        return objective

    def before_train(self, runner) -> None:
        objective = self._objective(runner)
        dataset = runner.train_dataloader.dataset
        references = collect_references(dataset)
        if not references:
            raise ValueError(
                'SCSTRewardHook: the training dataset has no reference '
                'captions.'
            )
        self._check_samples(dataset, references)
        if self.document_frequency == 'corpus':
            scorer = CiderDReward(references, mode='corpus', sigma=self.sigma)
            reward = SCSTReward(scorer, self.references)
        else:
            scorer = CiderDReward(mode='seed', sigma=self.sigma)
            reward = SCSTReward(scorer, self.references, corpus=references)
        objective.set_reward(reward)
        num_refs = sum(len(r) for r in references.values())
        print_log(
            f'SCSTRewardHook: CIDEr-D reward against {self.references} '
            f'references with {self.document_frequency} document '
            f'frequencies, from {len(references)} training videos '
            f'({num_refs} references); objective {objective!r}',
            logger='current',
            level=logging.INFO,
        )

    def _check_samples(self, dataset, references: Dict) -> None:
        """Every training sample must have a known video id and, for
        ``references='own'``, a caption."""
        for index, part in enumerate(dataset_parts(dataset)):
            unknown = set()
            for i in range(len(part)):
                info = part.get_data_info(i)
                video_id = info.get('video_id')
                if video_id not in references:
                    unknown.add(video_id)
                if self.references == 'own' and not info.get('caption'):
                    raise ValueError(
                        "SCSTRewardHook: references='own' scores against "
                        "each training record's caption, and sample "
                        f'{i} '
                        f'(video {video_id!r}) of training dataset part '
                        f'{index} ({getattr(part, "ann_file", "")}) has '
                        'none.'
                    )
            if unknown:
                raise KeyError(
                    f'SCSTRewardHook: {len(unknown)} video id(s) of '
                    f'training dataset part {index} '
                    f'({getattr(part, "ann_file", "")}) have no references '
                    f'for the reward, e.g. {sorted(map(str, unknown))[:5]}.'
                )

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._objective(runner).iteration = runner.iter
