"""CaptionVisualizationHook and ``tools/test.py --show-dir``: one picture per
clip, of the frames the model saw."""

import json
import os
import os.path as osp
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.visualization import Visualizer

from tests.tools.tool_runs import CONFIG, data_options, run_tool
from vidcap_mm.datasets.synthetic import generate_synthetic_clips
from vidcap_mm.engine.hooks import CaptionVisualizationHook
from vidcap_mm.visualization import CaptionVisualizer

# Where frame i of a 4-frame, 32 x 32 clip is drawn (see
# tests/visualization/test_caption_visualizer.py): scaled 4x, from (8, 8).
MARGIN, GAP, TILE = 8, 4, 128


def tile(picture, i):
    x = MARGIN + i * (TILE + GAP)
    return picture[MARGIN : MARGIN + TILE, x : x + TILE]


def batch(first, size):
    """Clips ``first ... first + size - 1``: clip k is all value 10 * k."""
    inputs, samples = [], []
    for k in range(first, first + size):
        inputs.append(torch.full((4, 3, 32, 32), 10 * k, dtype=torch.uint8))
        data_sample = ActionDataSample()
        data_sample.pred_caption = f'caption {k}'
        data_sample.gt_captions = [f'reference {k}']
        data_sample.set_metainfo(
            dict(video_id=f'v{k}', filename=f'/videos/clip {k}.mp4')
        )
        samples.append(data_sample)
    return dict(inputs=inputs, data_samples=samples), samples


def runner(visualizer=None, iteration=0):
    return SimpleNamespace(
        visualizer=visualizer or CaptionVisualizer(), iter=iteration
    )


def test_one_picture_per_clip_named_after_it(tmp_path):
    hook = CaptionVisualizationHook(enable=True, out_dir=str(tmp_path))
    data_batch, outputs = batch(0, 3)
    outputs[1].set_metainfo(dict(video_id='clips/v:1'))  # not a file name
    del outputs[2].video_id  # named after its file
    fake = runner()
    hook.before_test_epoch(fake)
    hook.after_test_iter(fake, 0, data_batch, outputs)
    assert sorted(os.listdir(tmp_path)) == [
        'clip 2.png',
        'clips_v_1.png',
        'v0.png',
    ]
    for k, name in enumerate(['v0', 'clips_v_1', 'clip 2']):
        picture = mmcv.imread(str(tmp_path / f'{name}.png'), 'unchanged')
        # The batch's frames, as they came.
        for i in range(4):
            assert (tile(picture, i)[40:, 40:] == 10 * k).all(), (name, i)


def test_interval_counts_clips_across_batches(tmp_path):
    hook = CaptionVisualizationHook(
        enable=True, interval=2, out_dir=str(tmp_path)
    )
    fake = runner()
    hook.before_test_epoch(fake)
    for batch_idx, (first, size) in enumerate([(0, 3), (3, 3), (6, 1)]):
        hook.after_test_iter(fake, batch_idx, *batch(first, size))
    assert sorted(os.listdir(tmp_path)) == [
        'v0.png',
        'v2.png',
        'v4.png',
        'v6.png',
    ]
    # A new test loop counts from its first clip again.
    hook.before_test_epoch(fake)
    hook.after_test_iter(fake, 0, *batch(11, 2))
    assert 'v11.png' in os.listdir(tmp_path)
    assert 'v12.png' not in os.listdir(tmp_path)


def test_validation_only_when_asked(tmp_path):
    fake = runner(iteration=12)
    off = CaptionVisualizationHook(enable=True, out_dir=str(tmp_path))
    off.before_val_epoch(fake)
    off.after_val_iter(fake, 0, *batch(0, 1))
    assert os.listdir(tmp_path) == []
    disabled = CaptionVisualizationHook(out_dir=str(tmp_path))
    disabled.before_test_epoch(fake)
    disabled.after_test_iter(fake, 0, *batch(0, 1))
    assert os.listdir(tmp_path) == []
    on = CaptionVisualizationHook(enable=True, val=True, out_dir=str(tmp_path))
    on.before_val_epoch(fake)
    on.after_val_iter(fake, 0, *batch(0, 2))
    assert sorted(os.listdir(tmp_path / 'val_iter_12')) == ['v0.png', 'v1.png']


def test_without_out_dir_the_backends_record_them(tmp_path):
    visualizer = CaptionVisualizer(
        vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path)
    )
    hook = CaptionVisualizationHook(enable=True, val=True)
    fake = runner(visualizer, iteration=5)
    hook.before_val_epoch(fake)
    hook.after_val_iter(fake, 0, *batch(0, 1))
    hook.before_test_epoch(fake)
    hook.after_test_iter(fake, 0, *batch(1, 1))
    images = osp.join(tmp_path, 'vis_data', 'vis_image')
    assert sorted(os.listdir(images)) == ['v0_5.png', 'v1_0.png']


def test_another_visualizer_is_refused():
    hook = CaptionVisualizationHook(enable=True)
    fake = runner(Visualizer(name='test_another_visualizer_is_refused'))
    hook.before_test_epoch(fake)
    with pytest.raises(TypeError, match="type='CaptionVisualizer'"):
        hook.after_test_iter(fake, 0, *batch(0, 1))


def test_tools_test_show_dir_draws_every_test_video(tmp_path, mmaction_scope):
    data_root = str(tmp_path / 'clips')
    generate_synthetic_clips(
        data_root, num_train=1, num_val=1, num_test=3, num_frames=8, size=32
    )
    show_dir = tmp_path / 'pictures'
    # No checkpoint: the untrained tiny model (its captions do not matter
    # here) is enough, and fast.
    run_tool(
        'tools/test.py',
        CONFIG,
        '--work-dir',
        str(tmp_path / 'work'),
        '--show-dir',
        str(show_dir),
        '--cfg-options',
        *data_options(data_root),
        'test_dataloader.batch_size=2',
    )
    with open(osp.join(data_root, 'annotations', 'test.json')) as f:
        videos = [record['image_id'] for record in json.load(f)]
    assert sorted(os.listdir(show_dir)) == sorted(f'{v}.png' for v in videos)

    # Each picture holds the frames of the test pipeline, unnormalised.
    dataset_cfg = Config.fromfile(CONFIG).test_dataloader.dataset
    dataset_cfg.ann_file = osp.join(data_root, 'annotations', 'test.json')
    dataset_cfg.data_prefix = dict(video=osp.join(data_root, 'videos'))
    dataset = DATASETS.build(dataset_cfg)
    for index in range(len(dataset)):
        packed = dataset[index]
        frames = packed['inputs'].permute(0, 2, 3, 1).numpy()
        name = packed['data_samples'].video_id
        picture = mmcv.imread(
            str(show_dir / f'{name}.png'), channel_order='rgb'
        )
        assert picture.shape[1] == 2 * MARGIN + 4 * TILE + 3 * GAP
        # Enlarged by a whole factor to the 128-pixel tile.
        factor = TILE // frames.shape[1]
        assert factor * frames.shape[1] == TILE
        for i, frame in enumerate(frames):
            expected = np.repeat(
                np.repeat(frame, factor, axis=0), factor, axis=1
            )
            # Clear of the frame label in the top-left corner.
            np.testing.assert_array_equal(
                tile(picture, i)[32:, 32:], expected[32:, 32:]
            )
