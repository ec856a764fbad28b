"""The disk cache of ViT tokens: exact, skipped ViT, misses on every change
of the key, damaged files and concurrent writers."""

import multiprocessing
import os
import os.path as osp
import runpy

import numpy as np
import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.optim import OptimWrapper

from tests.engine.tiny_runs import tiny_run_cfg
from tests.helpers import REPO, build_captioner
from vidcap_mm.datasets.synthetic import generate_synthetic_clips
from vidcap_mm.engine.hooks import FeatureCacheHook
from vidcap_mm.engine.launch import build_runner
from vidcap_mm.models import (
    FeatureCacheError,
    FrameFeatureCache,
    feature_cache,
)
from vidcap_mm.models.feature_cache import ReadCachedTokens

FRAMES = 2


def pipeline(size=32, extra=()):
    return [
        dict(type='DecordVideoInit', resize=(size, size)),
        dict(type='EvenlySpacedSample', num_frames=FRAMES),
        dict(type='DecordVideoDecode'),
        *extra,
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackCaptionInputs'),
    ]


@pytest.fixture
def videos(tmp_path):
    """Four stand-in video files (the cache reads their size and time)."""
    paths = []
    for i in range(4):
        path = tmp_path / f'video{i}.mp4'
        path.write_bytes(bytes([i]) * 10)
        paths.append(str(path))
    return paths


def batches(videos, seed=0):
    """Two batches of two clips with their file names and frames."""
    rng = np.random.default_rng(seed)
    captions = ['a red circle', 'a blue square', 'a green circle', 'a square']
    data = []
    for start in (0, 2):
        inputs, samples = [], []
        for i in range(start, start + 2):
            clip = rng.integers(0, 256, (FRAMES, 3, 32, 32), dtype=np.uint8)
            inputs.append(torch.from_numpy(clip))
            sample = ActionDataSample()
            sample.gt_caption = captions[i]
            sample.set_metainfo(
                dict(filename=videos[i], frame_inds=np.array([0, 5]))
            )
            samples.append(sample)
        data.append(dict(inputs=inputs, data_samples=samples))
    return data


def count_vit_calls(captioner):
    calls = []
    captioner.backbone.vision_model.register_forward_hook(
        lambda module, args, output: calls.append(args)
    )
    return calls


def use_cache(captioner, cache_dir, **kwargs):
    kwargs.setdefault('pipeline', pipeline())
    cache = FrameFeatureCache(str(cache_dir), captioner.backbone, **kwargs)
    captioner.backbone.feature_cache = cache
    return cache


def train_epochs(captioner, data, epochs):
    torch.manual_seed(0)  # the same dropout for both runs
    captioner.train()
    params = [p for p in captioner.parameters() if p.requires_grad]
    wrapper = OptimWrapper(torch.optim.AdamW(params, lr=1e-2))
    return [
        captioner.train_step(batch, wrapper)['loss']
        for _ in range(epochs)
        for batch in data
    ]


def visual_tokens(captioner, batch):
    captioner.eval()
    with torch.no_grad():
        data = captioner.data_preprocessor(batch, False)
        return captioner(**data, mode='tensor')


def test_cached_training_equals_uncached_and_skips_the_vit(tmp_path, videos):
    data = batches(videos)
    plain = build_captioner('opt')
    cached = build_captioner('opt')
    cache = use_cache(cached, tmp_path / 'cache')
    calls = count_vit_calls(cached)
    expected = train_epochs(plain, data, epochs=3)
    losses = train_epochs(cached, data, epochs=3)
    assert all(torch.equal(a, b) for a, b in zip(losses, expected))
    # The ViT ran in the first epoch only (one call per batch).
    assert len(calls) == 2
    assert (cache.computed, cache.hits, cache.unreadable) == (4, 8, 0)
    # The float32 ViT's tokens are stored as it gave them, clip by clip.
    record = torch.load(
        cache.path(cache.key(data[0]['data_samples'][1], (32, 32), None)),
        weights_only=True,
    )
    assert record['tokens'].dtype == torch.float32
    assert record['tokens'].shape == (FRAMES, 17, 32)
    assert record['tokens'].untyped_storage().nbytes() == FRAMES * 17 * 32 * 4

    # Predictions from the cache equal those of the same weights without.
    for batch in data:
        assert torch.equal(
            visual_tokens(cached, batch), visual_tokens(plain, batch)
        )
        captioner_data = cached.data_preprocessor(batch, False)
        with torch.no_grad():
            from_cache = cached(**captioner_data, mode='predict')
            direct = plain(
                **plain.data_preprocessor(batch, False), mode='predict'
            )
        assert [s.pred_caption for s in from_cache] == [
            s.pred_caption for s in direct
        ]
    assert len(calls) == 2


def test_trained_final_norm_runs_after_the_cache(tmp_path, videos):
    # The seed trains ln_vision on a frozen ViT: the cache holds the tokens
    # before it, so cached training still equals uncached while the norm
    # learns, and such a cache is not the one of a backbone without it.
    data = batches(videos)
    parts = dict(backbone=dict(train_final_norm=True))
    plain = build_captioner('opt', **parts)
    cached = build_captioner('opt', **parts)
    cache = use_cache(cached, tmp_path / 'cache')
    calls = []
    cached.backbone.vision_model.encoder.register_forward_hook(
        lambda module, args, output: calls.append(args)
    )
    norm = cached.backbone.vision_model.post_layernorm.weight.clone()
    expected = train_epochs(plain, data, epochs=3)
    losses = train_epochs(cached, data, epochs=3)
    assert all(torch.equal(a, b) for a, b in zip(losses, expected))
    assert len(calls) == 2
    assert (cache.computed, cache.hits) == (4, 8)
    assert not torch.equal(
        cached.backbone.vision_model.post_layernorm.weight, norm
    )
    for batch in data:
        assert torch.equal(
            visual_tokens(cached, batch), visual_tokens(plain, batch)
        )
    other = FrameFeatureCache(
        str(tmp_path / 'cache'), build_captioner('opt').backbone, pipeline()
    )
    assert other.folder != cache.folder


def test_half_precision_vit_stores_half_tokens(tmp_path, videos):
    captioner = build_captioner('opt', backbone=dict(dtype='float16'))
    cache = use_cache(captioner, tmp_path)
    batch = batches(videos)[0]
    first = visual_tokens(captioner, batch)
    again = visual_tokens(captioner, batch)
    assert torch.equal(first, again)
    assert cache.hits == 2
    key = cache.key(batch['data_samples'][0], (32, 32), None)
    tokens = torch.load(cache.path(key), weights_only=True)['tokens']
    assert tokens.dtype == torch.float16


def test_every_part_of_the_key_misses(tmp_path, videos):
    captioner = build_captioner('opt')
    calls = count_vit_calls(captioner)
    batch = batches(videos)[0]

    def encode(**kwargs):
        cache = use_cache(captioner, tmp_path, **kwargs)
        visual_tokens(captioner, batch)
        return cache.hits, cache.computed

    assert encode() == (0, 2)
    assert encode() == (2, 0)
    # Another resize of the frames.
    assert encode(pipeline=pipeline(size=64)) == (0, 2)
    # Other frame indices.
    batch['data_samples'][0].set_metainfo(dict(frame_inds=np.array([0, 6])))
    assert encode() == (1, 1)
    # The video file replaced.
    with open(videos[1], 'ab') as f:
        f.write(b'more')
    assert encode() == (1, 1)
    assert encode() == (2, 0)
    # Other ViT weights (one value changed).
    with torch.no_grad():
        captioner.backbone.vision_model.post_layernorm.bias[0] += 1e-3
    assert encode() == (0, 2)
    # A sample without frame indices is encoded, never stored.
    del batch['data_samples'][1].frame_inds
    cache = use_cache(captioner, tmp_path)
    visual_tokens(captioner, batch)
    assert (cache.hits, cache.computed, cache.uncacheable) == (1, 0, 1)
    assert len(calls) == 6  # once per call with a miss


def test_random_pipeline_is_refused_unless_forced(tmp_path):
    captioner = build_captioner('opt')
    flip = [dict(type='Flip', flip_ratio=0.5)]
    with pytest.raises(FeatureCacheError, match=r'transform 3 \(Flip\)'):
        use_cache(captioner, tmp_path, pipeline=pipeline(extra=flip))
    crop = [dict(type='RandomResizedCrop', area_range=(0.5, 1.0))]
    with pytest.raises(FeatureCacheError, match='RandomResizedCrop'):
        use_cache(captioner, tmp_path, pipeline=pipeline(extra=crop))
    use_cache(captioner, tmp_path, pipeline=pipeline(extra=flip), force=True)


def test_unprintable_transform_and_trained_vit_are_refused(tmp_path):
    class Opaque:
        def __call__(self, results):
            return results

    captioner = build_captioner('opt')
    with pytest.raises(FeatureCacheError, match=r'transform 0 \(Opaque\)'):
        use_cache(captioner, tmp_path, pipeline=[Opaque()])
    trained = build_captioner('opt', backbone=dict(frozen=False))
    with pytest.raises(FeatureCacheError, match='the ViT trains'):
        use_cache(trained, tmp_path)


def test_damaged_files_are_recomputed_and_counted(
    tmp_path, videos, monkeypatch
):
    captioner = build_captioner('opt')
    batch = batches(videos)[0]
    cache = use_cache(captioner, tmp_path)
    expected = visual_tokens(captioner, batch)
    keys = [cache.key(s, (32, 32), None) for s in batch['data_samples']]
    paths = [cache.path(k) for k in keys]
    # A file of another clip under this clip's name, and a file cut short.
    with open(paths[0], 'rb') as f:
        first = f.read()
    with open(paths[1], 'wb') as f:
        f.write(first)
    with open(paths[0], 'r+b') as f:
        f.truncate(100)
    warnings = []
    monkeypatch.setattr(
        feature_cache, 'print_log', lambda msg, **kw: warnings.append(msg)
    )
    cache = use_cache(captioner, tmp_path)
    assert torch.equal(visual_tokens(captioner, batch), expected)
    assert (cache.hits, cache.computed, cache.unreadable) == (0, 2, 2)
    assert f'{paths[0]} is unreadable (RuntimeError' in warnings[0]
    assert f'{paths[1]} is unreadable (it holds another key)' in warnings[1]
    cache = use_cache(captioner, tmp_path)
    assert torch.equal(visual_tokens(captioner, batch), expected)
    assert (cache.hits, cache.unreadable) == (2, 0)


def test_concurrent_writers_of_one_key_leave_whole_files(tmp_path, videos):
    cache = use_cache(build_captioner('opt'), tmp_path)
    key = cache.key(batches(videos)[0]['data_samples'][0], (32, 32), None)
    shape = (FRAMES, 17, 32)

    def write_repeatedly(value):
        for _ in range(200):
            cache.store(key, torch.full(shape, value))

    # Forked writers share this cache object (no pickling needed).
    context = multiprocessing.get_context('fork')
    writers = [
        context.Process(target=write_repeatedly, args=(value,))
        for value in (1.0, 2.0)
    ]
    for writer in writers:
        writer.start()
    seen = set()
    while any(w.is_alive() for w in writers):
        tokens = cache.load(key, shape)
        if tokens is not None:
            # Each read is one writer's whole tensor, never a mix.
            assert tokens.unique().numel() == 1
            seen.add(tokens[0, 0, 0].item())
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert cache.unreadable == 0
    assert seen and seen <= {1.0, 2.0}
    # No temporary file is left behind.
    assert sorted(os.listdir(cache.folder)) == sorted(
        ['fingerprint.json', osp.basename(cache.path(key))]
    )


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp('cache_clips')
    generate_synthetic_clips(
        str(root), num_train=4, num_val=4, num_test=4, num_frames=8, size=32
    )
    return str(root)


def run_cfg(work_dir, clips, cache_dir=None, **hook):
    # The demo trains its ViT; a cache serves a frozen one.
    cfg = tiny_run_cfg(
        work_dir,
        clips,
        model=dict(backbone=dict(frozen=True)),
        train_cfg=dict(max_epochs=1, val_interval=1),
    )
    if cache_dir is not None:
        hook = dict(type='FeatureCacheHook', cache_dir=str(cache_dir), **hook)
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [hook]
    return cfg


def test_hook_serves_validation_from_the_cache(tmp_path, clips):
    cache_dir = tmp_path / 'cache'
    plain = build_runner(run_cfg(tmp_path / 'plain', clips))
    plain.train()
    cached = build_runner(
        run_cfg(tmp_path / 'cached', clips, cache_dir, loops=('val',))
    )
    cached.train()
    hook = next(
        h for h in cached.hooks if type(h).__name__ == 'FeatureCacheHook'
    )
    assert set(hook._caches) == {'val'}
    assert hook._caches['val'].computed == 4
    # Training ran the ViT itself; after validation no cache is left set.
    assert cached.model.backbone.feature_cache is None

    calls = count_vit_calls(cached.model)
    metrics = cached.val_loop.run()
    assert calls == []
    assert (hook._caches['val'].hits, hook._caches['val'].computed) == (4, 0)
    assert metrics == plain.val_loop.run()


def test_hook_refuses_a_random_training_pipeline(tmp_path, clips):
    cfg = run_cfg(tmp_path / 'run', clips, tmp_path / 'cache')
    cfg.train_dataloader.dataset.pipeline.insert(
        -2, dict(type='Flip', flip_ratio=0.5)
    )
    runner = build_runner(cfg)
    with pytest.raises(FeatureCacheError, match=r'train loop.*\(Flip\)'):
        runner.train()


def test_train_step_benchmark_times_the_cache(tmp_path, capsys):
    script = osp.join(
        REPO, 'tools', 'analysis_tools', 'benchmark_train_step.py'
    )
    main = runpy.run_path(script)['main']
    results = main(
        [
            osp.join(REPO, 'configs', 'msvd_flant5xl_ft.py'),
            '--tiny',
            '--frames',
            '2',
            '--batch',
            '2',
            '--steps',
            '2',
            '--warmup',
            '1',
            '--feature-cache',
            str(tmp_path),
        ]
    )
    row = results[-1]
    assert (row['frames'], row['batch'], row['amp']) == (2, 2, False)
    assert row['speed_up'] == row['uncached_ms'] / row['later_epoch_ms']
    assert all(row[k] > 0 for k in ('first_epoch_ms', 'later_epoch_ms'))
    assert 'feature cache under' in capsys.readouterr().out
    assert os.listdir(tmp_path) == []  # its temporary folder is removed


def test_loader_workers_read_the_tokens(tmp_path, clips, monkeypatch):
    """The served loop's workers read the cached tokens (the hook appends
    ReadCachedTokens to its pipeline); the training process reads none."""
    cfg = run_cfg(tmp_path / 'run', clips, tmp_path / 'cache', loops=('val',))
    cfg.val_dataloader.update(num_workers=1, persistent_workers=False)
    runner = build_runner(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, FeatureCacheHook))
    cache = hook._caches['val']
    assert (cache.hits, cache.computed) == (0, 4)
    steps = runner.val_dataloader.dataset.pipeline.transforms
    assert isinstance(steps[-1], ReadCachedTokens)
    assert sum(isinstance(t, ReadCachedTokens) for t in steps) == 1

    def read_here(*args):
        raise AssertionError('a token file was read in the training process')

    monkeypatch.setattr(cache, 'load', read_here)
    calls = count_vit_calls(runner.model)
    runner.val_loop.run()
    assert calls == []
    assert (cache.hits, cache.prefetched, cache.computed) == (4, 4, 0)


def test_tokens_read_under_another_key_are_dropped(tmp_path, videos):
    """A worker's tokens count only under the model's own key for the
    clip; they leave the data sample either way."""
    captioner = build_captioner('opt')
    cache = use_cache(captioner, tmp_path)
    batch = batches(videos)[0]
    expected = visual_tokens(captioner, batch)  # computed and stored
    sample = batch['data_samples'][0]
    key = cache.key(sample, (32, 32), None)
    sample.set_field(torch.zeros(FRAMES, 17, 32), ReadCachedTokens.FIELD)
    sample.set_field(key + 'x', ReadCachedTokens.KEY, field_type='metainfo')
    cache.reset_counts()
    captioner.eval()
    data = captioner.data_preprocessor(batch, False)
    with torch.no_grad():
        assert torch.equal(captioner(**data, mode='tensor'), expected)
    assert (cache.hits, cache.prefetched) == (2, 0)  # both read from disk
    seen = data['data_samples'][0]  # what the model outputs
    assert ReadCachedTokens.FIELD not in seen
    assert ReadCachedTokens.KEY not in seen
