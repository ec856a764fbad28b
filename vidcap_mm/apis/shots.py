"""Shot boundaries of a video, for captioning it shot by shot.

PySceneDetect's ``ContentDetector`` finds the cuts (a jump of the frames'
hue, saturation and luminance between neighbouring frames). It reads the
frames that the test pipeline's reader decodes (decord at the model's
size, or frames in memory) instead of opening the file again with its own
OpenCV backend, so that every input the captioner takes can be cut in
shots.
"""

from typing import List, NamedTuple, Tuple

import cv2
import numpy as np

# Frames decoded at a time while looking for cuts.
_CHUNK = 64
# Frames wider than this are scaled down before detection (PySceneDetect
# scales large frames down too): cuts do not need detail.
_MAX_WIDTH = 256


class Shots(NamedTuple):
    """Caption a video shot by shot.

    Attributes:
        threshold (float): ContentDetector's threshold: the frame-to-frame
            change (0 to 255) that makes a cut. Defaults to its 27.
        min_frames (int): A shot has at least this many frames (a cut
            sooner after the last is ignored). Defaults to its 15.
    """

    threshold: float = 27.0
    min_frames: int = 15

    def check(self) -> None:
        """Raises ValueError for a threshold or length out of range."""
        if not self.threshold > 0 or self.min_frames < 1:
            raise ValueError(
                'Shots needs threshold > 0 and min_frames >= 1, got '
                f'{self.threshold} and {self.min_frames}'
            )


def shot_windows(
    reader, total_frames: int, fps: float, shots: Shots
) -> List[Tuple[Tuple[float, float], Tuple[int, int]]]:
    """The shots of a video, as
    :func:`~vidcap_mm.apis.caption_loader.segment_windows` gives windows:
    ``((start, end) seconds, (first, end) frames)`` per shot, in order,
    covering every frame.

    Args:
        reader: What the test pipeline's opening step gives
            (``video_reader``: ``get_batch(indices).asnumpy()`` of RGB
            frames).
        total_frames (int): Frames of the video.
        fps (float): Its frame rate.
        shots (Shots): The detector's settings.
    """
    from scenedetect import ContentDetector, FrameTimecode

    fps = float(fps)  # PySceneDetect takes no int frame rate
    detector = ContentDetector(
        threshold=shots.threshold, min_scene_len=shots.min_frames
    )
    cuts = set()
    for start in range(0, total_frames, _CHUNK):
        indices = list(range(start, min(start + _CHUNK, total_frames)))
        for index, frame in zip(indices, reader.get_batch(indices).asnumpy()):
            found = detector.process_frame(
                FrameTimecode(index, fps), _detector_frame(frame)
            )
            cuts.update(cut.frame_num for cut in found)
    last = FrameTimecode(total_frames - 1, fps)
    cuts.update(cut.frame_num for cut in detector.post_process(last))
    bounds = [0, *sorted(c for c in cuts if 0 < c < total_frames)]
    bounds.append(total_frames)
    return [
        ((round(first / fps, 3), round(end / fps, 3)), (first, end))
        for first, end in zip(bounds, bounds[1:])
    ]


def _detector_frame(frame: np.ndarray) -> np.ndarray:
    """An RGB frame as the detector reads it: BGR, at most _MAX_WIDTH
    wide."""
    height, width = frame.shape[:2]
    if width > _MAX_WIDTH:
        size = (_MAX_WIDTH, max(1, round(height * _MAX_WIDTH / width)))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
