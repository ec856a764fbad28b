"""Video opening and frame decoding with decord, with errors that name the
file; frames already in memory open through the same reader interface."""

import os
import re
from collections import OrderedDict
from types import SimpleNamespace
from typing import Dict, Optional, Sequence, Tuple

import cv2
import decord
import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

# decord raises either of these on unreadable files; DECORDError is not a
# RuntimeError subclass.
DECORD_ERRORS = (RuntimeError, decord.DECORDError)


class VideoReadError(RuntimeError):
    """A video cannot be opened or decoded, or has too few frames.

    Args:
        filename (str): The video file.
        reason (str): What went wrong.
        video_id (str, optional): The video id, when known.
    """

    def __init__(
        self, filename: str, reason: str, video_id: Optional[str] = None
    ) -> None:
        self.filename = filename
        self.reason = reason
        self.video_id = video_id
        where = filename if video_id is None else f'{filename} ({video_id})'
        super().__init__(f'{where}: {reason}')

    def __reduce__(self):
        # Keep the fields when the error crosses a DataLoader worker.
        return type(self), (self.filename, self.reason, self.video_id)


def check_frame_array(
    frames: np.ndarray, owner: str, expected: str
) -> np.ndarray:
    """Check that ``frames`` is a ``(T, H, W, 3)`` uint8 array with T >= 1.

    Args:
        frames (np.ndarray): Decoded frames, e.g. handed to the inference API
            or to the visualizer.
        owner (str): Who holds them, first in the message (e.g.
            ``"Video 'clip7'"``).
        expected (str): What the caller accepts, last in the message.

    Returns:
        np.ndarray: ``frames``.

    Raises:
        ValueError: On another shape, or no frame.
        TypeError: On another dtype.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(
            f'{owner}: got an array of shape {frames.shape}; '
            f'expected {expected}.'
        )
    if frames.dtype != np.uint8:
        raise TypeError(
            f'{owner}: got dtype {frames.dtype}; expected {expected}.'
        )
    return frames


def _first_line(err: BaseException) -> str:
    """The first line of a decord error, without its C++ trace and the
    ``[time] source.cc:line:`` prefixes of its native log lines."""
    lines = str(err).strip().splitlines()
    line = re.sub(r'\[[\d:]+\] \S+:\d+: ', '', lines[0]) if lines else ''
    return line.strip() or type(err).__name__


@TRANSFORMS.register_module()
class DecordVideoInit(BaseTransform):
    """Open a video with decord, optionally scaling frames at decode time.

    Unlike mmaction's ``DecordInit``, the file is opened by path (decord
    reads only what it decodes, instead of the whole file into memory), the
    most recently used readers are kept for the next calls on the same file,
    and every failure raises :class:`VideoReadError` naming the file:
    missing file, zero-byte file, a file that is not a video, a truncated
    container, or fewer frames than ``min_frames``.

    Decoding at the model's input size (``resize``) is the seed's way: frames
    are scaled by ffmpeg while decoding, without keeping full-size copies,
    whatever the stored resolution (odd sizes included). Frames are sampled
    by index, never by time, so variable frame rates need nothing special;
    rotation metadata is applied by decord before scaling.

    Required Keys:

        - filename

    Added Keys:

        - video_reader (decord.VideoReader)
        - total_frames (int)
        - avg_fps (float)

    Args:
        resize (tuple[int, int], optional): ``(width, height)`` of decoded
            frames, aspect ratio not kept; None keeps the stored size.
            Defaults to None.
        num_threads (int): Decoding threads per reader (0: decord's
            choice). Defaults to 1, which suits several loader workers.
        min_frames (int): Fewer frames than this is an error. Shorter
            videos than the number of sampled frames are otherwise fine:
            the sampling transforms repeat frames. Defaults to 1.
        cache_size (int): Readers kept open per worker for reuse.
            Defaults to 2.
    """

    def __init__(
        self,
        resize: Optional[Sequence[int]] = None,
        num_threads: int = 1,
        min_frames: int = 1,
        cache_size: int = 2,
    ) -> None:
        if resize is not None:
            resize = tuple(int(v) for v in resize)
            if len(resize) != 2 or min(resize) < 1:
                raise ValueError(
                    f'resize must be (width, height) > 0, got {resize}'
                )
        if min_frames < 1:
            raise ValueError(f'min_frames must be >= 1, got {min_frames}')
        self.resize: Optional[Tuple[int, int]] = resize
        self.num_threads = num_threads
        self.min_frames = min_frames
        self.cache_size = cache_size
        self._readers: OrderedDict = OrderedDict()

    def _open(self, filename: str, video_id: Optional[str]):
        reader = self._readers.get(filename)
        if reader is not None:
            self._readers.move_to_end(filename)
            return reader
        width, height = self.resize if self.resize else (-1, -1)
        try:
            reader = decord.VideoReader(
                filename,
                width=width,
                height=height,
                num_threads=self.num_threads,
            )
        except DECORD_ERRORS as err:
            raise VideoReadError(
                filename, self._why_unreadable(filename, err), video_id
            ) from None
        if self.cache_size > 0:
            self._readers[filename] = reader
            while len(self._readers) > self.cache_size:
                self._readers.popitem(last=False)
        return reader

    @staticmethod
    def _why_unreadable(filename: str, err: BaseException) -> str:
        if not os.path.exists(filename):
            return 'video file not found'
        if os.path.isdir(filename):
            return 'is a directory, not a video file'
        if os.path.getsize(filename) == 0:
            return 'video file is empty (0 bytes)'
        return (
            'decord cannot open it: not a video, or a damaged or truncated '
            f'one ({_first_line(err)})'
        )

    def transform(self, results: Dict) -> Dict:
        """Open ``results['filename']``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with the reader, frame count and fps.

        Raises:
            VideoReadError: If the video cannot be opened or is too short.
        """
        filename = results['filename']
        video_id = results.get('video_id')
        reader = self._open(filename, video_id)
        total = len(reader)
        if total < self.min_frames:
            self._readers.pop(filename, None)
            raise VideoReadError(
                filename,
                f'has {total} frames, fewer than min_frames={self.min_frames}',
                video_id,
            )
        results['video_reader'] = reader
        results['total_frames'] = total
        results['avg_fps'] = reader.get_avg_fps()
        return results

    def __getstate__(self):
        # Readers hold native handles: a copy (e.g. to a spawned worker)
        # starts with an empty cache.
        state = self.__dict__.copy()
        state['_readers'] = OrderedDict()
        return state

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(resize={self.resize}, '
            f'num_threads={self.num_threads}, '
            f'min_frames={self.min_frames}, cache_size={self.cache_size})'
        )


@TRANSFORMS.register_module()
class DecordVideoDecode(BaseTransform):
    """Decode the sampled frames into one ``(T, H, W, 3)`` RGB array.

    All indices are decoded in one ``get_batch`` call (each distinct frame
    once, repeated indices of short videos included) and kept as one
    contiguous array rather than a list of frames. Decoding errors (a
    damaged stream, an index past the real end of a video whose header
    overstates its length) raise :class:`VideoReadError` naming the file.

    Required Keys:

        - video_reader
        - frame_inds
        - filename

    Added Keys:

        - imgs (np.ndarray): ``(T, H, W, 3)`` uint8, RGB.
        - original_shape
        - img_shape

    Modified Keys:

        - video_reader (set to None, the reader stays cached in the init
          transform)
    """

    def transform(self, results: Dict) -> Dict:
        """Decode ``results['frame_inds']``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``imgs``.

        Raises:
            VideoReadError: If decord fails on the frames.
        """
        reader = results['video_reader']
        frame_inds = np.asarray(results['frame_inds']).reshape(-1)
        unique, inverse = np.unique(frame_inds, return_inverse=True)
        try:
            frames = reader.get_batch(unique.tolist()).asnumpy()
        except DECORD_ERRORS as err:
            raise VideoReadError(
                results['filename'],
                f'decord fails on frames {unique.tolist()} of '
                f'{results.get("total_frames")} ({_first_line(err)})',
                results.get('video_id'),
            ) from None
        if len(unique) != len(frame_inds):
            frames = frames[inverse]
        results['video_reader'] = None
        results['imgs'] = frames
        results['original_shape'] = frames.shape[1:3]
        results['img_shape'] = frames.shape[1:3]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'


class FrameArrayReader:
    """Frames in memory behind the part of decord's ``VideoReader`` that
    the decode transforms use (``len``, ``get_batch(...).asnumpy()``).

    Frames are scaled to ``size`` when read, with bicubic interpolation
    like decord's (ffmpeg's scaler in its default mode): values can differ
    from a decoded file's by a few levels.

    Args:
        frames (np.ndarray): ``(T, H, W, 3)`` uint8 RGB.
        size (tuple[int, int], optional): ``(width, height)`` of the frames
            read; None keeps theirs.
    """

    def __init__(
        self, frames: np.ndarray, size: Optional[Tuple[int, int]]
    ) -> None:
        self.frames = frames
        self.size = size

    def __len__(self) -> int:
        return len(self.frames)

    def get_batch(self, indices: Sequence[int]) -> SimpleNamespace:
        frames = self.frames[np.asarray(indices, dtype=np.int64)]
        height, width = frames.shape[1:3]
        if self.size is not None and self.size != (width, height):
            frames = np.stack(
                [
                    cv2.resize(frame, self.size, interpolation=cv2.INTER_CUBIC)
                    for frame in frames
                ]
            )
        return SimpleNamespace(asnumpy=lambda: frames)


@TRANSFORMS.register_module()
class FrameArrayInit(BaseTransform):
    """Open frames in memory as :class:`DecordVideoInit` opens a file, so
    that the sampling and decoding transforms after it run unchanged
    (``DecordVideoDecode``, and mmaction's ``DecordDecode``, which reads
    the same reader interface).

    The inference API puts it in place of a test pipeline's opening step
    to caption arrays (``caption_videos(model, frames)``).

    Required Keys:

        - frame_array (np.ndarray): ``(T, H, W, 3)`` uint8 RGB.
        - filename (the video's name, for messages)

    Added Keys:

        - video_reader (:class:`FrameArrayReader`)
        - total_frames (int)

    Removed Keys:

        - frame_array

    Arrays carry no frame rate, so ``avg_fps`` is not added.

    Args:
        resize (tuple[int, int], optional): ``(width, height)`` of the
            frames read, as ``DecordVideoInit``'s. Defaults to None.
        min_frames (int): Fewer frames than this is an error. Defaults to 1.
    """

    def __init__(
        self, resize: Optional[Sequence[int]] = None, min_frames: int = 1
    ) -> None:
        self.resize = None if resize is None else tuple(int(v) for v in resize)
        self.min_frames = min_frames

    def transform(self, results: Dict) -> Dict:
        """Wrap ``results['frame_array']`` in a reader.

        Raises:
            VideoReadError: If the array has fewer than ``min_frames``
                frames.
        """
        frames = results.pop('frame_array')
        if len(frames) < self.min_frames:
            raise VideoReadError(
                results['filename'],
                f'has {len(frames)} frames, fewer than '
                f'min_frames={self.min_frames}',
            )
        results['video_reader'] = FrameArrayReader(frames, self.resize)
        results['total_frames'] = len(frames)
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(resize={self.resize}, '
            f'min_frames={self.min_frames})'
        )
