"""CaptionVisualizer: one picture of a clip's frames and its captions."""

import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmaction.registry import VISUALIZERS
from mmaction.structures import ActionDataSample
from mmaction.visualization import ActionVisualizer

from vidcap_mm.visualization import CaptionVisualizer

# The layout of 32 x 32 frames with the defaults: frames scaled 4x to
# 128 x 128, an 8-pixel margin, 4 pixels between frames, captions below at
# 10 points (13.9 px, 20-pixel lines, 9-pixel characters).
MARGIN, GAP, TILE, LINE = 8, 4, 128, 20
WHITE = (255, 255, 255)


def colour(i):
    return (10 + 24 * i, 230 - 20 * i, 5 + 25 * i)


def clip(num_frames=4):
    """Frame i: a plain colour with a white pixel in its bottom-right
    corner, which shows scale and orientation."""
    video = np.zeros((num_frames, 32, 32, 3), dtype=np.uint8)
    for i in range(num_frames):
        video[i] = colour(i)
        video[i, 31, 31] = WHITE
    return video


def sample(pred='a red circle', refs=('a red circle on black',)):
    data_sample = ActionDataSample()
    if pred is not None:
        data_sample.pred_caption = pred
    if refs is not None:
        data_sample.gt_captions = list(refs)
    return data_sample


def text_rows(picture, grid_rows=1):
    top = MARGIN + grid_rows * TILE + (grid_rows - 1) * GAP + MARGIN
    return picture[top:]


def test_writes_one_png_of_the_expected_size(tmp_path):
    out_file = tmp_path / 'new' / 'folder' / 'clip.png'
    picture = CaptionVisualizer().add_datasample(
        'clip', clip(), sample(), out_file=str(out_file)
    )
    # 4 frames in a row; 3 lines (name, prediction, reference).
    width = 2 * MARGIN + 4 * TILE + 3 * GAP
    height = MARGIN + TILE + MARGIN + 3 * LINE + MARGIN
    assert picture.shape == (height, width, 3) == (212, 540, 3)
    written = mmcv.imread(str(out_file), channel_order='rgb')
    np.testing.assert_array_equal(written, picture)


@pytest.mark.parametrize('num_frames', [4, 10])
def test_frames_are_placed_in_order_at_scale(num_frames):
    # 10 points on a wider picture too (it would get larger text).
    picture = CaptionVisualizer(font_size=10).add_datasample(
        'clip', clip(num_frames), sample()
    )
    columns = min(num_frames, 8)
    rows = -(-num_frames // columns)
    assert (
        picture.shape[1] == 2 * MARGIN + columns * TILE + (columns - 1) * GAP
    )
    assert picture.shape[0] == (
        MARGIN + rows * TILE + (rows - 1) * GAP + MARGIN + 3 * LINE + MARGIN
    )
    for i in range(num_frames):
        row, column = divmod(i, columns)
        x = MARGIN + column * (TILE + GAP)
        y = MARGIN + row * (TILE + GAP)
        tile = picture[y : y + TILE, x : x + TILE]
        # Clear of the frame label in the top-left corner.
        assert (tile[40:124, 40:124] == colour(i)).all(), i
        # The corner pixel became a 4 x 4 block, exactly.
        assert (tile[124:, 124:] == WHITE).all(), i
        assert (tile[123, 124:] == colour(i)).all(), i
        assert (tile[124:, 123] == colour(i)).all(), i
        # White space between frames.
        if column < columns - 1:
            assert (
                picture[y : y + TILE, x + TILE : x + TILE + GAP] == 255
            ).all()


def test_a_tensor_clip_gives_the_same_picture():
    visualizer = CaptionVisualizer()
    frames = clip()
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
    np.testing.assert_array_equal(
        visualizer.add_datasample('clip', tensor, sample()),
        visualizer.add_datasample('clip', frames, sample()),
    )


def ink(region):
    """Pixels that are not white."""
    return (region < 250).any(axis=-1)


def test_captions_are_drawn_in_their_colours():
    picture = CaptionVisualizer().add_datasample('clip', clip(), sample())
    text = text_rows(picture).astype(int)
    name, pred, ref = (text[i * LINE : (i + 1) * LINE] for i in range(3))
    assert ink(name).sum() > 50
    r, g, b = np.moveaxis(pred, -1, 0)
    assert ((b > r + 60) & (b > g + 60)).sum() > 50  # blue prediction
    r, g, b = np.moveaxis(ref, -1, 0)
    assert ((g > r + 40) & (g > b + 40)).sum() > 50  # green reference
    assert not ink(text[3 * LINE :]).any()


def test_long_captions_wrap_inside_the_picture():
    picture = CaptionVisualizer().add_datasample(
        'clip', clip(), sample(pred=' '.join(['word'] * 60), refs=None)
    )
    # 58 characters a line; "Prediction: " then 9 words a line: 7 lines.
    assert picture.shape == (
        MARGIN + TILE + MARGIN + 8 * LINE + MARGIN,
        540,
        3,
    )
    text = ink(text_rows(picture))
    columns = np.flatnonzero(text.any(axis=0))
    assert columns.min() >= MARGIN
    assert columns.max() < picture.shape[1] - MARGIN
    lines = text.reshape(8, LINE, -1).any(axis=(1, 2))
    assert lines.all()


def test_references_are_capped_with_their_count():
    refs = [f'reference {i}' for i in range(20)]
    picture = CaptionVisualizer(max_references=5).add_datasample(
        'clip', clip(), sample(refs=refs)
    )
    # name, prediction, "References (5 of 20):", 5 references.
    assert picture.shape[0] == MARGIN + TILE + MARGIN + 8 * LINE + MARGIN


def test_single_training_caption_and_no_captions():
    data_sample = ActionDataSample()
    data_sample.gt_caption = 'a red circle'
    with_ref = CaptionVisualizer().add_datasample('clip', clip(), data_sample)
    bare = CaptionVisualizer().add_datasample('clip', clip(), None)
    assert with_ref.shape[0] == MARGIN + TILE + MARGIN + 2 * LINE + MARGIN
    assert bare.shape[0] == MARGIN + TILE + MARGIN + 1 * LINE + MARGIN
    hidden = CaptionVisualizer().add_datasample(
        'clip', clip(), sample(), draw_gt=False, draw_pred=False
    )
    np.testing.assert_array_equal(hidden, bare)


def test_dollar_signs_are_plain_text():
    # matplotlib would read "$...$" as math and fail on "x^".
    picture = CaptionVisualizer().add_datasample(
        'clip', clip(), sample(pred=r'a sign reads $x^$ here')
    )
    assert ink(text_rows(picture)[LINE : 2 * LINE]).sum() > 50


def test_without_out_file_the_backends_record_it(tmp_path):
    visualizer = CaptionVisualizer(
        vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path)
    )
    picture = visualizer.add_datasample('clip', clip(), sample(), step=3)
    saved = osp.join(tmp_path, 'vis_data', 'vis_image', 'clip_3.png')
    np.testing.assert_array_equal(
        mmcv.imread(saved, channel_order='rgb'), picture
    )


def test_every_rank_draws_its_own_clips(tmp_path, monkeypatch):
    """Under several processes a rank other than 0 draws its clips and
    writes their pictures (MMEngine's drawing methods do nothing there);
    only rank 0 records in the backends. The file is whole: written under
    another name and renamed."""
    on_rank_0 = CaptionVisualizer().add_datasample('clip', clip(), sample())
    visualizer = CaptionVisualizer(
        vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path)
    )
    monkeypatch.setattr(
        'mmengine.dist.utils.is_main_process', lambda group=None: False
    )
    out_file = tmp_path / 'rank1' / 'clip.png'
    picture = visualizer.add_datasample(
        'clip', clip(), sample(), out_file=str(out_file)
    )
    np.testing.assert_array_equal(picture, on_rank_0)
    np.testing.assert_array_equal(
        mmcv.imread(str(out_file), channel_order='rgb'), picture
    )
    assert sorted(p.name for p in out_file.parent.iterdir()) == ['clip.png']
    visualizer.add_datasample('clip', clip(), sample(), step=3)
    assert not (tmp_path / 'vis_data' / 'vis_image').exists()


def test_large_frames_are_scaled_down():
    video = np.full((2, 480, 640, 3), 90, dtype=np.uint8)
    picture = CaptionVisualizer().add_datasample('clip', video, None)
    # Each 256 high, 341 wide.
    width = 2 * MARGIN + 2 * 341 + GAP
    assert picture.shape[:2] == (MARGIN + 256 + MARGIN + LINE + MARGIN, width)
    assert (picture[MARGIN + 200, MARGIN + 340] == 90).all()
    assert (picture[MARGIN + 200, MARGIN + 341] == 255).all()


@pytest.mark.parametrize(
    'video, error, message',
    [
        (np.zeros((4, 32, 32), np.uint8), ValueError, 'shape (4, 32, 32)'),
        (np.zeros((4, 32, 32, 3), np.float32), TypeError, 'dtype float32'),
        (torch.zeros(4, 3, 32, 32), TypeError, 'dtype float32'),
        (torch.zeros(2, 4, 3, 32, 32, dtype=torch.uint8), ValueError, 'shape'),
        ([np.zeros((32, 32, 3), np.uint8)], TypeError, 'got list'),
    ],
)
def test_bad_clips_are_named(video, error, message):
    with pytest.raises(error, match='clip .video7.') as info:
        CaptionVisualizer().add_datasample('video7', video, None)
    assert message in str(info.value)
    assert 'uint8' in str(info.value)


def test_configs_can_name_it():
    visualizer = VISUALIZERS.build(
        dict(type='CaptionVisualizer', name='test_configs_can_name_it')
    )
    assert isinstance(visualizer, CaptionVisualizer)
    assert isinstance(visualizer, ActionVisualizer)
