"""Captioning records in a JSON Lines file that a crash cannot corrupt.

One JSON object per line and video. Lines are appended a batch at a time
with one ``write`` and an ``fsync``, so a run killed at any moment leaves
whole lines (at most a cut last line, which reopening removes) and loses
at most the batch in flight; a rerun skips the videos the file holds.

Over several processes each writes its own part (``OUT.part<r>-of-<R>.jsonl``)
and the first merges the parts into OUT, in input order, once all are done:
the merged file is written beside OUT and renamed over it, and the parts
are removed only then, so a crash at any point leaves every record in OUT
or a part (a rerun, on any number of processes, skips them all).
"""

import glob
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from mmengine.utils import mkdir_or_exist


class CaptionRecordError(ValueError):
    """A records file holds a line that is not a record."""


class CaptionRecordFile:
    """An append-only JSON Lines file of records keyed by ``video``.

    Args:
        path (str): The file; created (with its folder) when missing.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def videos(self) -> Set[str]:
        """The ``video`` of every record in the file, after cutting off a
        last line that a killed run left unfinished.

        Raises:
            CaptionRecordError: If a whole line is not a JSON object with a
                ``video``, naming the file and line.
        """
        return {video for video, _ in self.lines()}

    def lines(self) -> Iterator[Tuple[str, str]]:
        """``(video, line)`` of each record, after cutting off a last line
        that a killed run left unfinished.

        Raises:
            CaptionRecordError: As :meth:`videos`.
        """
        if not osp.exists(self.path):
            return
        self._drop_cut_line()
        with open(self.path, encoding='utf-8') as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    video = json.loads(line)['video']
                except (json.JSONDecodeError, KeyError, TypeError) as err:
                    raise CaptionRecordError(
                        f'{self.path}:{number}: not a captioning record '
                        f'({type(err).__name__}: {err}); this file is not '
                        'one this tool wrote, or was edited.'
                    ) from None
                yield video, line if line.endswith('\n') else line + '\n'

    def _drop_cut_line(self) -> None:
        with open(self.path, 'rb+') as file:
            size = file.seek(0, os.SEEK_END)
            if size == 0:
                return
            file.seek(size - 1)
            if file.read(1) == b'\n':
                return
            # Find the last newline; what follows it was cut short.
            end = size
            while end > 0:
                start = max(0, end - 65536)
                file.seek(start)
                chunk = file.read(end - start)
                newline = chunk.rfind(b'\n')
                if newline >= 0:
                    file.truncate(start + newline + 1)
                    return
                end = start
            file.truncate(0)

    def append(self, records: Iterable[dict]) -> None:
        """Append ``records``, each a line, in one write, and sync it."""
        text = ''.join(
            json.dumps(record, ensure_ascii=False) + '\n' for record in records
        )
        if not text:
            return
        mkdir_or_exist(osp.dirname(osp.abspath(self.path)))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            data = text.encode('utf-8')
            while data:
                written = os.write(fd, data)
                data = data[written:]
            os.fsync(fd)
        finally:
            os.close(fd)


def part_path(out: str, rank: int, world_size: int) -> str:
    """The part of ``out`` that process ``rank`` of ``world_size``
    writes."""
    return f'{_stem(out)}.part{rank}-of-{world_size}.jsonl'


def record_parts(out: str) -> List[str]:
    """The parts of ``out`` on disk, of any earlier number of processes."""
    return sorted(glob.glob(glob.escape(_stem(out)) + '.part*-of-*.jsonl'))


def recorded_videos(out: str) -> Set[str]:
    """The videos that ``out`` and its parts hold."""
    videos = CaptionRecordFile(out).videos()
    for part in record_parts(out):
        videos |= CaptionRecordFile(part).videos()
    return videos


def merge_record_parts(out: str, order: Iterable[str]) -> int:
    """Merge ``out``'s parts into it: the records of the videos of
    ``order`` first, in that order, then any other (earlier inputs), each
    video once; written beside ``out``, synced and renamed over it, then
    the parts are removed. Returns the number of records."""
    parts = record_parts(out)
    if not parts:
        return len(CaptionRecordFile(out).videos())
    lines: Dict[str, str] = {}
    for path in [out] + parts:
        for video, line in CaptionRecordFile(path).lines():
            lines.setdefault(video, line)
    merged = out + '.merging'
    with open(merged, 'w', encoding='utf-8') as file:
        for video in order:
            line = lines.pop(video, None)
            if line is not None:
                file.write(line)
        for line in lines.values():
            file.write(line)
        file.flush()
        os.fsync(file.fileno())
    count = sum(1 for _ in CaptionRecordFile(merged).lines())
    os.replace(merged, out)
    for part in parts:
        os.remove(part)
    return count


def _stem(out: str) -> str:
    return out[: -len('.jsonl')] if out.endswith('.jsonl') else out


def errors_path(out: str) -> str:
    """Where the videos that could not be captioned are listed:
    ``OUT.errors.jsonl`` beside ``OUT.jsonl``."""
    return _stem(out) + '.errors.jsonl'


def file_digest(path: Optional[str], length: int = 16) -> Optional[str]:
    """The first ``length`` hex digits of a file's SHA-256 (None for no
    file): which checkpoint wrote a record."""
    if path is None:
        return None
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:length]


def segments_record(
    video: str, segments: List[dict], duration: Optional[float], run: Dict
) -> dict:
    """The record of a video captioned in segments: ``video``,
    ``segments`` (``start``, ``end`` in seconds, ``caption``, ``frames``
    each), ``duration`` and ``run``'s fields."""
    return dict(video=video, segments=segments, duration=duration, **run)


def caption_record(
    video: str, caption: str, metainfo: Dict, run: Dict
) -> dict:
    """The record of one captioned video: ``video`` (the path as given),
    ``caption``, ``duration`` (seconds, when the video's frame rate is
    known), ``frames`` (the frame indices the model saw) and ``run``'s
    fields (config, checkpoint digest)."""
    frames = metainfo.get('frame_inds')
    total, fps = metainfo.get('total_frames'), metainfo.get('avg_fps')
    duration = None
    if total is not None and fps:
        duration = round(float(total) / float(fps), 3)
    return dict(
        video=video,
        caption=caption,
        duration=duration,
        frames=[int(i) for i in frames] if frames is not None else None,
        **run,
    )
