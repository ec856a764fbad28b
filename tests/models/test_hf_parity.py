"""With T = 1 the captioner must be transformers' image BLIP-2, exactly."""

import pytest
import torch

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
    if kind == 'vicuna':
        from vidcap_mm.models import build_word_tokenizer

        build_word_tokenizer(**cfg['qformer_tokenizer']).save_pretrained(
            f'{path}/qformer_tokenizer'
        )
    return hf_model, captioner


def hf_inputs(captioner, captions):
    """transformers' own input layout: image placeholders, then text."""
    head = captioner.head
    num_visual = captioner.neck.num_output_tokens(1)
    placeholder = torch.full((len(captions), num_visual), head.visual_token_id)
    text = head.text_inputs(captions)
    kwargs = {}
    if captioner.neck.reads_instruction:
        kwargs['qformer_input_ids'] = captioner.neck.instruction_ids.expand(
            len(captions), -1
        )
    if head.is_encoder_decoder:
        kwargs['input_ids'] = torch.cat([placeholder, text['input_ids']], 1)
        kwargs['labels'] = text['labels']
        kwargs['decoder_attention_mask'] = text['decoder_attention_mask']
    else:
        kwargs['input_ids'] = torch.cat([placeholder, text['input_ids']], 1)
        kwargs['attention_mask'] = torch.cat(
            [torch.ones_like(placeholder), text['attention_mask']], 1
        )
        kwargs['labels'] = torch.cat(
            [torch.full_like(placeholder, -100), text['labels']], 1
        )
    prompt = torch.cat(
        [placeholder, torch.tensor([head.prompt_ids] * len(captions))], 1
    )
    return kwargs, prompt


@pytest.mark.parametrize('num_beams', [1, 3])
def test_t1_matches_transformers(llm_kind, tmp_path, num_beams):
    hf_model, _ = save_reference(llm_kind, tmp_path)
    captioner = build_captioner(
        llm_kind,
        pretrained=str(tmp_path),
        blip2_config=None,
        tokenizer=None,
        qformer_tokenizer=None,
    ).eval()
    image = torch.randn(
        2, 3, 32, 32, generator=torch.Generator().manual_seed(1)
    )
    kwargs, prompt = hf_inputs(captioner, CAPTIONS)

    with torch.no_grad():
        ours = captioner(
            image.unsqueeze(1), caption_samples(CAPTIONS), mode='loss'
        )['loss_caption']
        reference = hf_model(pixel_values=image, **kwargs).loss
    assert torch.isfinite(ours)
    assert abs(ours.item() - reference.item()) <= 1e-6

    gen = dict(num_beams=num_beams, max_new_tokens=8, min_length=0)
    with torch.no_grad():
        ours_ids = captioner.head.generate(
            captioner.extract_feat(image.unsqueeze(1)), **gen
        )
        ref_kwargs = (
            {'qformer_input_ids': kwargs['qformer_input_ids']}
            if 'qformer_input_ids' in kwargs
            else {}
        )
        ref_ids = hf_model.generate(
            pixel_values=image,
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            eos_token_id=captioner.head.end_token_id,
            pad_token_id=captioner.head.tokenizer.pad_token_id,
            **gen,
            **ref_kwargs,
        )
    if not captioner.head.is_encoder_decoder:
        ref_ids = ref_ids[:, prompt.size(1) :]
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
