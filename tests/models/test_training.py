"""What a training step may and may not change."""

import torch
from mmengine.optim import OptimWrapper

from tests.helpers import build_captioner, caption_samples

LORA = dict(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=['q', 'v'])


def train_step(captioner, steps=2):
    captioner.train()
    params = [p for p in captioner.parameters() if p.requires_grad]
    wrapper = OptimWrapper(torch.optim.AdamW(params, lr=1e-2))
    data = dict(
        inputs=[
            torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=caption_samples(['a red circle', 'a blue square']),
    )
    logs = [captioner.train_step(data, wrapper) for _ in range(steps)]
    return logs


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_frozen_parts_stay_bit_identical(llm_kind):
    captioner = build_captioner(llm_kind)
    before = snapshot(captioner)
    logs = train_step(captioner)
    assert torch.isfinite(logs[-1]['loss'])
    moved = changed(before, snapshot(captioner))
    assert moved, 'nothing was trained'
    assert all(k.startswith('neck.') for k in moved), sorted(moved)[:5]
    # Every trainable tensor of the neck moved (query tokens, Q-Former,
    # projection) except the Q-Former parts no gradient reaches.
    assert 'neck.query_tokens' in moved
    assert 'neck.language_projection.weight' in moved
    trainable = {n for n, p in captioner.named_parameters() if p.requires_grad}
    assert all(n.startswith('neck.') for n in trainable)


def test_frozen_parts_stay_in_eval_mode():
    captioner = build_captioner('t5')
    captioner.train()
    assert captioner.neck.training
    assert not captioner.backbone.vision_model.training
    assert not any(
        m.training for m in captioner.backbone.vision_model.modules()
    )
    assert not any(m.training for m in captioner.head.language_model.modules())


def test_unfrozen_llm_trains():
    captioner = build_captioner('opt', head=dict(frozen=False))
    before = snapshot(captioner)
    train_step(captioner)
    moved = changed(before, snapshot(captioner))
    assert any(k.startswith('head.language_model.') for k in moved)
    assert not any(k.startswith('backbone.') for k in moved)


def test_lora_only_adds_and_trains_adapters():
    plain = build_captioner('t5')
    captioner = build_captioner('t5', head=dict(lora=LORA))
    plain_keys = set(plain.state_dict())
    lora_keys = set(captioner.state_dict())
    added = {k for k in lora_keys if 'lora_' in k}
    assert added

    # peft renames the wrapped layers' weights (base_layer); nothing else.
    def canonical(key):
        return key.replace('base_model.model.', '').replace('.base_layer', '')

    assert {canonical(k) for k in lora_keys - added} == plain_keys
    assert all('.q.' in k or '.v.' in k for k in added)

    before = snapshot(captioner)
    train_step(captioner)
    moved = changed(before, snapshot(captioner))
    llm_moved = {k for k in moved if k.startswith('head.')}
    assert llm_moved and all('lora_' in k for k in llm_moved)
    assert {k for k in moved if 'lora_B' in k}, 'adapters did not learn'
    assert not any(k.startswith('backbone.') for k in moved)


def test_random_model_query_tokens_get_sane_gradients():
    """transformers zero-fills query tokens; from zeros the Q-Former's
    LayerNorm would scale their gradient by ~1e6."""
    captioner = build_captioner('t5')
    assert 0.015 < captioner.neck.query_tokens.std().item() < 0.025
    loss = captioner(
        torch.randn(2, 2, 3, 32, 32),
        caption_samples(['a red circle', 'a blue square']),
        mode='loss',
    )['loss_caption']
    loss.backward()
    assert captioner.neck.query_tokens.grad.abs().max().item() < 100


def test_half_precision_vit_and_bf16_llm_from_config():
    captioner = build_captioner(
        't5', backbone=dict(dtype='float16'), head=dict(dtype='bfloat16')
    )
    assert captioner.backbone.vision_model.dtype == torch.float16
    assert captioner.neck.qformer.dtype == torch.float32
    assert captioner.head.language_model.dtype == torch.bfloat16
    logs = train_step(captioner, steps=1)
    assert torch.isfinite(logs[0]['loss'])
    assert captioner.neck.query_tokens.dtype == torch.float32
