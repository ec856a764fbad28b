"""Label masking and caption post-processing, exact for OPT and T5."""

import pytest
import torch

from tests.helpers import build_captioner, caption_samples


def ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False).input_ids


def test_opt_labels_mask_bos_and_padding():
    head = build_captioner('opt').head
    tok = head.tokenizer
    text = head.text_inputs(['a red circle', 'a square'])
    newline = ids(tok, '\n')
    first = ids(tok, 'a red circle') + newline
    second = ids(tok, 'a square') + newline
    bos, pad = tok.bos_token_id, tok.pad_token_id
    assert head.prompt_ids == [bos]  # prompt '' is only '</s>'
    assert text['input_ids'].tolist() == [
        [bos] + first,
        [bos] + second + [pad],
    ]
    assert text['attention_mask'].tolist() == [[1] * 5, [1] * 4 + [0]]
    assert text['labels'].tolist() == [
        [-100] + first,
        [-100] + second + [-100],
    ]


def test_opt_loss_ignores_visual_prompt_and_padding_positions():
    """The loss equals a hand-computed CE over caption tokens only."""
    captioner = build_captioner('opt').eval()
    video = torch.randn(2, 1, 3, 32, 32)
    samples = caption_samples(['a red circle', 'a square'])
    head = captioner.head
    with torch.no_grad():
        loss = captioner(video, samples, mode='loss')['loss_caption']
        visual = captioner.extract_feat(video)
        text = head.text_inputs(['a red circle', 'a square'])
        embeds = torch.cat([visual, head._embed(text['input_ids'])], 1)
        mask = torch.cat(
            [torch.ones(2, 8, dtype=torch.long), text['attention_mask']], 1
        )
        logits = head.language_model(
            inputs_embeds=embeds, attention_mask=mask
        ).logits
    terms = []
    for b, caption in enumerate(['a red circle', 'a square']):
        targets = ids(head.tokenizer, caption) + ids(head.tokenizer, '\n')
        # Position 8 is '</s>'; it predicts the first caption token.
        for k, token in enumerate(targets):
            terms.append(-logits[b, 8 + k].log_softmax(-1)[token])
    expected = torch.stack(terms).mean()
    assert abs(loss.item() - expected.item()) < 1e-6


def test_t5_labels_are_caption_plus_eos():
    head = build_captioner('t5').head
    tok = head.tokenizer
    text = head.text_inputs(['a red circle', 'a square'])
    eos = tok.eos_token_id
    assert head.prompt_ids == ids(tok, 'a video of') + [eos]
    assert text['input_ids'].tolist() == [head.prompt_ids] * 2
    assert text['labels'].tolist() == [
        ids(tok, 'a red circle') + [eos],
        ids(tok, 'a square') + [eos, -100],
    ]
    assert text['decoder_attention_mask'].tolist() == [[1] * 4, [1] * 3 + [0]]


def test_caption_truncation_keeps_the_end_token():
    head = build_captioner('opt', head=dict(max_caption_tokens=2)).head
    text = head.text_inputs(['a red circle on a blue background'])
    newline = ids(head.tokenizer, '\n')
    assert text['labels'].tolist() == [
        [-100] + ids(head.tokenizer, 'a red') + newline
    ]


@pytest.mark.parametrize(
    'caption, kept',
    [
        # Shorter than the limit with its end: the end stays.
        ('a red', 'a red\n'),
        # Exactly the limit: the end is cut, as LAVIS's tokenizer cuts
        # caption + end as one text.
        ('a red circle', 'a red circle'),
        ('a red circle on a blue background', 'a red circle'),
    ],
)
def test_truncation_with_the_end_counted(caption, kept):
    head = build_captioner(
        'opt', head=dict(max_caption_tokens=3, truncate_with_end=True)
    ).head
    text = head.text_inputs([caption])
    assert text['labels'].tolist() == [[-100] + ids(head.tokenizer, kept)]


def test_decode_cuts_at_end_of_caption():
    head = build_captioner('opt').head
    tok = head.tokenizer
    token_ids = torch.tensor(
        [ids(tok, 'a red circle\n') + ids(tok, 'blue square')]
    )
    assert head.decode(token_ids) == ['a red circle']


def test_multi_token_end_of_caption_is_rejected():
    with pytest.raises(ValueError, match='exactly one'):
        build_captioner('opt', head=dict(end_of_caption='a red'))


def test_predict_sets_pred_caption(llm_kind):
    captioner = build_captioner(llm_kind).eval()
    captioner.head.generation_cfg.update(num_beams=2, max_new_tokens=4)
    video = torch.randn(2, 2, 3, 32, 32)
    with torch.no_grad():
        out = captioner(video, caption_samples(['x', 'y']), mode='predict')
        expected = captioner.head.decode(
            captioner.head.generate(captioner.extract_feat(video))
        )
    assert [sample.pred_caption for sample in out] == expected


def test_lora_on_an_unfrozen_llm_is_rejected():
    with pytest.raises(ValueError, match='frozen LLM'):
        build_captioner(
            't5', head=dict(frozen=False, lora=dict(r=2, target_modules=['q']))
        )
