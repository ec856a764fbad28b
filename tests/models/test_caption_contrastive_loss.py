"""The captioner's image-text contrastive loss: exact values and wiring."""

import math

import pytest
import torch

from tests.helpers import build_captioner, caption_samples, tiny_model_cfg
from vidcap_mm.models import CaptionContrastiveLoss
from vidcap_mm.models.word_tokenizer import build_word_tokenizer

TEMPERATURE = 0.5


def identity_loss(words):
    """A loss whose embeddings are the inputs themselves: one word per
    caption, each word its own axis, and identity projections, so that a
    clip whose visual tokens average to axis k has cosine 1 with the
    caption of word k and 0 with the others."""
    tokenizer = build_word_tokenizer(words=words)
    dim = len(tokenizer)
    loss = CaptionContrastiveLoss(
        tokenizer, visual_dim=dim, embed_dim=dim, temperature=TEMPERATURE
    )
    with torch.no_grad():
        loss.word_embedding.weight.copy_(torch.eye(dim))
        for projection in (loss.text_projection, loss.visual_projection):
            projection.weight.copy_(torch.eye(dim))
            projection.bias.zero_()
    return loss, tokenizer


def clips_showing(tokenizer, words):
    """``(B, 2, D)`` visual tokens averaging to each word's axis."""
    dim = len(tokenizer)
    rows = []
    for word in words:
        axis = torch.zeros(dim)
        axis[tokenizer.convert_tokens_to_ids(word)] = 1.0
        # Two tokens whose mean is the axis: the loss averages them.
        rows.append(torch.stack([axis * 1.5, axis * 0.5]))
    return torch.stack(rows)


def test_matched_pairs_have_the_closed_form_loss():
    loss, tokenizer = identity_loss(['red', 'blue', 'green'])
    captions = ['red', 'blue', 'green']
    value = loss(clips_showing(tokenizer, captions), captions)
    # Each row: 1/T on the diagonal, 0 elsewhere; both directions alike.
    expected = -math.log(
        math.exp(1 / TEMPERATURE) / (math.exp(1 / TEMPERATURE) + 2)
    )
    assert value['loss_contrastive'].item() == pytest.approx(expected, 1e-6)


def test_a_clip_unlike_its_caption_costs_more():
    loss, tokenizer = identity_loss(['red', 'blue'])
    captions = ['red', 'blue']
    swapped = clips_showing(tokenizer, ['blue', 'red'])
    value = loss(swapped, captions)['loss_contrastive'].item()
    # Each clip matches the other caption: 0 / T is the right pair.
    expected = -math.log(1 / (1 + math.exp(1 / TEMPERATURE)))
    assert value == pytest.approx(expected, 1e-6)


def test_equal_captions_are_each_others_positives():
    loss, tokenizer = identity_loss(['red', 'blue'])
    captions = ['red', 'red', 'blue']
    value = loss(clips_showing(tokenizer, captions), captions)
    # A red clip's row: exp(2) on the two red captions, exp(0) on blue;
    # its own caption is one of the two equal red ones (a target spread
    # over both would give the same value).
    e = math.exp(1 / TEMPERATURE)
    red_row = -math.log(e / (2 * e + 1))
    blue_row = -math.log(e / (e + 2))
    expected = (2 * red_row + blue_row) / 3
    assert value['loss_contrastive'].item() == pytest.approx(expected, 1e-6)


def test_both_directions_count():
    """Two red clips against a red and a blue caption: clip-to-caption and
    caption-to-clip rows differ, and the loss is their mean."""
    loss, tokenizer = identity_loss(['red', 'blue'])
    value = loss(clips_showing(tokenizer, ['red', 'red']), ['red', 'blue'])
    e = math.exp(1 / TEMPERATURE)
    # Clip rows: both [1/T, 0]; clip 0's caption is red, clip 1's blue.
    clip_rows = (-math.log(e / (e + 1)) - math.log(1 / (e + 1))) / 2
    # Caption rows: red [1/T, 1/T], blue [0, 0]: each half on its clip.
    caption_rows = math.log(2)
    expected = (clip_rows + caption_rows) / 2
    assert value['loss_contrastive'].item() == pytest.approx(expected, 1e-6)


def clip_loss_by_hand(similarity, temperature):
    """CLIP's two losses written out: for each clip, minus the log-softmax
    of its own caption in its row; for each caption, of its own clip in
    its column. Returns both means."""
    logits = similarity / temperature
    rows = [
        -(logits[i, i] - torch.logsumexp(logits[i], 0))
        for i in range(len(logits))
    ]
    columns = [
        -(logits[j, j] - torch.logsumexp(logits[:, j], 0))
        for j in range(len(logits))
    ]
    return sum(rows) / len(rows), sum(columns) / len(columns)


@pytest.mark.parametrize(
    'captions',
    [
        ['red', 'blue', 'green', 'yellow'],
        # Repeats: each clip's own caption is still its target.
        ['red blue', 'red blue', 'green', 'red blue', 'yellow'],
    ],
)
def test_random_weights_give_clips_loss_written_out(captions):
    """With random projections nothing is symmetric or tied, so a target
    other than each clip's own caption (transposed, shifted, spread over
    other captions) or a lost direction gives another value."""
    torch.manual_seed(0)
    tokenizer = build_word_tokenizer(words=['red', 'blue', 'green', 'yellow'])
    loss = CaptionContrastiveLoss(
        tokenizer, visual_dim=6, embed_dim=5, temperature=TEMPERATURE
    )
    visual = torch.randn(len(captions), 3, 6)
    with torch.no_grad():
        value = loss(visual, captions)['loss_contrastive']
        similarity = (
            loss.embed_visual(visual) @ loss.embed_captions(captions).T
        )
    clip_to_caption, caption_to_clip = clip_loss_by_hand(
        similarity, TEMPERATURE
    )
    expected = (clip_to_caption + caption_to_clip) / 2
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    # The two directions really differ here, so each one counts.
    assert abs(clip_to_caption - caption_to_clip).item() > 1e-3


def test_loss_weight_scales_and_gradient_reaches_the_visual_tokens():
    loss, tokenizer = identity_loss(['red', 'blue', 'green'])
    captions = ['red', 'blue', 'green']
    visual = torch.randn(3, 4, len(tokenizer), requires_grad=True)
    base = loss(visual, captions)['loss_contrastive']
    loss.loss_weight = 2.5
    scaled = loss(visual, captions)['loss_contrastive']
    assert scaled.item() == pytest.approx(2.5 * base.item(), 1e-6)
    scaled.backward()
    assert visual.grad is not None and visual.grad.abs().sum() > 0


def test_bad_inputs_are_named():
    loss, tokenizer = identity_loss(['red', 'blue'])
    with pytest.raises(ValueError, match='2 clips but 1 captions'):
        loss(clips_showing(tokenizer, ['red', 'blue']), ['red'])
    with pytest.raises(ValueError, match="without any token: \\[''\\]"):
        loss(clips_showing(tokenizer, ['red', 'blue']), ['red', ''])
    with pytest.raises(ValueError, match='temperature must be > 0'):
        CaptionContrastiveLoss(tokenizer, visual_dim=4, temperature=0)


def test_captioner_adds_it_to_the_caption_loss(llm_kind):
    captioner = build_captioner(
        llm_kind, contrastive_loss=dict(type='CaptionContrastiveLoss')
    )
    assert isinstance(captioner.contrastive_loss, CaptionContrastiveLoss)
    hidden = tiny_model_cfg(llm_kind)['blip2_config']['text_config']
    width = hidden.get('hidden_size', hidden.get('d_model'))
    assert captioner.contrastive_loss.visual_projection.in_features == width
    # Eval mode: no dropout, so both passes below see the same tokens.
    captioner.eval()
    image_size = tiny_model_cfg(llm_kind)['blip2_config']['vision_config'][
        'image_size'
    ]
    inputs = torch.randn(2, 2, 3, image_size, image_size)
    samples = caption_samples(['a red circle', 'a blue square'])
    losses = captioner(inputs, samples, mode='loss')
    assert set(losses) == {'loss_caption', 'loss_contrastive'}
    # The same clips and captions straight through the parts.
    with torch.no_grad():
        visual = captioner.extract_feat(inputs)
        alone = captioner.contrastive_loss(
            visual, ['a red circle', 'a blue square']
        )
    assert losses['loss_contrastive'].item() == pytest.approx(
        alone['loss_contrastive'].item(), 1e-6
    )
    # Off by default: the caption loss alone.
    plain = build_captioner(llm_kind)
    assert plain.contrastive_loss is None
    assert set(plain(inputs, samples, mode='loss')) == {'loss_caption'}
