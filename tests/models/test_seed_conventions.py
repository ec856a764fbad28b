"""Where the seed counts or labels differently from a plain transformers
call: ``min_length`` in generation and OPT's BOS target."""

import pytest
import torch

from tests.helpers import build_captioner, caption_samples

IGNORE = -100


def end_always_most_likely(head):
    """Make the end of caption the LLM's top token at every step."""
    lm_head = head.language_model.get_output_embeddings()
    end = head.end_token_id

    def push_end(module, args, logits):
        logits = logits.clone()
        logits[..., end] += 1e4
        return logits

    return lm_head.register_forward_hook(push_end)


@pytest.mark.parametrize(
    'kind, end_at',
    [
        # New tokens before the end: the seed's LAVIS passes only
        # embeddings to a decoder-only LLM's generate, so min_length=5
        # means 5 new tokens (before: the visual and prompt positions
        # counted and the caption ended at once).
        ('opt', 5),
        ('vicuna', 5),
        # T5 counts the decoder start token: 4 new tokens, then the end,
        # at index 5 of the row (transformers and the seed alike).
        ('t5', 5),
    ],
)
@pytest.mark.parametrize('num_beams', [1, 5])
def test_min_length_counts_as_in_the_seed(kind, end_at, num_beams):
    torch.manual_seed(0)
    captioner = build_captioner(kind).eval()
    head = captioner.head
    end_always_most_likely(head)
    visual = captioner.extract_feat(torch.randn(2, 2, 3, 32, 32))
    with torch.no_grad():
        ids = head.generate(visual, num_beams=num_beams, min_length=5)
        unconstrained = head.generate(
            visual, num_beams=num_beams, min_length=0
        )
    first = 1 if head.is_encoder_decoder else 0
    assert unconstrained[:, first].tolist() == [head.end_token_id] * 2
    for row in ids.tolist():
        assert row.index(head.end_token_id) == end_at


def test_explicit_min_new_tokens_wins():
    from vidcap_mm.models.caption_head import seed_min_length

    kwargs = dict(min_length=5, min_new_tokens=2)
    seed_min_length(kwargs)
    assert kwargs == dict(min_new_tokens=2)
    kwargs = dict(min_length=0)
    seed_min_length(kwargs)
    assert kwargs == {}


def test_bos_as_target_is_the_seeds_opt_loss():
    """With OPT's empty prompt the seed labels the BOS token too (it masks
    a prompt only when there is one)."""
    captions = ['a red circle', 'a green square on the background']
    torch.manual_seed(0)
    default = build_captioner('opt').eval()
    torch.manual_seed(0)
    seed_like = build_captioner('opt', head=dict(bos_as_target=True)).eval()
    bos = default.head.prompt_ids
    assert bos == [default.head.tokenizer.bos_token_id]
    ours = default.head.text_inputs(captions)['labels']
    seeds = seed_like.head.text_inputs(captions)['labels']
    assert ours[:, 0].tolist() == [IGNORE, IGNORE]
    assert seeds[:, 0].tolist() == bos * 2
    assert torch.equal(ours[:, 1:], seeds[:, 1:])

    # The loss is transformers' causal-LM loss over [BOS ; caption ; end].
    inputs = torch.randn(2, 2, 3, 32, 32)
    visual = seed_like.extract_feat(inputs)
    loss = seed_like.head.loss(visual, caption_samples(captions))
    head = seed_like.head
    text = head.text_inputs(captions)
    embeds = torch.cat([visual, head._embed(text['input_ids'])], dim=1)
    mask = torch.ones(visual.shape[:2], dtype=torch.long)
    reference = head.language_model(
        inputs_embeds=embeds,
        attention_mask=torch.cat([mask, text['attention_mask']], dim=1),
        labels=torch.cat([torch.full_like(mask, IGNORE), seeds], dim=1),
    ).loss
    assert loss['loss_caption'].item() == pytest.approx(
        reference.item(), abs=1e-6
    )
    default_loss = default.head.loss(
        default.extract_feat(inputs), caption_samples(captions)
    )['loss_caption']
    assert default_loss.item() != pytest.approx(reference.item(), abs=1e-4)


@pytest.mark.parametrize(
    'kind, head', [('t5', {}), ('opt', dict(prompt='a video of'))]
)
def test_bos_as_target_needs_an_empty_decoder_prompt(kind, head):
    with pytest.raises(ValueError, match='bos_as_target=True is for'):
        build_captioner(kind, head=dict(head, bos_as_target=True))
