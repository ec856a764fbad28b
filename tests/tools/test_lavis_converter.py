"""tools/model_converters/lavis_to_vidcap.py: a tiny model written in LAVIS's
key layout converts back to the same model (identical loss and generated
ids), whole or as LAVIS's trainer saves it, and bad checkpoints are refused
naming the file and the keys.

The LAVIS layout is written here from a hand-made list of key patterns,
independently of the converter's mapping.
"""

import os.path as osp
import re
import runpy
from types import SimpleNamespace

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

from tests.helpers import (
    REPO,
    build_captioner,
    caption_samples,
    tiny_model_cfg,
)
from vidcap_mm.engine.hooks import TrainableWeightsHook
from vidcap_mm.models import load_blip2
from vidcap_mm.models.lavis_checkpoint import (
    LavisCheckpointError,
    convert_lavis_checkpoint,
)

TOOL = osp.join(REPO, 'tools', 'model_converters', 'lavis_to_vidcap.py')
CAPTIONS = ['a red circle on a blue background', 'a green square']
LORA = dict(lora=dict(r=2, lora_alpha=4, target_modules=['q', 'v']))
FAMILY = dict(t5='t5', opt='opt', vicuna='llm', instructblip='llm')

# Our key (start) -> LAVIS key (start), first match wins; what follows the
# match is kept. Written from LAVIS's module names (eva_vit.py, Qformer.py,
# blip2_*.py). VIT: our ViT; LAYER / BLOCK: one of its layers.
VIT = r'backbone\.vision_model\.'
LAYER = VIT + r'encoder\.layers\.(\d+)\.'
BLOCK = r'visual_encoder.blocks.\1.'
QFORMER_LAYER = r'neck\.qformer\.encoder\.layer\.(\d+)\.'
# fmt: off
OURS_TO_LAVIS = [
    (VIT + r'embeddings\.class_embedding$', 'visual_encoder.cls_token'),
    (VIT + r'embeddings\.position_embedding$', 'visual_encoder.pos_embed'),
    (VIT + r'embeddings\.patch_embedding\.',
     'visual_encoder.patch_embed.proj.'),
    (LAYER + r'layer_norm1\.', BLOCK + 'norm1.'),
    (LAYER + r'layer_norm2\.', BLOCK + 'norm2.'),
    (LAYER + r'self_attn\.qkv\.weight$', BLOCK + 'attn.qkv.weight'),
    (LAYER + r'self_attn\.projection\.', BLOCK + 'attn.proj.'),
    (LAYER + r'mlp\.', BLOCK + 'mlp.'),
    (VIT + r'post_layernorm\.', 'ln_vision.'),
    (r'neck\.query_tokens$', 'query_tokens'),
    (r'neck\.qformer\.layernorm\.', 'Qformer.bert.embeddings.LayerNorm.'),
    (r'neck\.qformer\.embeddings\.layernorm\.',
     'Qformer.bert.embeddings.LayerNorm.'),
    (r'neck\.qformer\.embeddings\.', 'Qformer.bert.embeddings.'),
    (QFORMER_LAYER + r'attention\.attention\.',
     r'Qformer.bert.encoder.layer.\1.attention.self.'),
    (QFORMER_LAYER + r'crossattention\.attention\.',
     r'Qformer.bert.encoder.layer.\1.crossattention.self.'),
    (r'neck\.qformer\.encoder\.', 'Qformer.bert.encoder.'),
    (r'neck\.language_projection\.', '{family}_proj.'),
    (r'head\.language_model\.', '{family}_model.'),
]
# fmt: on
QKV_BIAS = re.compile(LAYER + r'self_attn\.qkv\.bias$')


def lavis_key(key, family):
    for pattern, replacement in OURS_TO_LAVIS:
        match = re.match(pattern, key)
        if match:
            start = match.expand(replacement.format(family=family))
            return start + key[match.end() :]
    raise AssertionError(f'no LAVIS key for {key}')


def lavis_trains(key, family):
    """``requires_grad`` of a LAVIS parameter in the seed's runs: the ViT
    (``visual_encoder``, not ``ln_vision``) and the LLM are frozen, LoRA
    adapters, Q-Former, query tokens and projection train."""
    frozen = key.startswith(('visual_encoder.', f'{family}_model.'))
    return not frozen or '.lora_' in key


def lavis_state_dict(model, kind, trained_part_only=False):
    """``model``'s weights as LAVIS's model would hold them.

    With ``trained_part_only``, as LAVIS's trainer saves them
    (``runner_base.RunnerBase._save_checkpoint``): from the whole state
    dict it deletes the keys that ``named_parameters()`` lists for a
    parameter without ``requires_grad``. ``named_parameters()`` lists a
    tied weight once, so the other names of a frozen tied weight stay, and
    so do all buffers. ``model`` must tie what LAVIS's model ties (T5's
    embeddings to ``shared`` and not ``lm_head``, as Flan-T5; OPT's
    ``lm_head`` to its input embedding).
    """
    family = FAMILY[kind]
    state = {}
    names = {}  # our key -> its LAVIS keys
    for key, value in model.state_dict().items():
        match = QKV_BIAS.match(key)
        if match:
            q_bias, k_bias, v_bias = value.chunk(3)
            assert not k_bias.any(), 'EVA has no key bias'
            block = f'visual_encoder.blocks.{match.group(1)}.attn.'
            state[block + 'q_bias'] = q_bias.clone()
            state[block + 'v_bias'] = v_bias.clone()
            names[key] = [block + 'q_bias', block + 'v_bias']
        else:
            state[lavis_key(key, family)] = value.clone()
            names[key] = [lavis_key(key, family)]
    if trained_part_only:
        requires_grad = {
            theirs: lavis_trains(theirs, family)
            for ours, _ in model.named_parameters()
            for theirs in names[ours]
        }
        state = {k: v for k, v in state.items() if requires_grad.get(k, True)}
    qformer = model.neck.qformer.config
    state['Qformer.bert.embeddings.position_ids'] = torch.arange(
        qformer.max_position_embeddings
    ).unsqueeze(0)
    if family == 'llm':  # LAVIS's Llama copy keeps inv_freq in its state
        llm = model.head.language_model.config
        for i in range(llm.num_hidden_layers):
            state[
                f'llm_model.model.layers.{i}.self_attn.rotary_emb.inv_freq'
            ] = torch.ones(llm.hidden_size // llm.num_attention_heads // 2)
    return state


def flan_t5_config():
    """The tiny T5's ``blip2_config`` with its own ``lm_head``, as
    Flan-T5's (``tie_word_embeddings: false``)."""
    blip2_config = tiny_model_cfg('t5')['blip2_config']
    blip2_config['text_config']['tie_word_embeddings'] = False
    return blip2_config


FLAN_T5 = dict(blip2_config=flan_t5_config())


def source_model(kind, seed=0, **parts):
    """A tiny model whose every tensor differs from the others (random
    biases, LoRA B not zero) and whose ViT has no key bias, as EVA's."""
    model = build_captioner(kind, seed=seed, **parts).eval()
    generator = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(
                torch.randn(param.shape, generator=generator).to(param) * 0.05
            )
        for layer in model.backbone.vision_model.encoder.layers:
            layer.self_attn.qkv.bias.chunk(3)[1].zero_()
    return model


def save_lavis(path, state):
    # What LAVIS's trainer writes around the state dict.
    torch.save(
        dict(model=state, optimizer={}, config={'run': {}}, epoch=3), path
    )


def load_converted(model, checkpoint_path):
    """Load as MMEngine's runner does: through TrainableWeightsHook (strict)
    and then ``load_state_dict``."""
    checkpoint = torch.load(
        checkpoint_path, map_location='cpu', weights_only=True
    )
    runner = SimpleNamespace(
        model=model,
        cfg=SimpleNamespace(
            filename='tiny config', get=lambda key: checkpoint_path
        ),
    )
    TrainableWeightsHook().after_load_checkpoint(runner, checkpoint)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    return checkpoint


def convert(tmp_path, kind, state, **parts):
    src = str(tmp_path / 'lavis.pth')
    save_lavis(src, state)
    checkpoint, conversion = convert_lavis_checkpoint(
        src, build_cfg(kind, **parts)
    )
    dst = str(tmp_path / 'converted.pth')
    torch.save(checkpoint, dst)
    return dst, checkpoint, conversion


def build_cfg(kind, **parts):
    cfg = tiny_model_cfg(kind)
    for key, value in parts.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def outputs(model):
    """Loss and beam-search ids for a fixed random clip batch."""
    clips = torch.randn(
        2, 3, 3, 32, 32, generator=torch.Generator().manual_seed(7)
    )
    samples = caption_samples(CAPTIONS)
    # Short beams: the ids must match, not be good captions.
    model.head.generation_cfg.update(
        num_beams=2, max_new_tokens=6, min_length=0
    )
    with torch.no_grad():
        loss = model.loss(clips, samples)['loss_caption']
        ids = model.head.generate(model.extract_feat(clips))
    return loss, ids


def assert_same_model(converted, source):
    expected = source.state_dict()
    got = converted.state_dict()
    assert got.keys() == expected.keys()
    unequal = [k for k in expected if not torch.equal(got[k], expected[k])]
    assert not unequal, unequal[:5]
    loss, ids = outputs(converted)
    expected_loss, expected_ids = outputs(source)
    assert torch.equal(loss, expected_loss)
    assert torch.equal(ids, expected_ids)


@pytest.mark.parametrize('kind', ['t5', 'opt', 'instructblip'])
def test_whole_lavis_model_converts_to_the_same_model(tmp_path, kind):
    source = source_model(kind)
    dst, checkpoint, conversion = convert(
        tmp_path, kind, lavis_state_dict(source, kind)
    )
    assert (
        conversion.layout
        == {
            't5': 'Blip2T5',
            'opt': 'Blip2OPT',
            'instructblip': 'Blip2VicunaInstruct',
        }[kind]
    )
    assert conversion.complete
    assert checkpoint['meta']['saved_weights'] == 'all'
    fresh = build_captioner(kind, seed=1).eval()
    assert not torch.equal(fresh.neck.query_tokens, source.neck.query_tokens)
    load_converted(fresh, dst)
    assert_same_model(fresh, source)


def over_pretrained(source, kind, dst, **parts):
    """A fresh model whose frozen ViT and LLM hold the source's weights (as
    ``pretrained=`` would), with ``dst`` loaded over them."""
    fresh = build_captioner(kind, seed=1, **parts).eval()
    frozen = {
        k: v
        for k, v in source.state_dict().items()
        if k.startswith(('backbone.', 'head.')) and '.lora_' not in k
    }
    fresh.load_state_dict(frozen, strict=False)
    load_converted(fresh, dst)
    return fresh


# What LAVIS's trainer leaves of a frozen LLM in its checkpoints: the other
# names of tied weights (T5's shared embedding; OPT's, which is lm_head).
T5_TIED_COPIES = [
    't5_model.{}decoder.embed_tokens.weight',
    't5_model.{}encoder.embed_tokens.weight',
]


@pytest.mark.parametrize(
    'kind, parts, tied_copies',
    [
        ('t5', FLAN_T5, [k.format('') for k in T5_TIED_COPIES]),
        (
            't5',
            dict(FLAN_T5, head=LORA),
            [k.format('base_model.model.') for k in T5_TIED_COPIES],
        ),
        ('opt', {}, ['opt_model.lm_head.weight']),
        ('instructblip', {}, []),
    ],
    ids=['flan-t5', 'flan-t5-lora', 'opt', 'instructblip-vicuna'],
)
def test_lavis_trainer_checkpoint_converts_over_the_pretrained_weights(
    tmp_path, kind, parts, tied_copies
):
    source = source_model(kind, **parts)
    state = lavis_state_dict(source, kind, trained_part_only=True)
    assert not any(k.startswith('visual_encoder.') for k in state)
    llm_keys = sorted(
        k
        for k in state
        if k.startswith(f'{FAMILY[kind]}_model.')
        and '.lora_' not in k
        and not k.endswith('inv_freq')
    )
    assert llm_keys == tied_copies  # what LAVIS's filter keeps
    dst, checkpoint, conversion = convert(tmp_path, kind, state, **parts)
    assert not conversion.complete
    assert conversion.tied_copies == tied_copies
    assert checkpoint['meta']['saved_weights'] == 'trainable'
    assert (
        checkpoint['meta']['converted_from']['tied_copies_left_out']
        == tied_copies
    )
    fresh = over_pretrained(source, kind, dst, **parts)
    assert_same_model(fresh, source)


@pytest.mark.parametrize('peft_version', ['0.3.0', '0.2.0'])
def test_lora_checkpoint_of_an_older_peft_converts(tmp_path, peft_version):
    """The seed's T5 + LoRA fine-tunes were saved with peft 0.3.0, whose
    LoRA layer is the ``nn.Linear`` itself (``q.weight``, no
    ``.base_layer``) with adapters ``q.lora_A.default.weight``; peft 0.2.0
    named them ``q.lora_A.weight``."""
    parts = dict(FLAN_T5, head=LORA)
    source = source_model('t5', **parts)
    state = {}
    for key, value in lavis_state_dict(
        source, 't5', trained_part_only=True
    ).items():
        key = key.replace('.base_layer.', '.')
        if peft_version == '0.2.0':
            key = re.sub(r'\.(lora_[AB])\.default\.', r'.\1.', key)
        state[key] = value
    lora_keys = [k for k in state if '.lora_' in k]
    assert lora_keys and not any('base_layer' in k for k in state)
    dst, _, _ = convert(tmp_path, 't5', state, **parts)
    assert_same_model(over_pretrained(source, 't5', dst, **parts), source)


def test_own_lm_head_into_a_tied_model_is_refused(tmp_path):
    """Flan-T5's lm_head is its own weight in LAVIS; the tiny T5 config
    ties it to ``shared``: loading both would keep one of them."""
    state = lavis_state_dict(source_model('t5', **FLAN_T5), 't5')
    assert not torch.equal(
        state['t5_model.lm_head.weight'], state['t5_model.shared.weight']
    )
    message = error_of(tmp_path, 't5', state)
    assert 't5_model.lm_head.weight' in message
    assert 'head.language_model.lm_head.weight' in message
    assert 'the model ties' in message
    assert 'tie_word_embeddings=False' in message


def test_own_lm_head_converts_for_an_untied_config(tmp_path):
    source = source_model('t5', **FLAN_T5)
    lm = source.head.language_model
    assert lm.lm_head.weight is not lm.shared.weight
    dst, _, conversion = convert(
        tmp_path, 't5', lavis_state_dict(source, 't5'), **FLAN_T5
    )
    assert conversion.complete
    fresh = build_captioner('t5', seed=1, **FLAN_T5).eval()
    load_converted(fresh, dst)
    assert_same_model(fresh, source)
    assert not torch.equal(
        fresh.head.language_model.lm_head.weight,
        fresh.head.language_model.shared.weight,
    )


def test_tool_converts_for_a_config(tmp_path, capsys):
    """The command line, with a training config: DST loads as
    ``load_from`` / ``tools/test.py`` load it (TrainableWeightsHook)."""
    demo = osp.join(REPO, 'configs', 'demo', 'tiny_t5_synthetic.py')
    # Without the demo's contrastive loss, which LAVIS has no weights for.
    config = str(tmp_path / 'tiny_t5.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{demo!r}]\nmodel = dict(contrastive_loss=None)\n')
    torch.manual_seed(0)
    source = MODELS.build(Config.fromfile(config).model)
    with torch.no_grad():
        for layer in source.backbone.vision_model.encoder.layers:
            layer.self_attn.qkv.bias.chunk(3)[1].zero_()
    src = str(tmp_path / 'lavis.pth')
    save_lavis(src, lavis_state_dict(source, 't5'))
    dst = str(tmp_path / 'out' / 'converted.pth')
    # In this process: the tool's imports would cost more than the test.
    main = runpy.run_path(TOOL)['main']
    assert main([src, dst, '--config', config]) == 0
    assert 'LAVIS Blip2T5' in capsys.readouterr().out
    fresh = MODELS.build(Config.fromfile(config).model)
    load_converted(fresh, dst)
    assert_same_model(fresh.eval(), source.eval())


@pytest.fixture(scope='module')
def t5_state():
    """A whole tiny T5 model in LAVIS's layout (copy before changing)."""
    return lavis_state_dict(source_model('t5'), 't5')


@pytest.mark.parametrize('own_lm_head', [False, True])
def test_pretrained_directory_ties_lm_head_as_its_weights_say(
    tmp_path, own_lm_head
):
    """A ``pretrained=`` directory whose lm_head differs from ``shared``
    (save_pretrained of a Flan-T5-like model) loads untied, the skeleton
    the converter builds is untied alike, and a whole LAVIS checkpoint with
    its own lm_head converts and loads; for a directory whose lm_head is
    tied the same checkpoint is refused."""
    parts = FLAN_T5 if own_lm_head else {}
    directory = str(tmp_path / 'pretrained')
    blip2_config = (
        parts.get('blip2_config') or tiny_model_cfg('t5')['blip2_config']
    )
    model = load_blip2(blip2_config=blip2_config)
    with torch.no_grad():
        model.language_model.lm_head.weight.mul_(2)  # differs where untied
    model.save_pretrained(directory)
    build_captioner('t5').head.tokenizer.save_pretrained(directory)
    cfg = tiny_model_cfg('t5')
    del cfg['blip2_config'], cfg['tokenizer']
    cfg['pretrained'] = directory
    loaded = MODELS.build(cfg).head.language_model
    assert (loaded.lm_head.weight is not loaded.shared.weight) == own_lm_head
    source = source_model('t5', **FLAN_T5)
    src = str(tmp_path / 'lavis.pth')
    save_lavis(src, lavis_state_dict(source, 't5'))
    if not own_lm_head:
        with pytest.raises(LavisCheckpointError, match='the model ties'):
            convert_lavis_checkpoint(src, cfg)
        return
    checkpoint, conversion = convert_lavis_checkpoint(src, cfg)
    assert conversion.complete
    dst = str(tmp_path / 'converted.pth')
    torch.save(checkpoint, dst)
    model = MODELS.build(cfg).eval()
    load_converted(model, dst)
    assert_same_model(model, source)


def test_pretrained_config_converts_without_loading_weights(
    tmp_path, t5_state
):
    """A ``pretrained=`` config: the converter reads only its config.json
    and tokenizer, and the model built from the weights accepts DST."""
    directory = str(tmp_path / 'pretrained')
    cfg = tiny_model_cfg('t5')
    load_blip2(blip2_config=cfg.pop('blip2_config')).save_pretrained(directory)
    build_captioner('t5').head.tokenizer.save_pretrained(directory)
    cfg.pop('tokenizer')
    cfg['pretrained'] = directory
    src = str(tmp_path / 'lavis.pth')
    save_lavis(src, t5_state)
    checkpoint, _ = convert_lavis_checkpoint(src, cfg)
    dst = str(tmp_path / 'converted.pth')
    torch.save(checkpoint, dst)
    model = MODELS.build(cfg)
    load_converted(model, dst)  # the architecture signatures agree
    assert torch.equal(model.neck.query_tokens, t5_state['query_tokens'])


def error_of(tmp_path, kind, state, **parts):
    with pytest.raises(LavisCheckpointError) as info:
        convert(tmp_path, kind, state, **parts)
    message = str(info.value)
    assert str(tmp_path / 'lavis.pth') in message
    return message


def test_unknown_layout_is_refused(tmp_path):
    # A stage-1 Q-Former checkpoint: no LLM, its own projections.
    state = {
        'query_tokens': torch.zeros(1, 8, 32),
        'vision_proj.weight': torch.zeros(4, 32),
        'itm_head.weight': torch.zeros(2, 32),
    }
    message = error_of(tmp_path, 't5', state)
    assert 'unknown layout' in message
    assert 'itm_head.weight' in message


def test_another_llm_is_refused(tmp_path):
    state = lavis_state_dict(source_model('opt'), 'opt')
    message = error_of(tmp_path, 't5', state)
    assert 'Blip2OPT' in message and 'builds a t5 LLM' in message


def test_missing_part_of_the_qformer_is_refused(tmp_path, t5_state):
    state = dict(t5_state)
    key = 'Qformer.bert.encoder.layer.1.crossattention.self.key.weight'
    del state[key]
    message = error_of(tmp_path, 't5', state)
    assert 'there only in part: 1 (neck.qformer.encoder.layer.1.' in message
    assert 'crossattention.attention.key.weight)' in message


def test_missing_trainable_part_is_refused(tmp_path, t5_state):
    state = dict(t5_state)
    # Only the frozen parts: the trained part is elsewhere.
    state = {
        k: v
        for k, v in state.items()
        if k.startswith(('visual_encoder.', 'ln_vision.', 't5_model.'))
    }
    message = error_of(tmp_path, 't5', state)
    assert 'missing trainable keys (neck.language_projection.bias, ' in message


def test_part_of_the_projection_is_refused(tmp_path, t5_state):
    state = dict(t5_state)
    del state['t5_proj.bias']
    message = error_of(tmp_path, 't5', state)
    assert 'there only in part: 1 (neck.language_projection.bias)' in message


def test_missing_lora_adapters_are_refused(tmp_path, t5_state):
    state = dict(t5_state)
    message = error_of(tmp_path, 't5', state, head=LORA)
    assert 'lora_A.default.weight' in message
    assert 'needs a config without lora=' in message


def test_shape_mismatch_is_refused(tmp_path, t5_state):
    state = dict(t5_state)
    state['query_tokens'] = torch.zeros(1, 9, 32)
    message = error_of(tmp_path, 't5', state)
    assert 'query_tokens (1, 9, 32) vs neck.query_tokens (1, 8, 32)' in message


def test_unknown_keys_are_refused(tmp_path, t5_state):
    state = dict(t5_state)
    state['visual_encoder.blocks.0.gamma_1'] = torch.ones(32)
    state['Qformer.cls.predictions.bias'] = torch.ones(128)
    message = error_of(tmp_path, 't5', state)
    assert 'visual_encoder.blocks.0.gamma_1' in message
    assert 'Qformer.cls.predictions.bias' in message


def test_lonely_eva_bias_is_refused(tmp_path, t5_state):
    state = dict(t5_state)
    del state['visual_encoder.blocks.1.attn.v_bias']
    message = error_of(tmp_path, 't5', state)
    assert 'visual_encoder.blocks.1.attn.q_bias' in message


@pytest.mark.parametrize('trained_part_only', [False, True])
def test_seed_vicuna_checkpoint_converts_to_a_blip2_qformer(
    tmp_path, trained_part_only
):
    """The seed's Vicuna model (LAVIS Blip2VicunaInstruct with
    ``qformer_text_input: False`` and ``prompt: ""``; the tiny 'vicuna'
    model): LAVIS sets the Q-Former's word and position embeddings and each
    layer's text ``intermediate`` / ``output`` to None, so its checkpoints
    hold none of them: they convert to a BLIP-2 Q-Former
    (``qformer.layernorm``), not to an InstructBLIP one."""
    source = source_model('vicuna')
    assert not source.neck.reads_instruction
    state = lavis_state_dict(source, 'vicuna', trained_part_only)
    assert not any(
        re.match(
            r'Qformer\.bert\.(embeddings\.\w+_embeddings|encoder\.'
            r'layer\.\d+\.(intermediate|output)\.)',
            k,
        )
        for k in state
    )
    dst, _, conversion = convert(tmp_path, 'vicuna', state)
    assert conversion.layout == 'Blip2VicunaInstruct'
    assert conversion.complete != trained_part_only
    if trained_part_only:
        fresh = over_pretrained(source, 'vicuna', dst)
    else:
        fresh = build_captioner('vicuna', seed=1).eval()
        load_converted(fresh, dst)
    assert_same_model(fresh, source)


def test_seed_vicuna_checkpoint_into_instructblip_is_refused(tmp_path):
    source = source_model('vicuna')
    message = error_of(
        tmp_path, 'instructblip', lavis_state_dict(source, 'vicuna', True)
    )
    assert 'neck.qformer.embeddings.word_embeddings.weight' in message
    assert 'qformer_text_input: False' in message


def test_seed_vicuna_text_layout():
    """Blip2VicunaInstruct with ``prompt: ""`` sets the Llama tokenizer's
    BOS to '</s>' (``__init__``), so ``forward`` has the LLM read
    [visual ; '</s>' (the empty prompt's one token) ; caption ; '</s>'],
    the caption and its end the only targets, and ``generate`` start
    after [visual ; '</s>']: the tiny 'vicuna' model's head lays it out
    so."""
    head = build_captioner('vicuna').head
    tokenizer = head.tokenizer
    caption = tokenizer('a red circle', add_special_tokens=False).input_ids
    text = head.text_inputs(['a red circle'])
    eos = tokenizer.convert_tokens_to_ids('</s>')
    assert head.prompt_ids == [eos]
    assert text['input_ids'].tolist() == [[eos] + caption + [eos]]
    assert text['labels'].tolist() == [[-100] + caption + [eos]]
