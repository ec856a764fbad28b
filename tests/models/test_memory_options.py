"""Memory options change what is kept, never the numbers: logits only
where they predict text, and gradient checkpointing."""

import pytest
import torch

from tests.helpers import build_captioner, caption_samples

from .test_precision import SavedTensors

IGNORE = -100
CAPTIONS = ['a red circle on a blue background', 'a green square']
LORA = dict(
    opt=dict(r=4, lora_alpha=8, target_modules=['q_proj', 'v_proj']),
    instructblip=dict(r=4, lora_alpha=8, target_modules=['q_proj', 'v_proj']),
    t5=dict(r=4, lora_alpha=8, target_modules=['q', 'v']),
)


@pytest.mark.parametrize('kind', ['opt', 'instructblip', 't5'])
def test_loss_equals_transformers_loss_over_all_logits(kind):
    torch.manual_seed(0)
    captioner = build_captioner(kind).eval()
    head = captioner.head
    visual = captioner.extract_feat(torch.randn(2, 2, 3, 32, 32))
    loss = head.loss(visual, caption_samples(CAPTIONS))['loss_caption']

    text = head.text_inputs(CAPTIONS)
    mask = torch.ones(visual.shape[:2], dtype=torch.long)
    embeds = torch.cat([visual, head._embed(text['input_ids'])], dim=1)
    if head.is_encoder_decoder:
        output = head.language_model(
            inputs_embeds=embeds,
            attention_mask=torch.cat(
                [mask, torch.ones_like(text['input_ids'])], dim=1
            ),
            decoder_attention_mask=text['decoder_attention_mask'],
            labels=text['labels'],
        )
    else:
        output = head.language_model(
            inputs_embeds=embeds,
            attention_mask=torch.cat([mask, text['attention_mask']], dim=1),
            labels=torch.cat(
                [torch.full_like(mask, IGNORE), text['labels']], dim=1
            ),
        )
        # transformers computed full-vocabulary logits over the visual
        # positions too; the head keeps only the text's.
        assert output.logits.size(1) == visual.size(1) + text['labels'].size(1)
    assert abs(loss.item() - output.loss.item()) < 1e-6


def loss_and_grads(captioner, inputs):
    captioner.zero_grad()
    with SavedTensors() as saved:
        loss = captioner.loss(inputs, caption_samples(CAPTIONS))
    loss['loss_caption'].backward()
    grads = {
        name: p.grad.clone()
        for name, p in captioner.named_parameters()
        if p.grad is not None
    }
    return loss['loss_caption'].detach(), grads, len(saved.saved)


@pytest.mark.parametrize(
    'kind, part',
    [
        ('opt', 'neck'),
        ('t5', 'head'),
        ('opt', 'head'),
        ('instructblip', 'head'),
    ],
)
def test_gradient_checkpointing_keeps_less_and_changes_nothing(kind, part):
    inputs = torch.randn(2, 2, 3, 32, 32)
    runs = []
    for checkpointing in (False, True):
        parts = dict(head=dict(lora=LORA[kind]))
        parts[part] = dict(parts.get(part, {}), gradient_checkpointing=True)
        if not checkpointing:
            parts[part].pop('gradient_checkpointing')
        torch.manual_seed(0)
        captioner = build_captioner(kind, **parts).train()
        torch.manual_seed(1)  # the same dropout draws in both runs
        runs.append(loss_and_grads(captioner, inputs))
    (loss, grads, kept), (loss_ckpt, grads_ckpt, kept_ckpt) = runs
    assert kept_ckpt < kept
    torch.testing.assert_close(loss, loss_ckpt, rtol=0, atol=1e-6)
    assert grads.keys() == grads_ckpt.keys()
    assert any('lora' in name for name in grads)
    # Recomputation adds in another order: equal to float32 rounding.
    for name in grads:
        torch.testing.assert_close(
            grads[name], grads_ckpt[name], rtol=1e-5, atol=1e-5
        )


def test_llm_checkpointing_needs_training_mode():
    with pytest.raises(ValueError, match='a frozen LLM without LoRA'):
        build_captioner('opt', head=dict(gradient_checkpointing=True))
