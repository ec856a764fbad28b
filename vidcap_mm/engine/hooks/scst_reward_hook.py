"""Build the SCST reward from the training set and hand it to the model."""

import copy
import logging
from typing import Dict, List, Optional, Sequence

from mmaction.registry import HOOKS, TASK_UTILS
from mmengine.dataset import ClassBalancedDataset, ConcatDataset, RepeatDataset
from mmengine.hooks import Hook
from mmengine.logging import print_log

from vidcap_mm.evaluation import SCSTReward

from .runner_model import runner_model


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


@HOOKS.register_module()
class SCSTRewardHook(Hook):
    """Builds the SCST reward once, before training, from the training
    set's references, and hands it to the model's
    :class:`~vidcap_mm.models.SCSTObjective`.

    The reward is the weighted sum of ``terms``
    (:class:`~vidcap_mm.evaluation.SCSTReward`), each a reward term
    registered in mmaction's ``TASK_UTILS`` (see
    :mod:`vidcap_mm.evaluation.scst_reward`) with an optional ``weight``
    (default 1). The default is one term,
    ``dict(type='CiderDRewardTerm')``: CIDEr-D against all references of
    the video with the training corpus's document frequencies. The seed's
    recipes use ``dict(type='CiderDRewardTerm', mode='seed')``, the
    seed's reward as its code computes it.

    Configuration errors surface before the first step: an unknown term or
    argument (when the hook is built), a model without an SCST objective,
    a training dataset without references, a training sample whose video
    the references do not know, or (a term that reads the record's caption)
    a training record without a caption.

    Args:
        terms (Sequence[dict], optional): Reward term configs, e.g.
            ``[dict(type='CiderDRewardTerm'), dict(type='Bleu4RewardTerm',
            weight=2.0)]``. Defaults to CIDEr-D in ``'corpus'`` mode.
    """

    priority = 'NORMAL'

    def __init__(self, terms: Optional[Sequence[dict]] = None) -> None:
        if terms is None:
            terms = [dict(type='CiderDRewardTerm')]
        if isinstance(terms, dict) or not terms:
            raise ValueError(
                'SCSTRewardHook: terms must be a non-empty list of reward '
                f'term configs, got {terms!r}.'
            )
        built = []
        for cfg in terms:
            cfg = copy.deepcopy(dict(cfg))
            weight = cfg.pop('weight', 1.0)
            built.append((TASK_UTILS.build(cfg), weight))
        self.reward = SCSTReward(built)

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
        self.reward.prepare(references)
        objective.set_reward(self.reward)
        num_refs = sum(len(r) for r in references.values())
        print_log(
            f'SCSTRewardHook: reward {self.reward!r}, from '
            f'{len(references)} training videos ({num_refs} references); '
            f'objective {objective!r}',
            logger='current',
            level=logging.INFO,
        )

    def _check_samples(self, dataset, references: Dict) -> None:
        """Every training sample must have a known video id and, for a
        term that reads the record's caption, a caption."""
        need_caption = self.reward.uses_record_caption
        for index, part in enumerate(dataset_parts(dataset)):
            unknown = set()
            for i in range(len(part)):
                info = part.get_data_info(i)
                video_id = info.get('video_id')
                if video_id not in references:
                    unknown.add(video_id)
                if need_caption and not info.get('caption'):
                    raise ValueError(
                        f'SCSTRewardHook: {self.reward!r} scores against '
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
