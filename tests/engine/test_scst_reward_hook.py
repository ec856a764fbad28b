"""SCSTRewardHook: the reward it builds, and configurations it refuses
before the first step."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, HOOKS
from mmengine.dataset import ConcatDataset, RepeatDataset

from tests.evaluation.java_reference import seed_reward_as_its_code_runs
from tests.helpers import build_captioner, scst_captioner
from vidcap_mm.datasets import PackCaptionInputs, VideoCaptionDataset
from vidcap_mm.engine.hooks import collect_references
from vidcap_mm.evaluation import Bleu4RewardTerm, CiderDReward

REFERENCES = {
    'v0': ['a red circle on a black background', 'there is a red circle'],
    'v1': ['a blue square on a gray background', 'a blue square'],
    'v2': ['a green circle and a red square', 'a red square and a circle'],
}


def caption_dataset(tmp_path, references, name='train', cls=None):
    records = [
        dict(video=f'{video}.mp4', caption=caption, image_id=video)
        for video, captions in references.items()
        for caption in captions
    ]
    path = tmp_path / f'{name}.json'
    path.write_text(json.dumps(records))
    if cls is not None:
        return cls(ann_file=str(path), pipeline=[])
    return DATASETS.build(
        dict(type='VideoCaptionDataset', ann_file=str(path), pipeline=[])
    )


def runner_for(model, dataset):
    """What the hook reads from a Runner."""
    return SimpleNamespace(
        model=model, train_dataloader=SimpleNamespace(dataset=dataset), iter=0
    )


def training_step_rewards(captioner, dataset, indices):
    """Run one SCST loss on the records ``indices`` and return what the
    objective scored: (captions, their data samples, rewards)."""
    seen = []
    rewards = captioner.objective.rewards

    def spy(captions, samples):
        values = rewards(captions, samples)
        seen.append((captions, samples, values))
        return values

    captioner.objective.rewards = spy
    pack = PackCaptionInputs()
    clip = np.zeros((2, 3, 32, 32), np.uint8)
    samples = [
        pack(dict(dataset.get_data_info(i), imgs=clip))['data_samples']
        for i in indices
    ]
    captioner.eval()
    out = captioner(
        torch.randn(len(indices), 2, 3, 32, 32), samples, mode='loss'
    )
    assert torch.isfinite(out['loss_scst'])
    ((captions, per_caption, values),) = seen
    return captions, per_caption, values


def test_corpus_reward_in_a_step_equals_cider_d_reward(tmp_path):
    dataset = caption_dataset(tmp_path, REFERENCES)
    captioner = scst_captioner('opt', num_candidates=3)
    HOOKS.build(dict(type='SCSTRewardHook')).before_train(
        runner_for(captioner, dataset)
    )
    captions, samples, values = training_step_rewards(
        captioner, dataset, [0, 2, 4]
    )
    video_ids = [s.metainfo['video_id'] for s in samples]
    assert video_ids == ['v0'] * 3 + ['v1'] * 3 + ['v2'] * 3
    expected = CiderDReward(REFERENCES)(captions, video_ids)
    np.testing.assert_array_equal(values, expected)
    assert values.max() > 0


def test_seed_reward_in_a_step_equals_the_seeds_code(tmp_path):
    """The seed's reward as its code computes it (pycocoevalcap's Java
    tokenizer and Cider with its swapped arguments) on the captions a step
    generated for its records' own captions."""
    dataset = caption_dataset(tmp_path, REFERENCES)
    captioner = scst_captioner('t5', num_candidates=3)
    HOOKS.build(
        dict(
            type='SCSTRewardHook',
            terms=[dict(type='CiderDRewardTerm', mode='seed')],
        )
    ).before_train(runner_for(captioner, dataset))
    captions, samples, values = training_step_rewards(
        captioner, dataset, [1, 2, 5]
    )
    own = [s.gt_caption for s in samples]
    assert own[0] == 'there is a red circle' and own[-1] == REFERENCES['v2'][1]
    expected = seed_reward_as_its_code_runs(own[::3], captions, beam_size=3)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-9)


def test_all_references_with_batch_df(tmp_path):
    dataset = caption_dataset(tmp_path, REFERENCES)
    captioner = scst_captioner('opt')
    HOOKS.build(
        dict(
            type='SCSTRewardHook',
            terms=[dict(type='CiderDRewardTerm', mode='batch')],
        )
    ).before_train(runner_for(captioner, dataset))
    captions = ['a red circle', 'a blue square', 'a red square']
    samples = [
        SimpleNamespace(metainfo=dict(video_id=v)) for v in ('v0', 'v1', 'v2')
    ]
    values = captioner.objective.reward(captions, samples)
    expected = CiderDReward(mode='batch')(
        captions, references=[REFERENCES[v] for v in ('v0', 'v1', 'v2')]
    )
    np.testing.assert_array_equal(values, expected)
    assert values.max() > 0


def test_weighted_terms_reach_the_objective_and_its_log(tmp_path):
    dataset = caption_dataset(tmp_path, REFERENCES)
    captioner = scst_captioner('opt', num_candidates=3)
    HOOKS.build(
        dict(
            type='SCSTRewardHook',
            terms=[
                dict(type='CiderDRewardTerm', end_token=True),
                dict(type='Bleu4RewardTerm', weight=3.0),
            ],
        )
    ).before_train(runner_for(captioner, dataset))
    captions, samples, values = training_step_rewards(
        captioner, dataset, [0, 2]
    )
    video_ids = [s.metainfo['video_id'] for s in samples]
    cider = CiderDReward(REFERENCES, end_token=True)(captions, video_ids)
    bleu = Bleu4RewardTerm()
    bleu.prepare(REFERENCES)
    expected = cider + 3.0 * bleu(captions, samples)
    expected[[not c for c in captions]] = 0.0
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    assert set(captioner.objective.reward_term_means()) == {
        'cider_d',
        'bleu_4',
    }


def test_references_through_dataset_wrappers(tmp_path):
    first = caption_dataset(tmp_path, {'v0': REFERENCES['v0']}, 'a')
    second = caption_dataset(
        tmp_path, {k: REFERENCES[k] for k in ('v1', 'v2')}, 'b'
    )
    mixed = ConcatDataset([first, second])
    assert collect_references(mixed) == REFERENCES
    assert collect_references(RepeatDataset(first, times=2)) == {
        'v0': REFERENCES['v0']
    }
    captioner = scst_captioner('opt')
    HOOKS.build(dict(type='SCSTRewardHook')).before_train(
        runner_for(captioner, mixed)
    )
    assert captioner.objective.reward is not None


def test_the_hook_tells_the_objective_the_iteration(tmp_path):
    captioner = scst_captioner('opt')
    runner = runner_for(captioner, caption_dataset(tmp_path, REFERENCES))
    runner.iter = 17
    HOOKS.build(dict(type='SCSTRewardHook')).before_train_iter(runner, 0)
    assert captioner.objective.iteration == 17


# Configurations refused before the first step ---------------------------


def test_model_without_scst_objective(tmp_path):
    with pytest.raises(TypeError, match='no SCST objective'):
        HOOKS.build(dict(type='SCSTRewardHook')).before_train(
            runner_for(
                build_captioner('opt'), caption_dataset(tmp_path, REFERENCES)
            )
        )


def test_dataset_without_references(tmp_path):
    class Plain(torch.utils.data.Dataset):
        def __len__(self):
            return 1

    mixed = ConcatDataset.__new__(ConcatDataset)
    mixed.datasets = [caption_dataset(tmp_path, REFERENCES), Plain()]
    with pytest.raises(TypeError, match=r'part 1 \(Plain\) has no'):
        HOOKS.build(dict(type='SCSTRewardHook')).before_train(
            runner_for(scst_captioner('opt'), mixed)
        )


class NoReferences(VideoCaptionDataset):
    def get_references(self):
        return {}


class MissingVideo(VideoCaptionDataset):
    def get_references(self):
        references = super().get_references()
        del references['v1']
        return references


class NoCaption(VideoCaptionDataset):
    def get_data_info(self, idx):
        info = super().get_data_info(idx)
        del info['caption']
        return info


@pytest.mark.parametrize(
    'cls, hook, error, match',
    [
        (NoReferences, {}, ValueError, 'no reference captions'),
        (MissingVideo, {}, KeyError, r"have no references.*'v1'"),
        (
            NoCaption,
            dict(terms=[dict(type='CiderDRewardTerm', mode='record')]),
            ValueError,
            "record's caption.*sample 0 \\(video 'v0'\\)",
        ),
    ],
)
def test_bad_training_data(tmp_path, cls, hook, error, match):
    dataset = caption_dataset(tmp_path, REFERENCES, cls=cls)
    with pytest.raises(error, match=match):
        HOOKS.build(dict(type='SCSTRewardHook', **hook)).before_train(
            runner_for(scst_captioner('opt'), dataset)
        )


@pytest.mark.parametrize(
    'kwargs, error, match',
    [
        (
            dict(terms=[dict(type='CiderDRewardTerm', mode='own')]),
            ValueError,
            'unknown mode',
        ),
        (dict(terms=[]), ValueError, 'non-empty list'),
        (dict(terms=dict(type='CiderDRewardTerm')), ValueError, 'list'),
        (dict(terms=[dict(type='NoSuchTerm')]), KeyError, 'NoSuchTerm'),
    ],
)
def test_bad_hook_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        HOOKS.build(dict(type='SCSTRewardHook', **kwargs))
