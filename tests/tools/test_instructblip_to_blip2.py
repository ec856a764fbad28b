"""tools/model_converters/instructblip_to_blip2.py: the BLIP-2 directory it
writes from a tiny InstructBLIP loads with ``pretrained=``, holds the
source's weights exactly and gives the visual tokens of the source's
Q-Former run without text; the seed's LAVIS Vicuna checkpoint then converts
for it and loads over it."""

import json
import os.path as osp
import runpy

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from transformers import AutoTokenizer, LlamaTokenizer

from tests.helpers import REPO, tiny_model_cfg
from tests.tools.test_lavis_converter import (
    assert_same_model,
    lavis_state_dict,
    load_converted,
    save_lavis,
)
from vidcap_mm.models import build_word_tokenizer, load_blip2
from vidcap_mm.models.instructblip_to_blip2 import eos_as_bos
from vidcap_mm.models.lavis_checkpoint import convert_lavis_checkpoint
from vidcap_mm.models.stand_ins import random_weights_model

TOOL = osp.join(REPO, 'tools', 'model_converters', 'instructblip_to_blip2.py')


def run_tool(*args):
    return runpy.run_path(TOOL)['main'](list(args))


@pytest.fixture(scope='module')
def assembled(tmp_path_factory):
    """A tiny random InstructBLIP (every tensor distinct; the ViT without a
    key bias, as EVA's) saved as the hub holds it, and the directory the
    tool writes from it."""
    root = tmp_path_factory.mktemp('instructblip')
    cfg = tiny_model_cfg('instructblip')
    torch.manual_seed(0)
    source = load_blip2(blip2_config=cfg['blip2_config']).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in source.parameters():
            param.add_(torch.randn(param.shape, generator=generator) * 0.05)
        for layer in source.vision_model.encoder.layers:  # EVA: no key bias
            layer.self_attn.qkv.bias.chunk(3)[1].zero_()
    src, dst = str(root / 'instructblip'), str(root / 'blip2')
    source.save_pretrained(src)
    # Llama's own convention ('<s>' in front): the tool makes it LAVIS's.
    build_word_tokenizer(
        cfg['tokenizer']['words'], style='llama'
    ).save_pretrained(src)
    build_word_tokenizer(**cfg['qformer_tokenizer']).save_pretrained(
        osp.join(src, 'qformer_tokenizer')
    )
    assert run_tool(src, dst) == 0
    return source, dst


def captioner_of(directory):
    """The tiny 'vicuna' captioner (the seed's model) on ``directory``."""
    cfg = tiny_model_cfg('vicuna')
    del cfg['blip2_config']
    cfg.update(pretrained=directory, tokenizer=None)
    return MODELS.build(cfg).eval()


def test_directory_is_a_blip2_model(assembled):
    _, dst = assembled
    with open(osp.join(dst, 'config.json')) as f:
        config = json.load(f)
    assert config['model_type'] == 'blip-2'
    assert config['text_config']['model_type'] == 'llama'
    assert not osp.exists(osp.join(dst, 'qformer_tokenizer'))
    tokenizer = AutoTokenizer.from_pretrained(dst)
    eos = tokenizer.convert_tokens_to_ids('</s>')
    assert tokenizer.bos_token == '</s>'
    assert (
        tokenizer('a red').input_ids
        == [eos] + tokenizer('a red', add_special_tokens=False).input_ids
    )


def test_weights_are_the_sources(assembled):
    source, dst = assembled
    captioner = captioner_of(dst)
    assert not captioner.neck.reads_instruction
    pairs = [
        (captioner.backbone.vision_model, source.vision_model),
        (captioner.head.language_model, source.language_model),
        (captioner.neck.language_projection, source.language_projection),
    ]
    for ours, theirs in pairs:
        got, expected = ours.state_dict(), theirs.state_dict()
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[k], expected[k]) for k in expected)
    assert torch.equal(captioner.neck.query_tokens, source.query_tokens)
    qformer = captioner.neck.qformer.state_dict()
    theirs = source.qformer.state_dict()
    shared = [k for k in qformer if k in theirs]
    assert set(qformer) - set(shared) == {
        'layernorm.weight',
        'layernorm.bias',
    }
    assert all(torch.equal(qformer[k], theirs[k]) for k in shared)
    for name in ('weight', 'bias'):
        assert torch.equal(
            qformer[f'layernorm.{name}'],
            theirs[f'embeddings.layernorm.{name}'],
        )
    # Left out: what only text passes through.
    left = sorted(set(theirs) - set(shared) - {'embeddings.layernorm.weight'})
    assert 'embeddings.word_embeddings.weight' in left
    assert 'encoder.layer.0.intermediate.dense.weight' in left
    assert not any('_query' in k for k in left)


def test_visual_tokens_are_the_sources_without_text(assembled):
    """One frame: our visual tokens equal InstructBLIP's (transformers')
    ViT -> Q-Former with no text -> projection."""
    source, dst = assembled
    captioner = captioner_of(dst)
    pixels = torch.randn(
        2, 3, 32, 32, generator=torch.Generator().manual_seed(3)
    )
    with torch.no_grad():
        image = source.vision_model(pixel_values=pixels).last_hidden_state
        queries = source.qformer(
            input_ids=None,
            query_embeds=source.query_tokens.expand(2, -1, -1),
            encoder_hidden_states=image,
        ).last_hidden_state
        expected = source.language_projection(queries)
        got = captioner.extract_feat(pixels.unsqueeze(1))
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_seed_lavis_checkpoint_loads_over_it(assembled, tmp_path):
    """The seed's Blip2VicunaInstruct checkpoint (as LAVIS's trainer saves
    it: no ViT, no LLM) converts for the assembled model and loads over it:
    the result is the LAVIS model whose ViT and LLM came from there."""
    _, dst = assembled
    lavis_model = captioner_of(dst)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for param in lavis_model.parameters():
            if param.requires_grad:  # Q-Former, queries, projection, ViT norm
                param.add_(torch.randn(param.shape, generator=generator))
    state = lavis_state_dict(lavis_model, 'vicuna', trained_part_only=True)
    # Of the frozen ViT and LLM, only LAVIS's Llama buffers (inv_freq).
    assert all(
        k.endswith('inv_freq')
        for k in state
        if k.startswith(('visual_encoder.', 'llm_model.'))
    )
    src = str(tmp_path / 'blip2_pretrained_vicuna7b.pth')
    save_lavis(src, state)
    cfg = tiny_model_cfg('vicuna')
    del cfg['blip2_config']
    cfg.update(pretrained=dst, tokenizer=None)
    checkpoint, conversion = convert_lavis_checkpoint(src, cfg)
    assert conversion.layout == 'Blip2VicunaInstruct'
    converted = str(tmp_path / 'converted.pth')
    torch.save(checkpoint, converted)
    fresh = captioner_of(dst)
    assert not torch.equal(
        fresh.neck.query_tokens, lavis_model.neck.query_tokens
    )
    load_converted(fresh, converted)
    assert_same_model(fresh, lavis_model)


def test_llama_tokenizer_gets_lavis_bos():
    """A transformers LlamaTokenizer that puts '<s>' in front (Vicuna's
    own) puts '</s>' there after :func:`eos_as_bos`, as LAVIS's."""
    vocab = {'<unk>': 0, '<s>': 1, '</s>': 2, '▁': 3, 'a': 4, '▁a': 5}
    tokenizer = LlamaTokenizer(
        vocab=vocab, merges=[('▁', 'a')], add_bos_token=True
    )
    assert tokenizer('a').input_ids == [1, 5]
    assert eos_as_bos(tokenizer)('a').input_ids == [2, 5]
    assert tokenizer('').input_ids == [2]


def test_tokenizer_without_bos_is_refused():
    tokenizer = build_word_tokenizer(['a'], style='t5')
    with pytest.raises(ValueError, match='cannot be made'):
        eos_as_bos(tokenizer)


@pytest.mark.parametrize(
    'base, model_type',
    [
        ('blip2_vicuna7b.py', 'blip-2'),
        ('instructblip_vicuna7b.py', 'instructblip'),
    ],
)
def test_each_vicuna_base_has_its_own_stand_in(base, model_type):
    """The seed's BLIP-2 Vicuna and our InstructBLIP alternative each run
    on a tiny model of their kind."""
    path = osp.join(REPO, 'configs', '_base_', 'models', base)
    model = random_weights_model(Config.fromfile(path).model.to_dict(), 'tiny')
    captioner = MODELS.build(model)
    blip2_type = model['blip2_config'].get('model_type', 'blip-2')
    assert blip2_type == model_type
    assert captioner.neck.reads_instruction == (model_type == 'instructblip')
