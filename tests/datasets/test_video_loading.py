import pickle

import decord
import numpy as np
import pytest
from mmaction.registry import TRANSFORMS
from mmcv.transforms import Compose

from vidcap_mm.datasets import (
    DecordVideoDecode,
    DecordVideoInit,
    EvenlySpacedSample,
    VideoReadError,
)

from .conftest import REAL_CLIP, write_clip


def _load(filename, num_frames=4, resize=None, **init_kwargs):
    pipeline = Compose(
        [
            DecordVideoInit(resize=resize, **init_kwargs),
            EvenlySpacedSample(num_frames),
            DecordVideoDecode(),
        ]
    )
    return pipeline(dict(filename=filename, video_id='vid'))


def test_real_h264_clip():
    results = _load(REAL_CLIP, num_frames=8)
    imgs = results['imgs']
    assert results['total_frames'] == 77
    assert results['avg_fps'] == pytest.approx(25.0)
    np.testing.assert_array_equal(
        results['frame_inds'], [0, 9, 19, 28, 38, 48, 57, 67]
    )
    assert imgs.shape == (8, 272, 640, 3) and imgs.dtype == np.uint8
    assert imgs.flags['C_CONTIGUOUS']
    assert results['img_shape'] == (272, 640)
    # The same frames as decord reading the file directly, in order.
    reference = (
        decord.VideoReader(REAL_CLIP)
        .get_batch([0, 9, 19, 28, 38, 48, 57, 67])
        .asnumpy()
    )
    np.testing.assert_array_equal(imgs, reference)
    # Real footage, not a flat test pattern: frames differ and have detail.
    assert np.abs(imgs[0].astype(int) - imgs[-1]).mean() > 5
    assert imgs.std() > 30


def test_real_clip_resized_at_decode():
    imgs = _load(REAL_CLIP, num_frames=4, resize=(224, 224))['imgs']
    assert imgs.shape == (4, 224, 224, 3)
    # Odd target sizes work too (width 225, height 97).
    imgs = _load(REAL_CLIP, num_frames=2, resize=(225, 97))['imgs']
    assert imgs.shape == (2, 97, 225, 3)


@pytest.mark.parametrize('size', [(66, 50), (100, 36), (34, 90)])
def test_odd_sizes(tmp_path, size):
    path = write_clip(tmp_path / 'odd.mp4', 5, *size)
    assert _load(path, 2)['imgs'].shape == (2, size[1], size[0], 3)
    assert _load(path, 2, resize=(32, 32))['imgs'].shape == (2, 32, 32, 3)


def test_short_video_repeats_frames(tmp_path):
    path = write_clip(tmp_path / 'short.mp4', 3, 64, 64)
    results = _load(path, num_frames=8)
    np.testing.assert_array_equal(
        results['frame_inds'], [0, 0, 0, 1, 1, 1, 2, 2]
    )
    imgs = results['imgs']
    assert imgs.shape == (8, 64, 64, 3)
    # Frame t is filled with 8 * t: repeated indices give repeated frames,
    # distinct ones brighter frames.
    means = imgs.mean(axis=(1, 2, 3))
    np.testing.assert_array_equal(imgs[0], imgs[2])
    np.testing.assert_array_equal(imgs[3], imgs[5])
    np.testing.assert_array_equal(imgs[6], imgs[7])
    assert means[0] < means[3] < means[6]


def _corrupt(tmp_path):
    data = bytearray(open(REAL_CLIP, 'rb').read())
    for i in range(20000, 140000, 97):
        data[i] = (data[i] + 123) % 256
    path = tmp_path / 'corrupt.mp4'
    path.write_bytes(bytes(data))
    return str(path)


def _bad_file(tmp_path, case):
    path = tmp_path / f'{case}.mp4'
    if case == 'zero_byte':
        path.write_bytes(b'')
    elif case == 'not_a_video':
        path.write_text('this is a text file, not a video\n')
    elif case == 'truncated':
        path.write_bytes(open(REAL_CLIP, 'rb').read()[:60000])
    elif case == 'corrupt':
        return _corrupt(tmp_path)
    elif case == 'directory':
        path.mkdir()
    return str(path)


@pytest.mark.parametrize(
    'case, message',
    [
        ('missing', 'video file not found'),
        ('zero_byte', r'video file is empty \(0 bytes\)'),
        ('not_a_video', 'decord cannot open it'),
        ('truncated', 'decord cannot open it'),
        ('directory', 'is a directory'),
        # Opens, but the damaged frames fail to decode (DECORDError, which
        # is not a RuntimeError).
        ('corrupt', r'decord fails on frames \[0, 19, 38, 57\] of 77'),
    ],
)
def test_unreadable_videos(tmp_path, case, message):
    path = _bad_file(tmp_path, case)
    with pytest.raises(VideoReadError, match=message) as info:
        _load(path)
    err = info.value
    assert err.filename == path and err.video_id == 'vid'
    assert str(err).startswith(f'{path} (vid): ')
    assert '\n' not in str(err)  # no C++ trace in the message


def test_too_few_frames(tmp_path):
    path = write_clip(tmp_path / 'short.mp4', 3, 32, 32)
    with pytest.raises(
        VideoReadError, match='has 3 frames, fewer than min_frames=8'
    ):
        _load(path, num_frames=8, min_frames=8)


def test_error_survives_pickling():
    err = VideoReadError('a.mp4', 'video file not found', 'vid_a')
    again = pickle.loads(pickle.dumps(err))
    assert (again.filename, again.reason, again.video_id) == (
        'a.mp4',
        'video file not found',
        'vid_a',
    )
    assert str(again) == str(err)


def test_reader_reuse_and_repr(tmp_path):
    init = TRANSFORMS.build(
        dict(type='DecordVideoInit', resize=(32, 32), cache_size=1)
    )
    first = write_clip(tmp_path / 'a.mp4', 4, 64, 64)
    second = write_clip(tmp_path / 'b.mp4', 4, 64, 64)
    reader = init(dict(filename=first))['video_reader']
    assert init(dict(filename=first))['video_reader'] is reader
    init(dict(filename=second))  # evicts the first (cache_size=1)
    assert init(dict(filename=first))['video_reader'] is not reader
    # A copy (e.g. for a spawned worker) starts without open readers.
    assert pickle.loads(pickle.dumps(init))._readers == {}
    assert repr(init) == (
        'DecordVideoInit(resize=(32, 32), num_threads=1, min_frames=1, '
        'cache_size=1)'
    )
    assert repr(DecordVideoDecode()) == 'DecordVideoDecode()'
    with pytest.raises(ValueError, match='resize'):
        DecordVideoInit(resize=(0, 4))


def test_frame_array_init_is_a_registered_transform(mmaction_scope):
    """Frames in memory open like a file: the same sampling and decoding
    transforms run after FrameArrayInit, built from the registry."""
    frames = np.arange(10 * 6 * 8 * 3, dtype=np.uint8).reshape(10, 6, 8, 3)
    pipeline = Compose(
        [
            dict(type='FrameArrayInit', min_frames=2),
            dict(type='EvenlySpacedSample', num_frames=4),
            dict(type='DecordVideoDecode'),
        ]
    )
    init = pipeline.transforms[0]
    assert type(init) is TRANSFORMS.get('FrameArrayInit')
    assert repr(init) == 'FrameArrayInit(resize=None, min_frames=2)'
    results = pipeline(dict(frame_array=frames, filename='clip7'))
    assert 'frame_array' not in results and results['total_frames'] == 10
    np.testing.assert_array_equal(results['frame_inds'], [0, 2, 5, 7])
    np.testing.assert_array_equal(results['imgs'], frames[[0, 2, 5, 7]])

    resized = TRANSFORMS.build(dict(type='FrameArrayInit', resize=(4, 3)))
    reader = resized(dict(frame_array=frames, filename='x'))['video_reader']
    assert reader.get_batch([1, 1]).asnumpy().shape == (2, 3, 4, 3)

    with pytest.raises(VideoReadError, match='clip7: has 1 frames, fewer'):
        init(dict(frame_array=frames[:1], filename='clip7'))
