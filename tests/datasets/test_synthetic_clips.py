import json
import os
import os.path as osp
import runpy
import sys

import cv2
import decord
import numpy as np
import pytest
from mmengine.config import Config

from vidcap_mm.datasets.synthetic import (
    BACKGROUND_COLORS,
    SHAPE_COLORS,
    SHAPES,
    SYNTHETIC_VOCABULARY,
    ClipContent,
    generate_synthetic_clips,
    make_captions,
    parse_caption,
)
from vidcap_mm.models.stand_ins import TINY_CONFIGS

GEN_ARGS = dict(
    num_train=6,
    num_val=4,
    num_test=4,
    num_frames=8,
    size=64,
    seed=3,
    two_shape_ratio=0.5,
)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    return generate_synthetic_clips(
        str(tmp_path_factory.mktemp('synth')), **GEN_ARGS
    )


def _load(path):
    with open(path) as f:
        return json.load(f)


def _nearest(pixels, palette):
    """Index into ``list(palette)`` of the nearest colour of each pixel."""
    refs = np.array(list(palette.values()), dtype=np.float32)
    dist = np.linalg.norm(
        pixels[:, None, :].astype(np.float32) - refs[None], axis=-1
    )
    return dist.argmin(1)


def _parse_caption(caption):
    """(set of (color, shape), background) of a canonical caption."""
    words = caption.split()
    objects = {
        (w, words[i + 1]) for i, w in enumerate(words) if w in SHAPE_COLORS
    }
    background = words[words.index('background') - 1]
    return objects, background


def _read_objects(frame):
    """What a decoded RGB frame shows: {(colour, shape)} and background."""
    corners = np.stack(
        [frame[0, 0], frame[0, -1], frame[-1, 0], frame[-1, -1]]
    )
    bg_names = list(BACKGROUND_COLORS)
    background = bg_names[
        _nearest(np.median(corners, 0)[None], BACKGROUND_COLORS)[0]
    ]
    # Label each pixel with its nearest colour among the shape colours and
    # this background, then read each colour's largest blob: codec blur
    # leaves thin rims of mixed colours around shapes, never large blobs.
    palette = dict(SHAPE_COLORS, background=BACKGROUND_COLORS[background])
    labels = _nearest(frame.reshape(-1, 3), palette).reshape(frame.shape[:2])
    objects = set()
    for idx, color in enumerate(SHAPE_COLORS):
        mask = (labels == idx).astype(np.uint8)
        num, _, stats, _ = cv2.connectedComponentsWithStats(
            mask, connectivity=4
        )
        if num < 2:
            continue
        _, _, width, height, area = stats[
            1 + stats[1:, cv2.CC_STAT_AREA].argmax()
        ]
        if area < 20:
            continue
        # Bounding-box fill: square 1, circle pi / 4, triangle 1 / 2.
        fill = area / (width * height)
        shape = (
            'square'
            if fill > 0.88
            else ('circle' if fill > 0.65 else 'triangle')
        )
        objects.add((color, shape))
    return objects, background


def test_vocabulary():
    assert isinstance(SYNTHETIC_VOCABULARY, tuple)
    assert list(SYNTHETIC_VOCABULARY) == sorted(set(SYNTHETIC_VOCABULARY))
    for word in (*SHAPE_COLORS, *BACKGROUND_COLORS, *SHAPES):
        assert word in SYNTHETIC_VOCABULARY
    assert len(SYNTHETIC_VOCABULARY) < 30


def test_make_captions():
    one = make_captions(ClipContent((('red', 'circle'),), 'gray'), 4)
    assert one[0] == 'a red circle on a gray background'
    assert len(set(one)) == 4
    two = make_captions(
        ClipContent((('blue', 'square'), ('red', 'circle')), 'white'), 2
    )
    assert two == [
        'a blue square and a red circle on a white background',
        'there are a blue square and a red circle on white',
    ]
    with pytest.raises(ValueError, match='num_references'):
        make_captions(ClipContent((('red', 'circle'),), 'gray'), 5)


def test_parse_caption_reads_back_every_caption():
    singles = [
        ClipContent(((color, shape),), background)
        for color in SHAPE_COLORS
        for shape in SHAPES
        for background in BACKGROUND_COLORS
    ]
    pair = ClipContent((('blue', 'square'), ('red', 'circle')), 'white')
    for content in singles + [pair]:
        for caption in make_captions(content, 4):
            assert parse_caption(caption) == content, caption


@pytest.mark.parametrize(
    'caption, expected',
    [
        # Shapes in either order give the grammar's (sorted) order.
        (
            'there are a red circle and a blue square on white',
            ((('blue', 'square'), ('red', 'circle')), 'white'),
        ),
        (
            ' A Red circle and a blue  square over a white background. ',
            ((('blue', 'square'), ('red', 'circle')), 'white'),
        ),
        (
            'a gray background with a green triangle',
            ((('green', 'triangle'),), 'gray'),
        ),
        # Not sentences of the grammar.
        ('there is a red circle and a blue square on white', None),
        ('there are a red circle on white', None),
        ('a red circle and a red square on a white background', None),
        (
            'a red circle and a blue square and a green triangle on a black '
            'background',
            None,
        ),
        ('a red circle on a black', None),
        ('a red circle on a purple background', None),
        ('a pink circle on a black background', None),
        ('a red star on a black background', None),
        ('a red circle on a black background..', None),
        ('', None),
    ],
)
def test_parse_caption(caption, expected):
    if expected is not None:
        expected = ClipContent(*expected)
    assert parse_caption(caption) == expected


def test_layout_and_decoding(clips):
    train, val, test = (_load(clips[s]) for s in ('train', 'val', 'test'))
    # train: one record per caption; val / test: one per video.
    assert len(train) == GEN_ARGS['num_train'] * 3
    assert all(isinstance(r['caption'], str) for r in train)
    assert len({r['image_id'] for r in train}) == GEN_ARGS['num_train']
    for records in (val, test):
        assert len(records) == 4
        assert all(len(r['caption']) == 3 for r in records)
    num_two = sum(' and ' in r['caption'][0] for r in val + test)
    assert 0 < num_two < 8
    for record in train + val + test:
        captions = record['caption']
        for caption in [captions] if isinstance(captions, str) else captions:
            assert set(caption.split()) <= set(SYNTHETIC_VOCABULARY)
        assert record['video'] == record['image_id'] + '.mp4'

    reader = decord.VideoReader(osp.join(clips['video_dir'], val[0]['video']))
    assert len(reader) == GEN_ARGS['num_frames']
    frames = reader.get_batch(list(range(len(reader)))).asnumpy()
    assert frames.shape == (8, 64, 64, 3)


def test_captions_describe_pixels(clips):
    """Every frame shows exactly the colours, shapes and background named."""
    for split in ('val', 'test'):
        for record in _load(clips[split]):
            objects, background = _parse_caption(record['caption'][0])
            reader = decord.VideoReader(
                osp.join(clips['video_dir'], record['video'])
            )
            frames = reader.get_batch(list(range(len(reader)))).asnumpy()
            for t, frame in enumerate(frames):
                assert _read_objects(frame) == (objects, background), (
                    record['video'],
                    t,
                    record['caption'][0],
                )


def test_deterministic_and_idempotent(tmp_path, clips):
    again = generate_synthetic_clips(str(tmp_path / 'a'), **GEN_ARGS)
    for split in ('train', 'val', 'test'):
        assert _load(again[split]) == _load(clips[split])
    name = _load(clips['val'])[0]['video']
    frames = [
        decord.VideoReader(osp.join(p['video_dir'], name))
        .get_batch(list(range(8)))
        .asnumpy()
        for p in (clips, again)
    ]
    np.testing.assert_array_equal(frames[0], frames[1])

    # Same arguments: nothing is rewritten.
    video = osp.join(again['video_dir'], name)
    stamps = [os.stat(p).st_mtime_ns for p in (video, again['train'])]
    assert generate_synthetic_clips(str(tmp_path / 'a'), **GEN_ARGS) == again
    assert [os.stat(p).st_mtime_ns for p in (video, again['train'])] == stamps

    # Other arguments (or an incomplete set): regenerated.
    other = generate_synthetic_clips(
        str(tmp_path / 'a'), **dict(GEN_ARGS, seed=4)
    )
    assert _load(other['train']) != _load(clips['train'])
    os.remove(video)
    generate_synthetic_clips(str(tmp_path / 'a'), **dict(GEN_ARGS, seed=4))
    assert osp.isfile(video)


@pytest.mark.parametrize(
    'kwargs, error, message',
    [
        (dict(size=63), ValueError, 'size must be even'),
        (dict(size=24), ValueError, 'size must be even'),
        (dict(num_frames=0), ValueError, 'num_frames'),
        (dict(num_references=5), ValueError, 'num_references'),
        (dict(two_shape_ratio=1.5), ValueError, 'two_shape_ratio'),
        # decord 0.6.0 returns 4-channel frames for 48 x 48 mp4v files.
        (dict(size=48), RuntimeError, 'decord reads'),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, message):
    args = dict(num_train=1, num_val=1, num_test=1, num_frames=2)
    with pytest.raises(error, match=message):
        generate_synthetic_clips(str(tmp_path), **dict(args, **kwargs))


def test_cli(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'cli'
    monkeypatch.setattr(
        sys,
        'argv',
        [
            'make_synthetic_clips.py',
            str(out),
            '--num-train',
            '2',
            '--num-val',
            '1',
            '--num-test',
            '1',
            '--num-frames',
            '4',
            '--size',
            '32',
        ],
    )
    runpy.run_path(
        osp.join(REPO_ROOT, 'tools', 'data', 'make_synthetic_clips.py'),
        run_name='__main__',
    )
    assert f'train: {out}' in capsys.readouterr().out
    assert len(os.listdir(out / 'videos')) == 4


def test_tiny_model_configs_list_the_synthetic_words():
    """The offline tokenizers' words come from the config; for the demo's
    clips they must be the grammar's words, in its order (token ids)."""
    for name in TINY_CONFIGS.values():
        cfg = Config.fromfile(
            osp.join(REPO_ROOT, 'configs', '_base_', 'models', name)
        )
        assert tuple(cfg.model.tokenizer.words) == SYNTHETIC_VOCABULARY
        if 'qformer_tokenizer' in cfg.model:
            assert tuple(cfg.model.qformer_tokenizer.words) == (
                SYNTHETIC_VOCABULARY
            )
