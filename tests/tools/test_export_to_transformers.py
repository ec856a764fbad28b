"""tools/model_converters/export_to_transformers.py: a trained tiny captioner
(OPT, T5 with LoRA, InstructBLIP; its trainable part perturbed) exported to
a transformers directory captions as before through ``init_captioner`` on
the exported config, and with one frame transformers' own ``generate`` on
the directory gives our captions; an untied ``lm_head`` stays untied."""

import os.path as osp
import runpy
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from safetensors import safe_open
from transformers import AutoModelForImageTextToText, AutoTokenizer

from tests.helpers import REPO, caption_samples, tiny_model_cfg
from tests.models.test_hf_parity import CAPTIONS, transformers_inputs
from vidcap_mm.apis import init_captioner
from vidcap_mm.apis.transformers_export import (
    CONFIG_FILE,
    export_to_transformers,
    merge_lora,
)
from vidcap_mm.engine.hooks import TrainableWeightsHook
from vidcap_mm.models.stand_ins import suppress_non_words

TOOL = osp.join(REPO, 'tools', 'model_converters', 'export_to_transformers.py')
LORA = dict(r=4, lora_alpha=8, target_modules=['q', 'v'])
# Beam search, few tokens, each word once (else most captions repeat one
# word); min_length=0 so that transformers counts the lengths as we do.
GENERATION = dict(
    num_beams=3, max_new_tokens=8, min_length=0, no_repeat_ngram_size=1
)


def run_tool(*args):
    return runpy.run_path(TOOL)['main'](list(args))


def clips(num_frames, seed, batch=3):
    """Normalised random clips, ``(B, T, 3, 32, 32)``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, num_frames, 3, 32, 32, generator=generator)


def write_training(root, kind, lora):
    """A config and a checkpoint saved as ``TrainableWeightsHook`` saves it
    (trainable part only), its trainable weights perturbed (LoRA's B, zero
    at the start, too). The generation writes only the tokenizer's words."""
    model = tiny_model_cfg(kind)
    model['head']['generation_cfg'] = dict(GENERATION)
    if lora:
        model['head']['lora'] = LORA
    cfg = Config(dict(model=model, randomness=dict(seed=0)))
    captioner = init_captioner(cfg, device='cpu')
    suppress_non_words(captioner, cfg.model.head.generation_cfg)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for param in captioner.parameters():
            if param.requires_grad:
                noise = torch.randn(param.shape, generator=generator)
                param.add_(noise * 0.3)
    checkpoint = dict(meta={}, state_dict=captioner.state_dict())
    TrainableWeightsHook().before_save_checkpoint(
        SimpleNamespace(model=captioner), checkpoint
    )
    assert checkpoint['meta']['saved_weights'] == 'trainable'
    assert not any(k.startswith('backbone.') for k in checkpoint['state_dict'])
    assert any('lora_B' in k for k in checkpoint['state_dict']) == lora
    config, path = str(root / 'config.py'), str(root / 'epoch_1.pth')
    cfg.dump(config)
    torch.save(checkpoint, path)
    return config, path


@pytest.fixture(
    scope='module',
    params=[('opt', False), ('t5', True), ('instructblip', False)],
)
def exported(request, tmp_path_factory):
    kind, lora = request.param
    root = tmp_path_factory.mktemp(f'export_{kind}')
    config, checkpoint = write_training(root, kind, lora)
    out_dir = str(root / 'exported')
    assert run_tool(config, checkpoint, out_dir) == 0
    original = init_captioner(config, checkpoint, device='cpu')
    return SimpleNamespace(
        kind=kind,
        lora=lora,
        config=config,
        checkpoint=checkpoint,
        out_dir=out_dir,
        original=original,
        export=init_captioner(osp.join(out_dir, CONFIG_FILE), device='cpu'),
    )


def test_exported_config_loads_the_directory(exported):
    cfg = Config.fromfile(osp.join(exported.out_dir, CONFIG_FILE))
    assert cfg.model.pretrained == exported.out_dir
    assert cfg.model.blip2_config is None and cfg.model.tokenizer is None
    assert 'lora' not in cfg.model.head and cfg.load_from is None
    assert not exported.export.head.uses_lora


def test_init_captioner_takes_the_directory(exported, tmp_path):
    # The folder alone, moved elsewhere: no checkpoint, no work directory.
    import shutil

    moved = shutil.copytree(exported.out_dir, tmp_path / 'moved')
    model = init_captioner(str(moved), device='cpu')
    ours, theirs = model.state_dict(), exported.export.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    with pytest.raises(FileNotFoundError, match='without vidcap_config.py'):
        init_captioner(str(tmp_path), device='cpu')


def test_weights_equal_the_merged_captioner(exported):
    merged = init_captioner(exported.config, exported.checkpoint, device='cpu')
    assert merge_lora(merged) == exported.lora
    ours, theirs = merged.state_dict(), exported.export.state_dict()
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert torch.equal(theirs[key], value), key
    # The checkpoint's weights, not the config's random ones.
    untrained = init_captioner(exported.config, device='cpu')
    neck_key = 'neck.language_projection.weight'
    assert not torch.equal(untrained.state_dict()[neck_key], ours[neck_key])


def test_same_captions_on_several_frames(exported):
    captions = []
    for seed in range(3):
        inputs = clips(num_frames=4, seed=seed)
        with torch.no_grad():
            ours = exported.original.predict(inputs, caption_samples('abc'))
            theirs = exported.export.predict(inputs, caption_samples('abc'))
        ours = [s.pred_caption for s in ours]
        assert [s.pred_caption for s in theirs] == ours
        captions += ours
    # Words that depend on the clip, not one caption for all.
    assert len(set(captions) - {''}) > 1, captions


def test_one_frame_transformers_generate_gives_our_captions(exported):
    hf_model = AutoModelForImageTextToText.from_pretrained(
        exported.out_dir
    ).eval()
    assert type(hf_model).__name__ == (
        'InstructBlipForConditionalGeneration'
        if exported.kind == 'instructblip'
        else 'Blip2ForConditionalGeneration'
    )
    tokenizer = AutoTokenizer.from_pretrained(exported.out_dir)
    head = exported.original.head
    image = clips(num_frames=1, seed=5, batch=2)
    _, generate_inputs = transformers_inputs(
        exported.kind, exported.out_dir, CAPTIONS
    )
    generation = dict(
        GENERATION, suppress_tokens=head.generation_cfg['suppress_tokens']
    )
    for num_beams in (1, 3):
        generation['num_beams'] = num_beams
        with torch.no_grad():
            ours = head.generate(
                exported.original.extract_feat(image), num_beams=num_beams
            )
            theirs = hf_model.generate(
                pixel_values=image[:, 0], **generate_inputs, **generation
            )
        if not head.is_encoder_decoder:
            theirs = theirs[:, generate_inputs['input_ids'].size(1) :]
        assert theirs.tolist() == ours.tolist()
        captions = tokenizer.batch_decode(theirs, skip_special_tokens=True)
        assert [c.strip() for c in captions] == head.decode(ours)


def test_lora_is_merged(exported):
    with safe_open(
        osp.join(exported.out_dir, 'model.safetensors'), framework='pt'
    ) as weights:
        keys = list(weights.keys())
    assert keys and not [k for k in keys if 'lora' in k]
    assert not osp.exists(osp.join(exported.out_dir, 'adapter_config.json'))
    if not exported.lora:
        return
    inputs = clips(num_frames=4, seed=7, batch=2)
    logits = []
    for captioner in (exported.original, exported.export):
        llm = captioner.head.language_model
        with torch.no_grad():
            visual = captioner.extract_feat(inputs)
            prompt = torch.tensor([captioner.head.prompt_ids] * 2)
            embeds = torch.cat([visual, llm.get_input_embeddings()(prompt)], 1)
            logits.append(
                llm(
                    inputs_embeds=embeds,
                    decoder_input_ids=torch.tensor([[0, 5, 6, 7]] * 2),
                ).logits
            )
    torch.testing.assert_close(logits[1], logits[0], rtol=0, atol=1e-5)
    # The adapters changed the LLM: the merged weights are not the base's.
    query = 'encoder.block.0.layer.0.SelfAttention.q'
    base = exported.original.head.language_model.base_model.model
    merged = exported.export.head.language_model
    assert not torch.equal(
        merged.get_submodule(query).weight,
        base.get_submodule(query).base_layer.weight,
    )


def test_checkpoint_of_another_model_is_refused(exported, tmp_path, capsys):
    other = 't5' if exported.kind == 'opt' else 'opt'
    cfg = Config(dict(model=tiny_model_cfg(other)))
    config = str(tmp_path / f'{other}.py')
    cfg.dump(config)
    out_dir = tmp_path / 'out'
    assert run_tool(config, exported.checkpoint, str(out_dir)) == 1
    error = capsys.readouterr().err
    assert f"checkpoint '{exported.checkpoint}' does not fit" in error
    assert 'another architecture' in error and config in error
    assert not out_dir.exists()


def test_untied_output_embedding_is_kept(tmp_path):
    """Flan-T5 keeps ``lm_head`` apart from ``shared``: the export must
    write it, and load it untied."""
    model = tiny_model_cfg('t5')
    model['blip2_config']['text_config']['tie_word_embeddings'] = False
    config = str(tmp_path / 'untied.py')
    Config(dict(model=model, randomness=dict(seed=0))).dump(config)
    out_dir = str(tmp_path / 'exported')
    export_to_transformers(config, None, out_dir)
    with safe_open(
        osp.join(out_dir, 'model.safetensors'), framework='pt'
    ) as weights:
        assert 'language_model.lm_head.weight' in weights.keys()
    original = init_captioner(config, device='cpu')
    export = init_captioner(osp.join(out_dir, CONFIG_FILE), device='cpu')
    llm = export.head.language_model
    assert llm.lm_head.weight is not llm.shared.weight
    ours, theirs = original.state_dict(), export.state_dict()
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert torch.equal(theirs[key], value), key
