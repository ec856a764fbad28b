"""SCSTRewardHook: the reward it builds, and configurations it refuses
before the first step."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, HOOKS
from mmengine.dataset import ConcatDataset, RepeatDataset

from tests.evaluation.java_reference import require_java
from tests.helpers import build_captioner, scst_captioner
from vidcap_mm.datasets import PackCaptionInputs, VideoCaptionDataset
from vidcap_mm.engine.hooks import collect_references
from vidcap_mm.evaluation import CiderDReward

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


def test_seed_reward_in_a_step_equals_pycocoevalcap(tmp_path):
    """The seed's reward: each candidate against its record's own caption,
    document frequencies from the step's references, as pycocoevalcap's
    Java tokenizer and Cider compute it."""
    require_java()
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    dataset = caption_dataset(tmp_path, REFERENCES)
    captioner = scst_captioner('t5', num_candidates=3)
    HOOKS.build(
        dict(
            type='SCSTRewardHook',
            references='own',
            document_frequency='batch',
        )
    ).before_train(runner_for(captioner, dataset))
    captions, samples, values = training_step_rewards(
        captioner, dataset, [1, 2, 5]
    )
    own = [s.gt_caption for s in samples]
    assert own[0] == 'there is a red circle' and own[-1] == REFERENCES['v2'][1]
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({i: [dict(caption=c)] for i, c in enumerate(own)})
    res = tokenizer.tokenize(
        {i: [dict(caption=c)] for i, c in enumerate(captions)}
    )
    _, expected = Cider().compute_score(gts, res)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-9)
    assert values.max() > 0


def test_all_references_with_batch_df(tmp_path):
    dataset = caption_dataset(tmp_path, REFERENCES)
    captioner = scst_captioner('opt')
    HOOKS.build(
        dict(type='SCSTRewardHook', document_frequency='batch')
    ).before_train(runner_for(captioner, dataset))
    captions = ['a red circle', 'a blue square', 'a red square']
    samples = [
        SimpleNamespace(metainfo=dict(video_id=v)) for v in ('v0', 'v1', 'v2')
    ]
    values = captioner.objective.reward(captions, samples)
    expected = CiderDReward(mode='seed')(
        captions, references=[REFERENCES[v] for v in ('v0', 'v1', 'v2')]
    )
    np.testing.assert_array_equal(values, expected)


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
            dict(references='own', document_frequency='batch'),
            ValueError,
            "references='own'.*sample 0 \\(video 'v0'\\)",
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
    'kwargs, match',
    [
        (dict(references='best'), 'references='),
        (dict(document_frequency='video'), 'document_frequency='),
        (dict(references='own'), "goes with document_frequency='batch'"),
    ],
)
def test_bad_hook_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HOOKS.build(dict(type='SCSTRewardHook', **kwargs))
