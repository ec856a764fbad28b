"""Timed captions as SubRip (.srt) and WebVTT (.vtt) subtitle files.

Both formats are a few lines of text per cue; writing them here keeps
webvtt-py / pysrt, which would add nothing else we use, out of the
dependencies.
"""

import os.path as osp
from typing import Dict, List, Sequence

from mmengine.utils import mkdir_or_exist


def _timestamp(seconds: float, separator: str) -> str:
    millis = int(round(max(seconds, 0.0) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f'{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}'


def srt_text(segments: Sequence[Dict]) -> str:
    """SubRip cues, numbered from 1: ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    cues = [
        f'{i}\n{_timestamp(s["start"], ",")} --> '
        f'{_timestamp(s["end"], ",")}\n{s["caption"]}\n'
        for i, s in enumerate(segments, start=1)
    ]
    return '\n'.join(cues)


def vtt_text(segments: Sequence[Dict]) -> str:
    """WebVTT: the header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues."""
    cues = [
        f'{_timestamp(s["start"], ".")} --> {_timestamp(s["end"], ".")}\n'
        f'{s["caption"]}\n'
        for s in segments
    ]
    return 'WEBVTT\n\n' + '\n'.join(cues)


def write_subtitles(
    folder: str, name: str, segments: Sequence[Dict]
) -> List[str]:
    """``folder/<name>.srt`` and ``folder/<name>.vtt`` (``name`` may hold
    subfolders, as a folder's video names do); returns their paths."""
    paths = []
    for ending, text in (('.srt', srt_text), ('.vtt', vtt_text)):
        path = osp.join(folder, name + ending)
        mkdir_or_exist(osp.dirname(osp.abspath(path)))
        with open(path, 'w', encoding='utf-8') as file:
            file.write(text(segments))
        paths.append(path)
    return paths
