"""The videos to caption: files, folders (searched for video files), list
files and frames in memory, each named as the results will name it."""

import csv
import json
import os
import os.path as osp
from typing import (
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Union,
)

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

#: File name endings of list files: one video path per line (``.txt``,
#: ``.lst``), or a ``path`` / ``video`` / ``filename`` column (``.csv``) or
#: key (``.jsonl``).
LIST_EXTENSIONS = ('.txt', '.lst', '.csv', '.jsonl')
_PATH_KEYS = ('path', 'video', 'filename')

VideoLike = Union[str, os.PathLike, np.ndarray]


class VideoInput(NamedTuple):
    """One video to caption: a file, or frames in memory.

    Attributes:
        name (str): The video's name in the results (its id).
        path (str, optional): The video file, as given.
        frames (np.ndarray, optional): ``(T, H, W, 3)`` uint8 RGB frames.
        error (str, optional): Why this entry of a list file names no video
            (it is reported, not captioned).
    """

    name: str
    path: Optional[str] = None
    frames: Optional[np.ndarray] = None
    error: Optional[str] = None


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
    videos = list(_walk_videos(folder))
    if not videos:
        _no_video_in(folder)
    return videos


def _no_video_in(folder: str) -> None:
    others = sum(
        not file.startswith('.')
        for _, _, files in os.walk(folder)
        for file in files
    )
    raise FileNotFoundError(
        f'{folder}: no video file in this folder or its subfolders '
        f'({others} other files; endings looked for: '
        f'{" ".join(VIDEO_EXTENSIONS)}).'
    )


def iter_video_files(source: Union[str, os.PathLike]) -> Iterator[VideoInput]:
    """The videos of a file, folder or list file, one at a time: nothing is
    listed ahead (for folders and lists of millions of videos).

    Args:
        source: A video file; a folder (its video files by
            :data:`VIDEO_EXTENSIONS`, subfolders included, sorted, hidden
            ones left out; named by their path inside it); or a list file
            (:data:`LIST_EXTENSIONS`): one path per line in ``.txt`` /
            ``.lst`` (blank lines and lines starting with ``#`` skipped), a
            ``path``, ``video`` or ``filename`` column in ``.csv`` (with a
            header) or key in ``.jsonl``. Listed paths are used as given
            (relative ones from the current directory) and name the video.
            A list entry without a path gives a :class:`VideoInput` with
            ``error`` naming the file and line.

    Raises:
        FileNotFoundError: If ``source`` does not exist.
    """
    path = os.fspath(source)
    if osp.isdir(path):
        yield from _walk_videos(path)
    elif not osp.exists(path):
        raise FileNotFoundError(
            f'{path}: no such video file, folder or list (absolute path '
            f'{osp.abspath(path)}, current directory {os.getcwd()}).'
        )
    elif path.lower().endswith(LIST_EXTENSIONS):
        yield from _listed_videos(path)
    else:
        yield VideoInput(osp.splitext(osp.basename(path))[0], path)


def _walk_videos(folder: str) -> Iterator[VideoInput]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for file in sorted(files):
            if file.startswith('.') or not file.lower().endswith(
                VIDEO_EXTENSIONS
            ):
                continue
            path = osp.join(root, file)
            name = osp.splitext(osp.relpath(path, folder))[0]
            yield VideoInput(name.replace(os.sep, '/'), path)


def _listed_videos(list_file: str) -> Iterator[VideoInput]:
    kind = osp.splitext(list_file)[1].lower()
    with open(list_file, encoding='utf-8-sig', newline='') as lines:
        if kind == '.csv':
            rows = csv.DictReader(lines)
            key = next(
                (k for k in _PATH_KEYS if k in (rows.fieldnames or [])), None
            )
            if key is None:
                yield VideoInput(
                    f'{list_file}:1',
                    error=f'{list_file}:1: the header has no column '
                    f'{" / ".join(_PATH_KEYS)} (it has {rows.fieldnames}).',
                )
                return
            for row in rows:
                yield _listed(row.get(key), list_file, rows.line_num)
            return
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line or (kind != '.jsonl' and line.startswith('#')):
                continue
            if kind != '.jsonl':
                yield _listed(line, list_file, number)
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                yield _listed(None, list_file, number, f'not JSON ({err})')
                continue
            value = None
            if isinstance(record, dict):
                value = next(
                    (record[k] for k in _PATH_KEYS if record.get(k)), None
                )
            yield _listed(value, list_file, number)


def _listed(value, list_file: str, line: int, why: str = '') -> VideoInput:
    if isinstance(value, str) and value.strip():
        return VideoInput(value.strip(), value.strip())
    why = why or f'no {" / ".join(_PATH_KEYS)} given'
    return VideoInput(
        f'{list_file}:{line}', error=f'{list_file}:{line}: {why}.'
    )
