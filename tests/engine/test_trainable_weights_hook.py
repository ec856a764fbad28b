"""Checkpoints hold the trained part only and load strictly over the
pretrained weights (TrainableWeightsHook)."""

import io
from types import SimpleNamespace

import pytest
import torch

from tests.helpers import build_captioner
from vidcap_mm.engine.hooks import TrainableWeightsHook
from vidcap_mm.models import (
    CheckpointMismatchError,
    load_trainable_checkpoint,
    trainable_keys,
)


def fake_runner(model, load_from='work_dirs/x/epoch_3.pth'):
    values = dict(load_from=load_from)
    cfg = SimpleNamespace(filename='configs/some_config.py', get=values.get)
    return SimpleNamespace(model=model, cfg=cfg)


def saved_checkpoint(model, **hook_args):
    checkpoint = dict(meta={}, state_dict=model.state_dict())
    TrainableWeightsHook(**hook_args).before_save_checkpoint(
        fake_runner(model), checkpoint
    )
    return checkpoint


def nbytes(checkpoint):
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.tell()


def test_only_the_trained_part_is_saved():
    model = build_captioner('opt')  # ViT and LLM frozen, as with real weights
    checkpoint = saved_checkpoint(model)
    keys = set(checkpoint['state_dict'])
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert keys == trained == trainable_keys(model)
    assert all(k.startswith('neck.') for k in keys)
    assert checkpoint['meta']['saved_weights'] == 'trainable'
    full = saved_checkpoint(model, save_frozen=True)
    assert set(full['state_dict']) == set(model.state_dict())
    assert full['meta']['saved_weights'] == 'all'
    # Tiny model: the Q-Former and projection are a third of the weights.
    ratio = nbytes(checkpoint) / nbytes(full)
    assert 0.3 < ratio < 0.4, ratio


def test_lora_adapters_are_saved_and_the_base_weights_are_not():
    model = build_captioner(
        'opt',
        head=dict(lora=dict(r=2, lora_alpha=4, target_modules=['q_proj'])),
    )
    keys = set(saved_checkpoint(model)['state_dict'])
    lora = {k for k in keys if 'lora_' in k}
    assert lora and all('language_model' in k for k in lora)
    assert keys - lora == {
        k for k in keys if k.startswith('neck.')
    }, 'only the neck and the adapters are trained'


def test_load_puts_the_saved_part_over_the_pretrained_weights():
    trained = build_captioner('opt', seed=1)
    checkpoint = saved_checkpoint(trained)
    model = build_captioner('opt', seed=2)
    frozen_before = {
        k: v.clone()
        for k, v in model.state_dict().items()
        if k not in checkpoint['state_dict']
    }
    runner = fake_runner(model)
    TrainableWeightsHook().after_load_checkpoint(runner, checkpoint)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    state = model.state_dict()
    for key, value in trained.state_dict().items():
        if key in frozen_before:
            assert torch.equal(state[key], frozen_before[key]), key
        else:
            assert torch.equal(state[key], value), key


def test_frozen_keys_are_filled_with_the_models_own_parameters():
    model = build_captioner('opt')
    checkpoint = saved_checkpoint(model)
    TrainableWeightsHook().after_load_checkpoint(
        fake_runner(model), checkpoint
    )
    vit_key = 'backbone.vision_model.embeddings.patch_embedding.weight'
    assert (
        checkpoint['state_dict'][vit_key]
        is dict(model.named_parameters())[vit_key]
    )


def test_missing_trainable_key_fails_naming_config_checkpoint_and_key():
    model = build_captioner('opt')
    checkpoint = saved_checkpoint(model)
    del checkpoint['state_dict']['neck.query_tokens']
    with pytest.raises(CheckpointMismatchError) as info:
        TrainableWeightsHook().after_load_checkpoint(
            fake_runner(model), checkpoint
        )
    message = str(info.value)
    assert "'work_dirs/x/epoch_3.pth'" in message
    assert 'configs/some_config.py' in message
    assert '1 missing trainable keys (neck.query_tokens)' in message


def test_checkpoint_of_another_model_fails():
    """An OPT checkpoint into a T5 model: keys differ on both sides."""
    checkpoint = saved_checkpoint(build_captioner('opt'))
    t5 = build_captioner('t5')
    with pytest.raises(CheckpointMismatchError) as info:
        TrainableWeightsHook().after_load_checkpoint(
            fake_runner(t5), checkpoint
        )
    assert 'saved from a model of another architecture' in str(info.value)


def test_unexpected_key_and_shape_mismatch_are_named():
    model = build_captioner('opt')
    checkpoint = saved_checkpoint(model)
    state = checkpoint['state_dict']
    state['neck.extra.weight'] = torch.zeros(2)
    state['neck.query_tokens'] = torch.zeros(1, 3, 32)
    with pytest.raises(CheckpointMismatchError) as info:
        TrainableWeightsHook().after_load_checkpoint(
            fake_runner(model), checkpoint
        )
    message = str(info.value)
    assert '1 unexpected keys (neck.extra.weight)' in message
    assert 'neck.query_tokens (1, 3, 32) vs (1, 8, 32)' in message


def test_non_strict_loads_the_matching_part_with_a_warning(capsys):
    model = build_captioner('opt', seed=3)
    source = build_captioner('opt', seed=4)
    checkpoint = saved_checkpoint(source)
    del checkpoint['state_dict']['neck.query_tokens']
    TrainableWeightsHook(strict=False).after_load_checkpoint(
        fake_runner(model), checkpoint
    )
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    proj = 'neck.language_projection.weight'
    assert torch.equal(model.state_dict()[proj], source.state_dict()[proj])
    assert not torch.equal(model.neck.query_tokens, source.neck.query_tokens)


def test_full_checkpoint_loads_frozen_weights_too():
    source = build_captioner('opt', seed=5)
    checkpoint = saved_checkpoint(source, save_frozen=True)
    model = build_captioner('opt', seed=6)
    TrainableWeightsHook().after_load_checkpoint(
        fake_runner(model), checkpoint
    )
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_load_trainable_checkpoint_reads_a_file_strictly(tmp_path):
    """The public loader (init_captioner's): the file's trained part over
    the built model, the frozen part untouched, a mismatch refused."""
    source = build_captioner('opt', seed=7)
    path = tmp_path / 'epoch_1.pth'
    torch.save(saved_checkpoint(source), path)
    model = build_captioner('opt', seed=8)
    vit = 'backbone.vision_model.embeddings.patch_embedding.weight'
    vit_before = model.state_dict()[vit].clone()
    checkpoint = load_trainable_checkpoint(model, str(path))
    assert checkpoint['meta']['saved_weights'] == 'trainable'
    for key, value in source.state_dict().items():
        if key.startswith('neck.'):
            assert torch.equal(model.state_dict()[key], value), key
    assert torch.equal(model.state_dict()[vit], vit_before)

    t5 = build_captioner('t5')
    with pytest.raises(CheckpointMismatchError) as info:
        load_trainable_checkpoint(t5, str(path), config='configs/t5.py')
    message = str(info.value)
    assert message.startswith(
        f"checkpoint '{path}' does not fit the model of config "
        'configs/t5.py: it was saved from a model of another architecture'
    )
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(TypeError, match='expected a checkpoint dict'):
        load_trainable_checkpoint(model, str(tmp_path / 'list.pth'))
