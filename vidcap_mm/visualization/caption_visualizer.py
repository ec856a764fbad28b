"""One picture per clip: the frames the model saw and the caption it wrote."""

import math
import os
import os.path as osp
import tempfile
import textwrap
from typing import List, Optional, Tuple, Union

import matplotlib
import mmcv
import numpy as np
import torch
from mmaction.registry import VISUALIZERS
from mmaction.structures import ActionDataSample
from mmaction.visualization import ActionVisualizer
from mmengine.visualization.utils import img_from_canvas

from vidcap_mm.datasets.transforms.loading import check_frame_array

# Advance of one character of DejaVu Sans Mono (matplotlib's monospace font)
# in ems: monospace text wraps to the width by character count.
_MONO_ADVANCE_EM = 0.6021
_LINE_SPACING = 1.4


@VISUALIZERS.register_module()
class CaptionVisualizer(ActionVisualizer):
    """Draw a clip's sampled frames with its predicted and reference
    captions, as one picture.

    Frames are laid out left to right in rows of at most ``max_columns``
    (one strip for short clips, a grid for long ones), each labelled with
    its frame index in the video (``frame_inds`` of the data sample) or,
    without it, its position from 1. Below them, on white, the video's name,
    the predicted caption (``pred_caption``) and the references
    (``gt_captions``, else ``gt_caption``), wrapped to the picture's width.

    Frames are scaled to a height within ``frame_height``: small ones by a
    whole factor with nearest-neighbour sampling (each model pixel stays a
    sharp square), large ones down with area averaging.

    MMAction2's ``ActionVisualizer`` draws one picture per frame; this one
    keeps its construction, backends and ``dataset_meta`` and replaces
    ``add_datasample`` with a one-picture version.

    Every process draws its own clips: MMEngine's ``Visualizer`` draws on
    rank 0 only (its ``set_image``, ``draw_texts`` and ``get_image`` do
    nothing elsewhere), so the picture is drawn on this process's figure
    directly, and a picture for a file is written by the process that
    holds the clip. Showing it and recording it in the backends stay
    rank 0's, as in MMEngine.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        vis_backends (list[dict], optional): Storage backends.
        save_dir (str, optional): Where the backends write.
        max_columns (int): Frames per row. Defaults to 8.
        frame_height (tuple[int, int]): Smallest and largest height of a
            drawn frame, in pixels. Defaults to ``(128, 256)``.
        min_width (int): Smallest picture width, so that captions of a clip
            with few, small frames still get readable lines. Defaults to 480.
        font_size (float, optional): Caption font size in points; None
            derives it from the picture's width (10 to 18 points).
        max_references (int): References listed at most; the count of the
            others is given. Defaults to 5.
        **kwargs: Passed to ``ActionVisualizer``.
    """

    margin = 8
    gap = 4

    def __init__(
        self,
        name: str = 'visualizer',
        vis_backends: Optional[List[dict]] = None,
        save_dir: Optional[str] = None,
        max_columns: int = 8,
        frame_height: Tuple[int, int] = (128, 256),
        min_width: int = 480,
        font_size: Optional[float] = None,
        max_references: int = 5,
        **kwargs,
    ) -> None:
        super().__init__(
            name=name, vis_backends=vis_backends, save_dir=save_dir, **kwargs
        )
        if max_columns < 1 or max_references < 0:
            raise ValueError(
                'CaptionVisualizer: max_columns must be >= 1 and '
                f'max_references >= 0, got {max_columns}, {max_references}.'
            )
        low, high = frame_height
        if not 0 < low <= high:
            raise ValueError(
                'CaptionVisualizer: frame_height must be (low, high) with '
                f'0 < low <= high, got {frame_height}.'
            )
        self.max_columns = max_columns
        self.frame_height = (low, high)
        self.min_width = min_width
        self.font_size = font_size
        self.max_references = max_references

    def add_datasample(
        self,
        name: str,
        video: Union[np.ndarray, torch.Tensor],
        data_sample: Optional[ActionDataSample] = None,
        draw_gt: bool = True,
        draw_pred: bool = True,
        show: bool = False,
        wait_time: float = 0,
        out_file: Optional[str] = None,
        step: int = 0,
    ) -> np.ndarray:
        """Draw the clip and its captions; save, show or record the picture.

        With ``out_file`` the picture is written there (PNG, folders
        created; written to a temporary name and renamed, so processes
        drawing the same clip leave one whole file) and the backends are
        left alone; without it, it goes to every backend as image ``name``
        at ``step`` (rank 0's only).

        Args:
            name (str): The clip's name, written above the captions.
            video (np.ndarray | torch.Tensor): The sampled frames, uint8
                RGB: ``(T, H, W, 3)`` as an array, ``(T, 3, H, W)`` as a
                tensor (what ``PackCaptionInputs`` gives, before the data
                preprocessor normalises).
            data_sample (ActionDataSample, optional): With ``pred_caption``,
                ``gt_captions`` / ``gt_caption`` and ``frame_inds``, each
                drawn when present.
            draw_gt (bool): Draw the references. Defaults to True.
            draw_pred (bool): Draw the prediction. Defaults to True.
            show (bool): Show the picture in a window. Defaults to False.
            wait_time (float): Seconds to show it; 0 waits for a key.
            out_file (str, optional): PNG file to write.
            step (int): Global step recorded by the backends.

        Returns:
            np.ndarray: The picture, ``(H, W, 3)`` uint8 RGB.
        """
        frames = _as_frames(video, name)
        if data_sample is None:
            data_sample = ActionDataSample()
        tiles = [self._scale(frame) for frame in frames]
        tile_h = tiles[0].shape[0]
        tile_w = max(tile.shape[1] for tile in tiles)
        columns = min(len(tiles), self.max_columns)
        rows = math.ceil(len(tiles) / columns)
        grid_w = columns * tile_w + (columns - 1) * self.gap
        grid_h = rows * tile_h + (rows - 1) * self.gap
        width = max(grid_w + 2 * self.margin, self.min_width)

        font_px = self._font_px(width)
        # Glyph advances are rounded to whole pixels when drawn: wrap for
        # the rounded-up advance so that no line runs past the margin.
        advance = math.ceil(_MONO_ADVANCE_EM * font_px)
        chars = max((width - 2 * self.margin) // advance, 20)
        lines = self._caption_lines(
            name, data_sample, draw_gt, draw_pred, chars
        )
        line_h = math.ceil(_LINE_SPACING * font_px)
        text_top = self.margin + grid_h + self.margin
        height = text_top + len(lines) * line_h + self.margin

        canvas = np.full((height, width, 3), 255, dtype=np.uint8)
        origins = []
        for i, tile in enumerate(tiles):
            row, column = divmod(i, columns)
            x = self.margin + column * (tile_w + self.gap)
            y = self.margin + row * (tile_h + self.gap)
            canvas[y : y + tile_h, x : x + tile.shape[1]] = tile
            origins.append((x, y))

        label_px = min(max(tile_h / 10, 9), 14)
        # Each frame's label in its top-left corner, white on dark; then
        # the caption lines.
        texts = [
            (x + 2, y + 2, label, label_px, 'white', _LABEL_BOX)
            for (x, y), label in zip(
                origins, _frame_labels(data_sample, len(tiles))
            )
        ]
        texts += [
            (self.margin, text_top + i * line_h, text, font_px, color, None)
            for i, (text, color) in enumerate(lines)
        ]
        picture = self._draw(canvas, texts)
        if show:
            self.show(picture, win_name=name, wait_time=wait_time)
        if out_file is not None:
            _write_png(picture, out_file)
        else:
            self.add_image(name, picture, step)
        return picture

    def _scale(self, frame: np.ndarray) -> np.ndarray:
        """The frame at a height within ``frame_height``."""
        height, width = frame.shape[:2]
        low, high = self.frame_height
        if height < low:
            factor = math.ceil(low / height)
            return mmcv.imresize(
                frame,
                (width * factor, height * factor),
                interpolation='nearest',
            )
        if height > high:
            new_w = max(round(width * high / height), 1)
            return mmcv.imresize(frame, (new_w, high), interpolation='area')
        return frame

    def _font_px(self, width: int) -> float:
        """Caption font size in pixels."""
        if self.font_size is not None:
            return self.font_size * self.dpi / 72
        return float(
            np.clip(width / 50, 10 * self.dpi / 72, 18 * self.dpi / 72)
        )

    def _points(self, pixels: float) -> float:
        return pixels * 72 / self.dpi

    def _caption_lines(
        self,
        name: str,
        data_sample: ActionDataSample,
        draw_gt: bool,
        draw_pred: bool,
        chars: int,
    ) -> List[Tuple[str, str]]:
        """``(line, colour)`` pairs: name, prediction, references."""
        lines = [(line, 'black') for line in _wrap(name, '', chars)]
        if draw_pred and 'pred_caption' in data_sample:
            caption = data_sample.pred_caption or '(empty)'
            lines += [
                (line, '#1a4fb0')
                for line in _wrap(caption, 'Prediction: ', chars)
            ]
        references = _references(data_sample) if draw_gt else []
        if len(references) == 1:
            lines += [
                (line, '#2b6e2b')
                for line in _wrap(references[0], 'Reference:  ', chars)
            ]
        elif references:
            shown = references[: self.max_references]
            count = str(len(references))
            if len(shown) < len(references):
                count = f'{len(shown)} of {count}'
            lines.append((f'References ({count}):', '#2b6e2b'))
            for reference in shown:
                lines += [
                    (line, '#2b6e2b')
                    for line in _wrap(reference, '  - ', chars)
                ]
        return lines

    def _draw(self, canvas: np.ndarray, texts: List[tuple]) -> np.ndarray:
        """``canvas`` with ``texts`` (``(x, y, text, size in pixels, colour,
        box)`` each, top-left anchored, monospace) drawn over it.

        Drawn on this process's own figure as ``Visualizer.set_image`` and
        ``draw_texts`` draw, which do so on rank 0 only.
        """
        height, width = canvas.shape[:2]
        # 1e-2 as in set_image: matplotlib truncates the size in pixels.
        self.fig_save.set_size_inches(
            (width + 1e-2) / self.dpi, (height + 1e-2) / self.dpi
        )
        axes = self.ax_save
        axes.cla()
        axes.axis(False)
        axes.imshow(canvas, extent=(0, width, height, 0), interpolation='none')
        # matplotlib reads text between two "$" as math (and fails on what
        # it cannot parse); captions are plain text.
        with matplotlib.rc_context({'text.parse_math': False}):
            for x, y, text, pixels, color, box in texts:
                axes.text(
                    x,
                    y,
                    text,
                    size=self._points(pixels),
                    color=color,
                    family='monospace',
                    verticalalignment='top',
                    horizontalalignment='left',
                    bbox=box,
                )
            return img_from_canvas(self.fig_save_canvas)


# The box behind a frame's label.
_LABEL_BOX = dict(facecolor='black', alpha=0.6, pad=1.5, edgecolor='none')


def _write_png(picture: np.ndarray, out_file: str) -> None:
    """Write an RGB picture as PNG through a temporary file in the same
    folder, renamed into place: processes that draw the same clip (a
    sampler's padding) leave one whole file."""
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.png')
    os.close(fd)
    try:
        # mmcv writes BGR; the picture is RGB.
        mmcv.imwrite(picture[..., ::-1], tmp)
        os.replace(tmp, out_file)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _as_frames(video, name: str) -> np.ndarray:
    """``video`` as a ``(T, H, W, 3)`` uint8 array, or an error naming the
    clip and what was expected."""
    expected = (
        'a (T, H, W, 3) uint8 RGB array or a (T, 3, H, W) uint8 tensor '
        '(the frames before the data preprocessor normalises them)'
    )
    if isinstance(video, torch.Tensor):
        if video.dim() == 4 and video.shape[1] == 3:
            video = video.permute(0, 2, 3, 1)
        elif not (video.dim() == 4 and video.shape[-1] == 3):
            raise ValueError(
                f'CaptionVisualizer: clip {name!r}: got a tensor of shape '
                f'{tuple(video.shape)}; expected {expected}.'
            )
        video = video.detach().cpu().numpy()
    if not isinstance(video, np.ndarray):
        raise TypeError(
            f'CaptionVisualizer: clip {name!r}: got '
            f'{type(video).__name__}; expected {expected}.'
        )
    return check_frame_array(
        video, f'CaptionVisualizer: clip {name!r}', expected
    )


def _references(data_sample: ActionDataSample) -> List[str]:
    if 'gt_captions' in data_sample:
        return list(data_sample.gt_captions)
    if 'gt_caption' in data_sample:
        return [data_sample.gt_caption]
    return []


def _frame_labels(data_sample: ActionDataSample, num_frames: int) -> list:
    """Frame indices in the video when known, else positions from 1."""
    frame_inds = data_sample.metainfo.get('frame_inds')
    if frame_inds is not None:
        frame_inds = np.asarray(frame_inds).reshape(-1)
        if len(frame_inds) == num_frames:
            return [f'#{int(i)}' for i in frame_inds]
    return [str(i + 1) for i in range(num_frames)]


def _wrap(text: str, prefix: str, chars: int) -> List[str]:
    """``prefix + text`` in lines of ``chars`` characters, later lines
    indented under the text (monospace keeps them aligned)."""
    return textwrap.wrap(
        str(text),
        width=chars,
        initial_indent=prefix,
        subsequent_indent=' ' * len(prefix),
    ) or [prefix.rstrip()]


def picture_visualizer(cfg, name: str = 'caption_video') -> CaptionVisualizer:
    """A visualizer for pictures of one's own videos: the config's
    ``CaptionVisualizer`` settings (frame size, columns...) without its
    storage backends (the pictures go to files or to the caller); the
    defaults for a config whose visualizer is another kind."""
    settings = dict(cfg.get('visualizer') or {})
    if settings.pop('type', None) not in ('CaptionVisualizer', None):
        settings = {}
    for key in ('name', 'vis_backends', 'save_dir'):
        settings.pop(key, None)
    return CaptionVisualizer(name=name, **settings)
