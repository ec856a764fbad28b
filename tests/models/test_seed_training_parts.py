"""What the seed trains besides the Q-Former, as config keys: the frozen
ViT's final norm (LAVIS's ln_vision, ``train_final_norm``) and a frozen LLM
left in train mode (``eval_when_frozen=False``)."""

import pytest
import torch

from tests.helpers import build_captioner
from vidcap_mm.models.trainable_weights import trainable_keys

NORM = 'backbone.vision_model.post_layernorm.'


def clip_batch(seed=0):
    torch.manual_seed(seed)
    return torch.randn(2, 3, 3, 32, 32)


@pytest.mark.parametrize('kind', ['opt', 't5'])
def test_final_norm_trains_alone_and_changes_no_output(kind):
    plain = build_captioner(kind)
    seed_like = build_captioner(kind, backbone=dict(train_final_norm=True))
    video = clip_batch()
    with torch.no_grad():
        expected = plain.backbone(video)
    tokens = seed_like.backbone(video)
    assert torch.equal(tokens, expected)
    # Of the ViT, only its final norm has a gradient.
    tokens.square().mean().backward()
    vit = seed_like.backbone.vision_model
    with_grad = {n for n, p in vit.named_parameters() if p.grad is not None}
    assert with_grad == {'post_layernorm.weight', 'post_layernorm.bias'}
    keys = trainable_keys(seed_like)
    assert {NORM + 'weight', NORM + 'bias'} <= set(keys)
    assert not any(k.startswith(NORM) for k in trainable_keys(plain))


def test_final_norm_stays_float32_in_a_half_precision_vit():
    captioner = build_captioner(
        'opt', backbone=dict(dtype='bfloat16', train_final_norm=True)
    )
    vit = captioner.backbone.vision_model
    assert vit.post_layernorm.weight.dtype == torch.float32
    assert vit.encoder.layers[0].mlp.fc1.weight.dtype == torch.bfloat16
    tokens = captioner.backbone(clip_batch())
    assert tokens.dtype == torch.bfloat16
    tokens.float().square().mean().backward()
    assert vit.post_layernorm.weight.grad.dtype == torch.float32


def test_final_norm_needs_a_frozen_vit():
    with pytest.raises(ValueError, match='for a frozen ViT'):
        build_captioner(
            'opt', backbone=dict(frozen=False, train_final_norm=True)
        )


@pytest.mark.parametrize(
    'eval_when_frozen, training', [(True, False), (False, True)]
)
def test_frozen_llm_mode_follows_the_key(eval_when_frozen, training):
    captioner = build_captioner(
        'opt', head=dict(eval_when_frozen=eval_when_frozen)
    )
    captioner.train()
    llm = captioner.head.language_model
    assert llm.training is training
    assert all(m.training is training for m in llm.modules())
    assert not any(p.requires_grad for p in llm.parameters())
    captioner.eval()
    assert not llm.training


def test_final_norm_eps_is_lavis_when_given():
    # LAVIS's ln_vision: nn.LayerNorm's eps 1e-5 (transformers: the ViT's).
    plain = build_captioner('opt')
    lavis = build_captioner('opt', backbone=dict(final_norm_eps=1e-5))
    norm = lavis.backbone.vision_model.post_layernorm
    assert norm.eps == 1e-5
    assert plain.backbone.vision_model.post_layernorm.eps != 1e-5
    video = clip_batch()
    with torch.no_grad():
        before = lavis.backbone.vision_model.encoder(
            inputs_embeds=lavis.backbone.vision_model.embeddings(
                video.flatten(0, 1)
            )
        ).last_hidden_state
        tokens = lavis.backbone(video)
    expected = torch.nn.functional.layer_norm(
        before, norm.normalized_shape, norm.weight, norm.bias, eps=1e-5
    )
    torch.testing.assert_close(
        tokens, expected.unflatten(0, (2, 3)), rtol=0, atol=1e-6
    )
    assert not torch.allclose(tokens, plain.backbone(video).detach())
