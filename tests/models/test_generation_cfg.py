"""The config's ``generation_cfg`` is what transformers' ``generate`` gets.

Set through the model config (as ``--cfg-options model.head.
generation_cfg...`` would), not passed as an override: the captions of the
Runner's test step must be those of ``Blip2ForConditionalGeneration.
generate`` called with the same settings.
"""

from unittest import mock

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from transformers import BlipImageProcessor

from tests.helpers import tiny_config_path
from vidcap_mm.models import build_word_tokenizer, load_blip2

GENERATION_CFG = dict(num_beams=3, max_new_tokens=8, min_length=4)
# LLMCaptionHead's own settings (the seed's evaluation), which a config
# that does not reach the head would leave in place.
HEAD_DEFAULTS = dict(num_beams=5, max_new_tokens=32, min_length=5)
NUM_CLIPS = 4


def model_config(kind):
    cfg = Config.fromfile(tiny_config_path(kind))
    cfg.merge_from_dict(
        {
            'model.head.generation_cfg': GENERATION_CFG,
            # At the tiny config's 0.02 the Q-Former gives nearly the same
            # visual tokens for every clip and most settings write the same
            # tokens; large weights make clips and beam widths disagree.
            'model.blip2_config.qformer_config.initializer_range': 1.0,
        }
    )
    return cfg.model


def reference_generate(hf_model, model_cfg, pixel_values, **settings):
    """``generate`` as a transformers user calls it: image placeholders and
    the tokenized prompt, the stop and pad tokens of the tokenizer.

    Returns:
        tuple[torch.Tensor, int]: transformers' output and the length of
        the input ids (a decoder-only LLM's output starts with them).
    """
    tokenizer = build_word_tokenizer(**model_cfg.tokenizer)
    head = model_cfg.head
    num_clips = pixel_values.size(0)
    prompt = tokenizer([head.prompt] * num_clips, return_tensors='pt')
    placeholders = torch.full(
        (num_clips, hf_model.config.num_query_tokens),
        hf_model.config.image_token_index,
    )
    input_ids = torch.cat([placeholders, prompt.input_ids], 1)
    if head.end_of_caption is None:
        end_id = tokenizer.eos_token_id
    else:
        (end_id,) = tokenizer(
            head.end_of_caption, add_special_tokens=False
        ).input_ids
    extra = {}
    if 'qformer_tokenizer' in model_cfg:
        qformer_tokenizer = build_word_tokenizer(**model_cfg.qformer_tokenizer)
        extra['qformer_input_ids'] = qformer_tokenizer(
            [model_cfg.neck.instruction] * num_clips, return_tensors='pt'
        ).input_ids
    with torch.no_grad():
        output = hf_model.generate(
            pixel_values=pixel_values,
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            eos_token_id=end_id,
            pad_token_id=tokenizer.pad_token_id,
            **extra,
            **settings,
        )
    return output, input_ids.size(1)


def test_config_generation_settings_reach_generate(llm_kind):
    model_cfg = model_config(llm_kind)
    torch.manual_seed(0)
    hf_model = load_blip2(blip2_config=model_cfg.blip2_config).eval()
    torch.manual_seed(0)
    captioner = MODELS.build(model_cfg).eval()
    # The same random weights on both sides.
    assert torch.equal(captioner.neck.query_tokens, hf_model.query_tokens)
    language_model = captioner.head.language_model
    assert language_model is not hf_model.language_model
    assert torch.equal(
        language_model.get_input_embeddings().weight,
        hf_model.language_model.get_input_embeddings().weight,
    )

    frames = torch.randint(
        0,
        256,
        (NUM_CLIPS, 1, 3, 32, 32),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(1),
    )
    calls = []
    generate = language_model.generate

    def recording_generate(*args, **kwargs):
        output = generate(*args, **kwargs)
        calls.append((kwargs, output))
        return output

    with mock.patch.object(language_model, 'generate', recording_generate):
        predicted = captioner.test_step(
            dict(
                inputs=list(frames),
                data_samples=[ActionDataSample() for _ in range(NUM_CLIPS)],
            )
        )

    ((kwargs, ours),) = calls
    settings, defaults_cfg = dict(GENERATION_CFG), dict(HEAD_DEFAULTS)
    if not captioner.head.is_encoder_decoder:
        # The seed's min_length counts new tokens (caption_head.
        # seed_min_length); transformers' would count the input ids too.
        for cfg in (settings, defaults_cfg):
            cfg['min_new_tokens'] = cfg.pop('min_length')
        assert 'min_length' not in kwargs
    assert {key: kwargs.get(key) for key in settings} == settings
    pixel_values = BlipImageProcessor(do_resize=False)(
        images=list(frames[:, 0]), return_tensors='pt'
    ).pixel_values
    reference, input_length = reference_generate(
        hf_model, model_cfg, pixel_values, **settings
    )
    assert ours.tolist() == reference.tolist()
    # The clips get different captions: their visual tokens reach the LLM.
    assert len({str(row) for row in ours.tolist()}) > 1
    if not captioner.head.is_encoder_decoder:
        reference = reference[:, input_length:]
    assert [s.pred_caption for s in predicted] == captioner.head.decode(
        reference
    )

    # The settings are visible in the output: greedy search (a dropped
    # ``num_beams``) and the head's defaults (a config that never reached
    # the head) write other tokens. ``min_length`` is checked on the call
    # only: a random model hardly ever writes its end token early.
    greedy, _ = reference_generate(
        hf_model, model_cfg, pixel_values, **dict(settings, num_beams=1)
    )
    assert greedy.tolist() != ours.tolist()
    defaults, _ = reference_generate(
        hf_model, model_cfg, pixel_values, **defaults_cfg
    )
    assert defaults.tolist() != ours.tolist()
