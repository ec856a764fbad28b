"""benchmark_train_step.py runs (tiny stand-in) and the real-size
stand-ins have the published checkpoints' sizes."""

import copy
import os.path as osp
import runpy

import pytest
import torch
from transformers import AutoConfig, AutoModelForImageTextToText

from tests.helpers import REPO
from vidcap_mm.models.stand_ins import REAL_DIMENSIONS, random_weights_model

SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark_train_step.py')

# Parameters of the hub checkpoints (billions, as their model cards round
# them). Flan-T5-XL's files store its 32128 x 2048 word embedding twice
# (the shared table and the encoder's copy), which the model counts once.
PUBLISHED_BILLIONS = {
    'Salesforce/blip2-flan-t5-xl': 3.94 - 32128 * 2048 / 1e9,
    'Salesforce/blip2-opt-2.7b': 3.74,
    'Salesforce/blip2-opt-6.7b': 7.75,
    'Salesforce/instructblip-vicuna-7b': 7.91,
    # Less the Q-Former's text parts: word and position embeddings and 12
    # text feed-forward blocks (768 -> 3072 -> 768 with a LayerNorm).
    'checkpoints/blip2-vicuna-7b': 7.91
    - (30523 + 512) * 768 / 1e9
    - 12 * (2 * 768 * 3072 + 3072 + 3 * 768) / 1e9,
}


@pytest.mark.parametrize('model_id', sorted(REAL_DIMENSIONS))
def test_real_size_stand_ins_match_the_checkpoints(model_id):
    model_cfg = random_weights_model(
        dict(type='Blip2VideoCaptioner', pretrained=model_id), 'real'
    )
    assert model_cfg['pretrained'] is None
    blip2 = copy.deepcopy(model_cfg['blip2_config'])
    config = AutoConfig.for_model(blip2.pop('model_type', 'blip-2'), **blip2)
    with torch.device('meta'):
        model = AutoModelForImageTextToText.from_config(config)
    billions = sum(p.numel() for p in model.parameters()) / 1e9
    assert billions == pytest.approx(PUBLISHED_BILLIONS[model_id], abs=0.006)


def test_unknown_checkpoint_is_refused():
    with pytest.raises(ValueError, match='No known dimensions'):
        random_weights_model(dict(pretrained='Salesforce/blip2-opt-1b'))
    with pytest.raises(ValueError, match='names none of the LLM families'):
        random_weights_model(dict(pretrained='someone/gpt2'), 'tiny')


def run(*args):
    module = runpy.run_path(SCRIPT)
    return module['main'](list(args))


def test_train_step_benchmark_on_tiny_stand_in(capsys, tmp_path):
    out = tmp_path / 'results.json'
    results = run(
        osp.join(REPO, 'configs', 'msvd_flant5xl_ft.py'),
        '--tiny',
        '--frames',
        '2',
        '3',
        '--batch',
        '2',
        '--steps',
        '1',
        '--warmup',
        '1',
        '--json',
        str(out),
    )
    text = capsys.readouterr().out
    assert 'msvd_flant5xl_ft.py: tiny random weights' in text
    assert [(r['frames'], r['batch'], r['amp']) for r in results] == [
        (2, 2, False),
        (3, 2, False),
    ]
    for r in results:
        assert r['clips_per_s'] == pytest.approx(2000 / r['step_ms'])
        assert set(r['split_ms']) == {
            'ViT',
            'Q-Former',
            'LLM',
            'backward',
            'optimizer',
        }
        assert all(ms > 0 for ms in r['split_ms'].values())
    rows = [line.split() for line in text.splitlines()]
    assert ['2', '2', 'off'] in [row[:3] for row in rows]
    assert out.exists()


def test_out_of_memory_halves_the_batch(monkeypatch, capsys):
    module = runpy.run_path(SCRIPT)
    tried = []

    def time_setting(model, cfg, args, device, frames, batch, amp):
        tried.append(batch)
        if batch > 16:
            raise torch.OutOfMemoryError('CUDA out of memory')
        return dict(frames=frames, batch=batch, amp=amp)

    fit = module['fit_setting']
    monkeypatch.setitem(fit.__globals__, 'time_setting', time_setting)
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: None)
    args = module['parse_args'](['cfg.py', '--batch', '64'])
    model = torch.nn.Linear(1, 1)
    result = fit(model, None, args, torch.device('cpu'), 8, False)
    assert tried == [64, 32, 16]
    assert result == dict(frames=8, batch=16, amp=False)
    assert '8 frames, batch 64: out of memory' in capsys.readouterr().out
