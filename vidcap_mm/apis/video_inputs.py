"""The videos to caption: files, folders (searched for video files) and
frames in memory, each named as the results will name it."""

import os
import os.path as osp
from typing import List, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np

from vidcap_mm.datasets.transforms.loading import check_frame_array

#: File name endings taken from a folder (case-insensitive). A file named
#: directly is tried whatever its ending.
VIDEO_EXTENSIONS = (
    '.3gp',
    '.avi',
    '.flv',
    '.m2ts',
    '.m4v',
    '.mkv',
    '.mov',
    '.mp4',
    '.mpeg',
    '.mpg',
    '.mts',
    '.ogv',
    '.ts',
    '.webm',
    '.wmv',
)

VideoLike = Union[str, os.PathLike, np.ndarray]


class VideoInput(NamedTuple):
    """One video to caption: a file, or frames in memory.

    Attributes:
        name (str): The video's name in the results (its id).
        path (str, optional): The video file.
        frames (np.ndarray, optional): ``(T, H, W, 3)`` uint8 RGB frames.
    """

    name: str
    path: Optional[str] = None
    frames: Optional[np.ndarray] = None


def collect_videos(
    videos: Union[VideoLike, VideoInput, Mapping, Sequence],
) -> List[VideoInput]:
    """The videos named by ``videos``, in order.

    Args:
        videos: A video file, a folder (its video files, subfolders
            included, by :data:`VIDEO_EXTENSIONS`, sorted; hidden ones
            left out), a ``(T, H, W, 3)`` uint8 RGB array, a mapping of
            names to files or arrays, or a list of any of these.

    Returns:
        list[VideoInput]: One entry per video.

    Raises:
        FileNotFoundError: If a path does not exist, or a folder holds no
            video file.
        TypeError / ValueError: If an array is not ``(T, H, W, 3)`` uint8.
    """
    found: List[VideoInput] = []
    _collect(videos, None, found)
    return found


def _collect(videos, name: Optional[str], found: List[VideoInput]) -> None:
    if isinstance(videos, VideoInput):
        found.append(videos)
    elif isinstance(videos, np.ndarray):
        name = name if name is not None else f'array_{len(found)}'
        found.append(
            VideoInput(
                name,
                frames=check_frame_array(
                    videos,
                    f'Video {name!r}',
                    '(T, H, W, 3) uint8 RGB frames with T >= 1',
                ),
            )
        )
    elif isinstance(videos, (str, os.PathLike)):
        path = os.fspath(videos)
        if osp.isdir(path):
            found.extend(_folder_videos(path))
        elif osp.exists(path):
            stem = osp.splitext(osp.basename(path))[0]
            found.append(VideoInput(name if name is not None else stem, path))
        else:
            raise FileNotFoundError(
                f'{path}: no such video file or folder (absolute path '
                f'{osp.abspath(path)}, current directory {os.getcwd()}).'
            )
    elif isinstance(videos, Mapping):
        for key, value in videos.items():
            _collect(value, str(key), found)
    elif isinstance(videos, Sequence):
        for value in videos:
            _collect(value, None, found)
    else:
        raise TypeError(
            'Videos must be file paths, folders, (T, H, W, 3) uint8 arrays, '
            f'a mapping or a list of them; got {type(videos).__name__}.'
        )


def _folder_videos(folder: str) -> List[VideoInput]:
    videos, others = [], 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for file in sorted(files):
            if file.startswith('.'):
                continue
            if not file.lower().endswith(VIDEO_EXTENSIONS):
                others += 1
                continue
            path = osp.join(root, file)
            name = osp.splitext(osp.relpath(path, folder))[0]
            videos.append(VideoInput(name.replace(os.sep, '/'), path))
    if not videos:
        raise FileNotFoundError(
            f'{folder}: no video file in this folder or its subfolders '
            f'({others} other files; endings looked for: '
            f'{" ".join(VIDEO_EXTENSIONS)}).'
        )
    return videos
