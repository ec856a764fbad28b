"""With T = 1 the captioner must be transformers' image BLIP-2, exactly."""

import pytest
import torch
from transformers import AutoConfig, AutoTokenizer

from tests.helpers import build_captioner, caption_samples, tiny_model_cfg
from vidcap_mm.models import load_blip2

CAPTIONS = ['a red circle on a blue background', 'a green square']


def save_reference(kind, path):
    """Save a random HF model (seed 0) and the tokenizers to ``path``."""
    cfg = tiny_model_cfg(kind)
    torch.manual_seed(0)
    hf_model = load_blip2(blip2_config=cfg['blip2_config']).eval()
    hf_model.save_pretrained(path)
    captioner = build_captioner(kind)
    captioner.head.tokenizer.save_pretrained(path)
    if kind == 'instructblip':
        from vidcap_mm.models import build_word_tokenizer

        build_word_tokenizer(**cfg['qformer_tokenizer']).save_pretrained(
            f'{path}/qformer_tokenizer'
        )
    return hf_model, captioner


def transformers_inputs(kind, path, captions):
    """Inputs of ``Blip2ForConditionalGeneration`` built as a transformers
    user builds them, from the saved tokenizers and the config's prompt
    alone (none of our code): image placeholders, then the tokenized text;
    labels ``-100`` on the placeholders, the prompt and the padding.

    Returns:
        tuple[dict, dict]: The keyword arguments of the loss forward and
        those of ``generate`` (prompt only, with the end and pad tokens).
    """
    head = tiny_model_cfg(kind)['head']
    prompt, end_of_caption = head['prompt'], head['end_of_caption']
    tokenizer = AutoTokenizer.from_pretrained(path)
    config = AutoConfig.from_pretrained(path)
    batch = len(captions)
    placeholders = torch.full(
        (batch, config.num_query_tokens), config.image_token_index
    )
    prompt_ids = torch.tensor([tokenizer(prompt).input_ids] * batch)
    if end_of_caption is None:
        end_id = tokenizer.eos_token_id
    else:
        (end_id,) = tokenizer(
            end_of_caption, add_special_tokens=False
        ).input_ids
    extra = {}
    if kind == 'instructblip':
        qformer_tokenizer = AutoTokenizer.from_pretrained(
            path, subfolder='qformer_tokenizer'
        )
        extra['qformer_input_ids'] = qformer_tokenizer(
            [tiny_model_cfg(kind)['neck']['instruction']] * batch,
            return_tensors='pt',
        ).input_ids

    if config.text_config.is_encoder_decoder:
        # T5: the prompt is the encoder's text, the caption (with the end
        # token the tokenizer appends) the decoder's target.
        target = tokenizer(captions, padding=True, return_tensors='pt')
        input_ids = torch.cat([placeholders, prompt_ids], 1)
        loss_inputs = dict(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            labels=target.input_ids.masked_fill(
                target.attention_mask == 0, -100
            ),
        )
    else:
        texts = [
            ' '.join(filter(None, [prompt, caption])) + (end_of_caption or '')
            for caption in captions
        ]
        ids = tokenizer(texts).input_ids
        if end_of_caption is None:
            ids = [row + [tokenizer.eos_token_id] for row in ids]
        text = tokenizer.pad(dict(input_ids=ids), return_tensors='pt')
        labels = text.input_ids.masked_fill(text.attention_mask == 0, -100)
        labels[:, : prompt_ids.size(1)] = -100
        loss_inputs = dict(
            input_ids=torch.cat([placeholders, text.input_ids], 1),
            attention_mask=torch.cat(
                [torch.ones_like(placeholders), text.attention_mask], 1
            ),
            labels=torch.cat([torch.full_like(placeholders, -100), labels], 1),
        )
    generate_ids = torch.cat([placeholders, prompt_ids], 1)
    generate_inputs = dict(
        input_ids=generate_ids,
        attention_mask=torch.ones_like(generate_ids),
        eos_token_id=end_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return dict(loss_inputs, **extra), dict(generate_inputs, **extra)


@pytest.mark.parametrize('num_beams', [1, 3])
def test_t1_matches_transformers(llm_kind, tmp_path, num_beams):
    generation_cfg = dict(num_beams=num_beams, max_new_tokens=8, min_length=0)
    hf_model, _ = save_reference(llm_kind, tmp_path)
    captioner = build_captioner(
        llm_kind,
        pretrained=str(tmp_path),
        blip2_config=None,
        tokenizer=None,
        qformer_tokenizer=None,
        head=dict(generation_cfg=generation_cfg),
    ).eval()
    image = torch.randn(
        2, 3, 32, 32, generator=torch.Generator().manual_seed(1)
    )
    loss_inputs, generate_inputs = transformers_inputs(
        llm_kind, tmp_path, CAPTIONS
    )

    with torch.no_grad():
        ours = captioner(
            image.unsqueeze(1), caption_samples(CAPTIONS), mode='loss'
        )['loss_caption']
        reference = hf_model(pixel_values=image, **loss_inputs).loss
    assert torch.isfinite(ours)
    assert abs(ours.item() - reference.item()) <= 1e-6

    with torch.no_grad():
        # The settings come from the config, as in the Runner's test loop.
        ours_ids = captioner.head.generate(
            captioner.extract_feat(image.unsqueeze(1))
        )
        ref_ids = hf_model.generate(
            pixel_values=image, **generate_inputs, **generation_cfg
        )
    if not captioner.head.is_encoder_decoder:
        ref_ids = ref_ids[:, generate_inputs['input_ids'].size(1) :]
    assert ours_ids.tolist() == ref_ids.tolist()


def test_pretrained_dir_equals_in_memory_model(llm_kind, tmp_path):
    save_reference(llm_kind, tmp_path)
    from_dir = build_captioner(
        llm_kind,
        pretrained=str(tmp_path),
        blip2_config=None,
        tokenizer=None,
        qformer_tokenizer=None,
    )
    in_memory = build_captioner(llm_kind, seed=0)
    dir_state, mem_state = from_dir.state_dict(), in_memory.state_dict()
    assert dir_state.keys() == mem_state.keys()
    for key, value in mem_state.items():
        assert torch.equal(dir_state[key], value), key
    assert (
        from_dir.head.tokenizer.get_vocab()
        == in_memory.head.tokenizer.get_vocab()
    )
    assert from_dir.head.prompt_ids == in_memory.head.prompt_ids


def test_pretrained_and_config_are_exclusive():
    with pytest.raises(ValueError, match='exactly one'):
        build_captioner('opt', pretrained='/nonexistent')
