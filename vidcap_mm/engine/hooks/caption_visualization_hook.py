"""Pictures of what the model saw and said, during testing (and
validation)."""

import os.path as osp
import re
from typing import Optional, Sequence

from mmaction.registry import HOOKS
from mmaction.structures import ActionDataSample
from mmengine.hooks import Hook

from ...visualization import CaptionVisualizer


@HOOKS.register_module()
class CaptionVisualizationHook(Hook):
    """Draw test (and optionally validation) clips with their captions
    through :class:`~vidcap_mm.visualization.CaptionVisualizer`.

    The frames are the data batch's, before the data preprocessor
    normalises them: the picture shows what the model saw. Each picture is
    named after the clip's ``video_id`` (else its file name without the
    extension, else its index in the loop).

    - With ``out_dir``, test pictures are written to ``out_dir/<name>.png``
      and validation ones to ``out_dir/val_iter_<iteration>/<name>.png``;
      the visualizer's backends are left alone.
    - Without it, they go to the visualizer's backends (e.g.
      ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<step>.png``).

    ``tools/test.py --show-dir DIR`` turns it on for testing. Under several
    processes each rank draws the clips it captions, so every test clip
    gets its picture in ``out_dir`` (MMAction2's ``VisualizationHook``
    draws rank 0's only); the backends and ``show`` are rank 0's.

    Args:
        enable (bool): Draw at all. Defaults to False.
        interval (int): Draw every ``interval``-th clip. Defaults to 1
            (every clip).
        val (bool): Draw during validation too. Defaults to False.
        show (bool): Show each picture in a window. Defaults to False.
        wait_time (float): Seconds each shown picture stays; 0 waits for a
            key. Defaults to 0.
        out_dir (str, optional): Folder for the PNG files.
        draw_gt (bool): Draw the references. Defaults to True.
        draw_pred (bool): Draw the prediction. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        enable: bool = False,
        interval: int = 1,
        val: bool = False,
        show: bool = False,
        wait_time: float = 0,
        out_dir: Optional[str] = None,
        draw_gt: bool = True,
        draw_pred: bool = True,
    ) -> None:
        if interval < 1:
            raise ValueError(
                f'CaptionVisualizationHook: interval must be >= 1, got '
                f'{interval}.'
            )
        self.enable = enable
        self.interval = interval
        self.val = val
        self.show = show
        self.wait_time = wait_time
        self.out_dir = out_dir
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred
        self._seen = 0  # clips of the running loop, for ``interval``

    def before_val_epoch(self, runner) -> None:
        self._seen = 0

    def before_test_epoch(self, runner) -> None:
        self._seen = 0

    def after_val_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: dict,
        outputs: Sequence[ActionDataSample],
    ) -> None:
        if not self.val:
            return
        # The training iteration names a validation unambiguously for
        # epoch- and iteration-based loops alike.
        step = runner.iter
        folder = None
        if self.out_dir is not None:
            folder = osp.join(self.out_dir, f'val_iter_{step}')
        self._draw(runner, data_batch, outputs, step, folder)

    def after_test_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: dict,
        outputs: Sequence[ActionDataSample],
    ) -> None:
        self._draw(runner, data_batch, outputs, 0, self.out_dir)

    def _draw(
        self,
        runner,
        data_batch: dict,
        outputs: Sequence[ActionDataSample],
        step: int,
        folder: Optional[str],
    ) -> None:
        """Draw the clips of the batch whose index in the loop is a
        multiple of ``interval``."""
        if not self.enable:
            return
        visualizer = runner.visualizer
        if not isinstance(visualizer, CaptionVisualizer):
            raise TypeError(
                "CaptionVisualizationHook needs the config's visualizer to "
                "be dict(type='CaptionVisualizer', ...) (as in "
                'configs/_base_/default_runtime.py); got '
                f'{type(visualizer).__name__}.'
            )
        for video, sample in zip(data_batch['inputs'], outputs):
            index = self._seen
            self._seen += 1
            if index % self.interval:
                continue
            name = _picture_name(sample, index)
            out_file = None
            if folder is not None:
                out_file = osp.join(folder, f'{name}.png')
            visualizer.add_datasample(
                name,
                video,
                sample,
                draw_gt=self.draw_gt,
                draw_pred=self.draw_pred,
                show=self.show,
                wait_time=self.wait_time,
                out_file=out_file,
                step=step,
            )


def _picture_name(sample: ActionDataSample, index: int) -> str:
    """The clip's name, safe as a file name."""
    name = sample.metainfo.get('video_id')
    if name is None and 'filename' in sample.metainfo:
        name = osp.splitext(osp.basename(sample.metainfo['filename']))[0]
    if name is None:
        name = str(index)
    # Video ids may hold path separators or characters some file systems
    # refuse.
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', '_', str(name))
