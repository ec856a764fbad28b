"""init_captioner / caption_videos: the captions tools/test.py gives, on a
real clip and generated awkward ones, from files, folders and frames."""

import os.path as osp

import cv2
import decord
import numpy as np
import pytest
import torch

from tests.apis.tiny_captioner import (
    CFG_OPTIONS,
    CONFIG,
    SPACED_FOLDER,
    tools_test_predictions,
    write_checkpoint,
    write_videos,
)
from tests.engine.tiny_runs import tiny_run_cfg
from vidcap_mm.apis import (
    caption_videos,
    collect_videos,
    init_captioner,
    iter_captions,
)
from vidcap_mm.apis.caption_loader import (
    frames_sampled,
    sampled_frames_pipeline,
)
from vidcap_mm.datasets import VideoReadError
from vidcap_mm.engine.launch import build_runner
from vidcap_mm.models import CheckpointMismatchError


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('apis')
    paths = write_videos(root)
    checkpoint = write_checkpoint(root / 'trained.pth')
    work_dir = root / 'work'
    work_dir.mkdir()
    reference = tools_test_predictions(work_dir, paths, checkpoint)
    model = init_captioner(
        CONFIG, checkpoint, device='cpu', cfg_options=CFG_OPTIONS
    )
    return root, paths, checkpoint, reference, model


@pytest.fixture(scope='module')
def captioned(setup):
    """The videos captioned in batches of 3 (then 1), by name."""
    _, paths, _, _, model = setup
    results = caption_videos(model, list(paths.values()), batch_size=3)
    return {r.name: r for r in results}


def test_captions_equal_tools_test(setup, captioned):
    _, paths, _, reference, _ = setup
    assert list(captioned) == list(paths)
    expected = {name: s['pred_caption'] for name, s in reference.items()}
    assert {n: r.caption for n, r in captioned.items()} == expected
    # The checkpoint's model tells the clips apart (else equal captions
    # would prove little).
    assert len(set(expected.values())) >= 3, expected
    for name, result in captioned.items():
        assert result.path == paths[name]
        assert result.error is None
        assert result.data_sample.pred_caption == result.caption
        assert result.data_sample.video_id == name
        np.testing.assert_array_equal(
            result.data_sample.frame_inds, reference[name]['frame_inds']
        )
        assert result.frames.dtype == torch.uint8
        assert tuple(result.frames.shape) == (4, 3, 32, 32)


def test_sampling_is_the_test_pipelines(captioned):
    # EvenlySpacedSample: floor(i * n / 4); the 2-frame clip repeats frames.
    expected = {
        'bikes_h264': [0, 19, 38, 57],
        'short': [0, 0, 1, 1],
        'portrait': [0, 2, 4, 6],
        'vidéo ñ 動画 clip': [0, 5, 10, 15],
    }
    got = {n: r.data_sample.frame_inds.tolist() for n, r in captioned.items()}
    assert got == expected
    # Decoded at the model's 32 x 32 whatever the stored size.
    short = captioned['short'].frames
    assert torch.equal(short[0], short[1]) and torch.equal(short[2], short[3])
    assert not torch.equal(short[1], short[2])


def test_folder_with_an_unreadable_file(setup, captioned, tmp_path):
    _, paths, _, _, model = setup
    folder = tmp_path / 'my videos'
    (folder / 'sub dir').mkdir(parents=True)
    with open(paths['portrait'], 'rb') as src:
        data = src.read()
    (folder / 'b_portrait.mp4').write_bytes(data)
    (folder / 'sub dir' / 'a_portrait.MP4').write_bytes(data)
    (folder / 'a_truncated.mp4').write_bytes(data[: len(data) // 3])
    (folder / 'notes.txt').write_text('not a video')
    (folder / '.hidden.mp4').write_bytes(b'')

    with pytest.raises(VideoReadError, match='a_truncated.mp4'):
        caption_videos(model, str(folder))

    results = caption_videos(model, folder, batch_size=2, skip_unreadable=True)
    assert [r.name for r in results] == [
        'a_truncated',
        'b_portrait',
        'sub dir/a_portrait',
    ]
    bad, *good = results
    assert bad.path == str(folder / 'a_truncated.mp4')
    assert bad.caption is None and bad.data_sample is None
    assert bad.error.startswith('decord cannot open it')
    portrait = captioned['portrait'].caption
    assert [r.caption for r in good] == [portrait, portrait]
    assert [r.error for r in good] == [None, None]


def test_frame_arrays(setup, captioned):
    _, paths, _, _, model = setup
    path = paths['portrait']
    at_model_size = decord.VideoReader(path, width=32, height=32)
    stored_size = decord.VideoReader(path)
    small = at_model_size.get_batch(range(9)).asnumpy()
    full = stored_size.get_batch(range(9)).asnumpy()
    assert full.shape == (9, 96, 40, 3)

    results = caption_videos(model, {'small': small, 'full': full})
    assert [r.name for r in results] == ['small', 'full']
    small_result, full_result = results
    # Frames at the model's size: exactly what the file gives.
    file_result = captioned['portrait']
    assert small_result.caption == file_result.caption
    assert torch.equal(small_result.frames, file_result.frames)
    # Frames of another size: the same sampling, scaled (bicubic).
    assert full_result.data_sample.frame_inds.tolist() == [0, 2, 4, 6]
    scaled = [
        cv2.resize(full[i], (32, 32), interpolation=cv2.INTER_CUBIC)
        for i in (0, 2, 4, 6)
    ]
    np.testing.assert_array_equal(
        full_result.frames.permute(0, 2, 3, 1).numpy(), np.stack(scaled)
    )
    assert full_result.path is None

    # A bare array, and arrays in a list, are named by position.
    assert [v.name for v in collect_videos(small)] == ['array_0']
    assert [v.name for v in collect_videos([small, path, small])] == [
        'array_0',
        'portrait',
        'array_2',
    ]


@pytest.mark.parametrize(
    'frames, error, match',
    [
        (np.zeros((4, 8, 8, 3), np.float32), TypeError, 'dtype float32'),
        (np.zeros((8, 8, 3), np.uint8), ValueError, r'shape \(8, 8, 3\)'),
        (np.zeros((0, 8, 8, 3), np.uint8), ValueError, 'T >= 1'),
        (np.zeros((2, 8, 8, 4), np.uint8), ValueError, 'expected'),
    ],
)
def test_bad_frame_arrays_are_named(frames, error, match):
    with pytest.raises(error, match=match) as info:
        collect_videos({'clip7': frames})
    assert "'clip7'" in str(info.value)


def test_missing_and_empty_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match='no such video') as info:
        collect_videos(str(tmp_path / 'nope.mp4'))
    assert str(tmp_path / 'nope.mp4') in str(info.value)
    (tmp_path / 'readme.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match='no video file') as info:
        collect_videos(tmp_path)
    assert '1 other files' in str(info.value)
    with pytest.raises(TypeError, match='got int'):
        collect_videos(3)


def test_one_at_a_time_as_it_goes(setup, captioned):
    _, paths, _, _, model = setup
    stream = iter_captions(model, [paths['short'], paths['bikes_h264']])
    first = next(stream)
    assert first.name == 'short'
    assert first.caption == captioned['short'].caption
    # Batches of one give what batches of three gave.
    assert [(r.name, r.caption) for r in stream] == [
        ('bikes_h264', captioned['bikes_h264'].caption)
    ]


def test_model_without_checkpoint_is_tools_tests(tmp_path):
    # The config's seed, set as the Runner sets it: a random-weights
    # config gives tools/test.py's model.
    cfg = tiny_run_cfg(tmp_path, str(tmp_path))
    runner_state = build_runner(cfg).model.state_dict()
    model = init_captioner(cfg, device='cpu')
    state = model.state_dict()
    assert state.keys() == runner_state.keys()
    for key, value in state.items():
        assert torch.equal(value, runner_state[key]), key
    assert model.cfg is not cfg and not model.training


def test_checkpoint_loads_strictly(setup, tmp_path):
    _, _, checkpoint, _, _ = setup
    model = init_captioner(
        CONFIG, checkpoint, device='cpu', cfg_options=CFG_OPTIONS
    )
    saved = torch.load(checkpoint, map_location='cpu')['state_dict']
    state = model.state_dict()
    for key, value in saved.items():
        assert torch.equal(state[key], value), key

    # A key the model lacks: the TrainableWeightsHook refuses it, where
    # MMEngine's plain loading would only warn.
    broken = torch.load(checkpoint, map_location='cpu')
    broken['state_dict']['neck.extra.weight'] = torch.zeros(1)
    broken_path = str(tmp_path / 'broken.pth')
    torch.save(broken, broken_path)
    with pytest.raises(CheckpointMismatchError) as info:
        init_captioner(
            CONFIG, broken_path, device='cpu', cfg_options=CFG_OPTIONS
        )
    message = str(info.value)
    assert broken_path in message and 'neck.extra.weight' in message
    assert osp.basename(CONFIG) in message


def test_space_and_non_ascii_path(setup, captioned):
    _, paths, _, _, _ = setup
    path = paths['vidéo ñ 動画 clip']
    assert SPACED_FOLDER in path
    assert captioned['vidéo ñ 動画 clip'].path == path


def test_runs_the_test_dataloaders_pipeline(setup):
    # tools/test.py runs test_dataloader.dataset.pipeline, whatever the
    # top-level test_pipeline variable says.
    _, paths, checkpoint, _, _ = setup
    options = {
        **CFG_OPTIONS,
        'test_dataloader.dataset.pipeline.1.num_frames': 2,
    }
    model = init_captioner(CONFIG, checkpoint, 'cpu', options)
    assert model.cfg.test_pipeline[1]['num_frames'] == 4
    (result,) = caption_videos(model, paths['portrait'])
    assert result.data_sample.frame_inds.tolist() == [0, 4]


def test_per_call_frames_and_generation_are_configs(setup, captioned):
    """num_frames and generation_cfg of one call give what a config with
    those settings gives, and leave the model as it was."""
    _, paths, checkpoint, _, model = setup
    settings = dict(num_beams=1, max_new_tokens=2)
    kept = dict(model.head.generation_cfg)
    videos = [paths['bikes_h264'], paths['portrait']]
    results = list(
        iter_captions(model, videos, num_frames=2, generation_cfg=settings)
    )
    options = dict(CFG_OPTIONS)
    options['test_dataloader.dataset.pipeline.1.num_frames'] = 2
    options.update(
        {f'model.head.generation_cfg.{k}': v for k, v in settings.items()}
    )
    configured = init_captioner(
        CONFIG, checkpoint, device='cpu', cfg_options=options
    )
    expected = caption_videos(configured, videos)
    assert [r.caption for r in results] == [r.caption for r in expected]
    assert [r.data_sample.frame_inds.tolist() for r in results] == [
        [0, 38],
        [0, 4],
    ]
    assert all(r.frames.shape[0] == 2 for r in results)
    # At most 2 new tokens: 2 words where the default wrote more.
    assert all(len(r.caption.split()) <= 2 for r in results)
    assert any(len(captioned[n].caption.split()) > 2 for n in captioned)
    assert model.head.generation_cfg == kept
    # The model's own settings again on the next call.
    again = caption_videos(model, [paths['bikes_h264']])
    assert again[0].caption == captioned['bikes_h264'].caption


def test_generation_settings_are_put_back_after_an_error(setup):
    _, paths, _, _, model = setup
    kept = dict(model.head.generation_cfg)
    wrong = dict(num_beams=2, num_return_sequences=3)
    with pytest.raises(ValueError, match='num_return_sequences'):
        list(iter_captions(model, [paths['short']], generation_cfg=wrong))
    assert model.head.generation_cfg == kept


def test_frame_count_of_each_sampler():
    pipeline = [
        dict(type='DecordVideoInit'),
        dict(type='UniformSample', clip_len=8, test_mode=True),
        dict(type='PackCaptionInputs'),
    ]
    assert frames_sampled(pipeline) == 8
    changed = sampled_frames_pipeline(pipeline, 3)
    assert changed[1] == dict(type='UniformSample', clip_len=3, test_mode=True)
    assert pipeline[1]['clip_len'] == 8  # not modified
    even = [dict(type='EvenlySpacedSample', num_frames=4)]
    assert sampled_frames_pipeline(even, 16) == [
        dict(type='EvenlySpacedSample', num_frames=16)
    ]
    with pytest.raises(ValueError, match='whole number >= 1, got 0'):
        sampled_frames_pipeline(even, 0)
    with pytest.raises(ValueError, match='frame sampler'):
        frames_sampled([dict(type='DecordVideoInit')])
