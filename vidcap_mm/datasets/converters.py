"""Converters from the official MSR-VTT, MSVD and VATEX annotation files to
the LAVIS JSON layout read by :class:`VideoCaptionDataset`.

Each ``convert_*`` function returns ``{split: [(video_id, video_file,
captions), ...]}``; :func:`write_caption_splits` writes them as
``annotations/{split}.json`` (train: one record per caption; val / test: one
record per video with all its captions), the files the dataset presets read
with ``split=...``. ``tools/data/{msrvtt,msvd,vatex}`` hold the command-line
scripts, which call :func:`convert_and_write`.

Input files may start with a UTF-8 byte-order mark (spreadsheet programs
write one). Whatever a converter leaves out (blank captions, videos without
a caption, captions of clips the mapping does not know) is reported in a
:class:`ConversionWarning` with the count and a few examples; a file that
yields no video at all raises :class:`ConversionError`.
"""

import csv
import json
import os
import os.path as osp
import re
import warnings
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .annotation_files import AnnotationError, file_not_found, read_json_file

VideoEntry = Tuple[str, str, List[str]]
Splits = Dict[str, List[VideoEntry]]


class ConversionError(ValueError):
    """An official annotation file is not in the expected format."""


class ConversionWarning(UserWarning):
    """A converter left captions or videos out of what it returns."""


def _warn_dropped(message: str, examples: Sequence[str]) -> None:
    """Warn that ``len(examples)`` things were left out, naming a few.

    Args:
        message (str): What was left out, with ``{count}`` for the count.
        examples (Sequence[str]): One description per thing left out.
    """
    if not examples:
        return
    shown = ', '.join(examples[:5]) + (', ...' if len(examples) > 5 else '')
    warnings.warn(
        f"{message.replace('{count}', str(len(examples)))} (e.g. {shown})",
        ConversionWarning,
        stacklevel=3,
    )


def _load_json(path: str):
    """:func:`read_json_file`, failing with a :class:`ConversionError`."""
    if not osp.isfile(path):
        raise file_not_found(path)
    try:
        return read_json_file(path, 'JSON')
    except AnnotationError as err:
        raise ConversionError(str(err)) from err


def _field(item, key: str, where: str):
    if not isinstance(item, dict) or key not in item:
        raise ConversionError(f'{where}: expected an object with {key!r}')
    return item[key]


def _clean(
    captions: Iterable[Tuple[str, object]], blank: List[str]
) -> List[str]:
    """Strip captions and drop blank ones.

    Args:
        captions (Iterable[tuple]): ``(where, caption)`` pairs, ``where``
            saying where the caption comes from, for messages.
        blank (list[str]): Gets the ``where`` of every blank caption.

    Returns:
        list[str]: The stripped non-blank captions, in order.

    Raises:
        ConversionError: If a caption is not a string.
    """
    texts = []
    for where, caption in captions:
        if not isinstance(caption, str):
            raise ConversionError(
                f'{where}: expected a caption string, got {caption!r}'
            )
        if caption.strip():
            texts.append(caption.strip())
        else:
            blank.append(where)
    return texts


def write_caption_splits(
    splits: Splits, out_dir: str, train_splits: Iterable[str] = ('train',)
) -> Dict[str, str]:
    """Write ``annotations/{split}.json`` files in the LAVIS layout.

    Args:
        splits (dict): ``{split: [(video_id, video_file, captions)]}``.
        out_dir (str): The dataset root; files go to its ``annotations``.
        train_splits (Iterable[str]): Splits written one record per
            caption. Defaults to ``('train',)``.

    Returns:
        dict[str, str]: Split -> path of the written file.
    """
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    paths = {}
    for split, videos in splits.items():
        records = []
        for video_id, video, captions in videos:
            if split in train_splits:
                records.extend(
                    dict(video=video, caption=caption, image_id=video_id)
                    for caption in captions
                )
            else:
                records.append(
                    dict(video=video, caption=captions, image_id=video_id)
                )
        paths[split] = osp.join(ann_dir, f'{split}.json')
        with open(paths[split], 'w', encoding='utf-8') as f:
            json.dump(records, f, indent=1, ensure_ascii=False)
    return paths


MSRVTT_SPLITS = {'train': 'train', 'validate': 'val', 'test': 'test'}


def convert_msrvtt(
    ann_files: Iterable[str], video_ext: str = '.mp4'
) -> Splits:
    """Read MSR-VTT's ``train_val_videodatainfo.json`` and
    ``test_videodatainfo.json``.

    Each holds ``videos`` (``video_id``, ``split`` in ``train`` /
    ``validate`` / ``test``) and ``sentences`` (``video_id``, ``caption``).

    Args:
        ann_files (Iterable[str]): The official files.
        video_ext (str): Extension of the video files. Defaults to
            ``'.mp4'``.

    Returns:
        dict: ``{'train' | 'val' | 'test': [(video_id, file, captions)]}``,
        videos in file order, captions in ``sen_id`` order.
    """
    ann_files = list(ann_files)
    video_split: Dict[str, str] = {}
    video_file: Dict[str, str] = {}  # video id -> the file listing it
    captions: Dict[str, List[Tuple[int, str, object]]] = {}
    for path in ann_files:
        data = _load_json(path)
        videos = _field(data, 'videos', path)
        sentences = _field(data, 'sentences', path)
        for i, video in enumerate(videos):
            where = f'{path}: videos[{i}]'
            video_id = str(_field(video, 'video_id', where))
            split = _field(video, 'split', where)
            if split not in MSRVTT_SPLITS:
                raise ConversionError(
                    f'{where}: unknown split {split!r} (expected one of '
                    f'{sorted(MSRVTT_SPLITS)})'
                )
            if video_split.get(video_id, split) != split:
                raise ConversionError(
                    f'{where}: {video_id} is in {split!r} and in '
                    f'{video_split[video_id]!r}'
                )
            video_split[video_id] = split
            video_file.setdefault(video_id, path)
            captions.setdefault(video_id, [])
        for i, sentence in enumerate(sentences):
            where = f'{path}: sentences[{i}]'
            video_id = str(_field(sentence, 'video_id', where))
            caption = _field(sentence, 'caption', where)
            if video_id not in captions:
                raise ConversionError(
                    f'{where}: video {video_id!r} is not among the videos'
                )
            captions[video_id].append(
                (sentence.get('sen_id', i), where, caption)
            )

    splits: Splits = {name: [] for name in MSRVTT_SPLITS.values()}
    blank: List[str] = []
    uncaptioned: List[str] = []
    for video_id, split in video_split.items():
        texts = _clean(
            ((where, c) for _, where, c in sorted(captions[video_id])), blank
        )
        if texts:
            splits[MSRVTT_SPLITS[split]].append(
                (video_id, video_id + video_ext, texts)
            )
        else:
            uncaptioned.append(f'{video_id} of {video_file[video_id]}')
    _warn_dropped('dropped {count} blank caption(s)', blank)
    _warn_dropped('left out {count} video(s) without a caption', uncaptioned)
    if not any(splits.values()):
        raise ConversionError(
            f'{", ".join(ann_files)}: no video with a caption'
        )
    return {name: videos for name, videos in splits.items() if videos}


#: The standard MSVD split of ``vid1`` ... ``vid1970``.
MSVD_SPLITS = (('train', 1, 1200), ('val', 1201, 1300), ('test', 1301, 1970))


def _read_msvd_descriptions(path: str) -> Dict[str, List[Tuple[int, str]]]:
    """Clip name -> English ``(line number, caption)`` pairs, from
    ``AllVideoDescriptions.txt`` (``clip caption`` lines, ``#`` comments)
    or the corpus CSV (columns ``VideoID``, ``Start``, ``End``,
    ``Language``, ``Description``)."""
    if not osp.isfile(path):
        raise file_not_found(path)
    descriptions: Dict[str, List[Tuple[int, str]]] = {}
    with open(path, encoding='utf-8-sig', newline='') as f:
        if path.lower().endswith('.csv'):
            reader = csv.DictReader(f)
            needed = {'VideoID', 'Start', 'End', 'Language', 'Description'}
            missing = needed - set(reader.fieldnames or ())
            if missing:
                raise ConversionError(
                    f'{path}: missing columns {sorted(missing)} (the header '
                    f'has {reader.fieldnames})'
                )
            for row in reader:
                if row['Language'] != 'English':
                    continue
                clip = f'{row["VideoID"]}_{row["Start"]}_{row["End"]}'
                descriptions.setdefault(clip, []).append(
                    (reader.line_num, row['Description'])
                )
            return descriptions
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            clip, _, caption = line.partition(' ')
            if not caption.strip():
                raise ConversionError(
                    f'{path}:{lineno}: expected "<clip> <caption>", got '
                    f'{line!r}'
                )
            descriptions.setdefault(clip, []).append((lineno, caption))
    return descriptions


def convert_msvd(
    descriptions_file: str, mapping_file: str, video_ext: str = '.avi'
) -> Splits:
    """Read MSVD's descriptions and its clip-to-``vidN`` mapping.

    Left out, with a :class:`ConversionWarning` each: blank captions,
    captions of clips the mapping does not list, clips of the mapping
    without a caption, and clips numbered outside ``vid1``-``vid1970``.

    Args:
        descriptions_file (str): ``AllVideoDescriptions.txt`` or
            ``MSR Video Description Corpus.csv`` (English rows kept).
        mapping_file (str): ``youtube_mapping.txt``, lines
            ``<youtube id>_<start>_<end> vid<N>``.
        video_ext (str): Extension of the clip files (``YouTubeClips``).
            Defaults to ``'.avi'``.

    Returns:
        dict: ``{'train' | 'val' | 'test': [(vidN, file, captions)]}`` by
        the standard split (1-1200, 1201-1300, 1301-1970), in N order.

    Raises:
        ConversionError: If a file is malformed, or no clip of the mapping
            has a caption.
    """
    descriptions = _read_msvd_descriptions(descriptions_file)
    if not osp.isfile(mapping_file):
        raise file_not_found(mapping_file, 'Mapping file')
    numbered = []
    with open(mapping_file, encoding='utf-8-sig') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            match = re.fullmatch(r'(\S+)\s+vid(\d+)', line.strip())
            if match is None:
                raise ConversionError(
                    f'{mapping_file}:{lineno}: expected "<clip> vid<N>", '
                    f'got {line.strip()!r}'
                )
            numbered.append((int(match.group(2)), match.group(1)))
    splits: Splits = {name: [] for name, _, _ in MSVD_SPLITS}
    blank: List[str] = []
    uncaptioned: List[str] = []
    unnumbered: List[str] = []
    for number, clip in sorted(numbered):
        split = next(
            (
                name
                for name, first, last in MSVD_SPLITS
                if first <= number <= last
            ),
            None,
        )
        if split is None:
            unnumbered.append(f'vid{number} ({clip})')
            continue
        texts = _clean(
            (
                (f'{descriptions_file}:{lineno}', caption)
                for lineno, caption in descriptions.get(clip, ())
            ),
            blank,
        )
        if texts:
            splits[split].append((f'vid{number}', clip + video_ext, texts))
        else:
            uncaptioned.append(f'vid{number} ({clip})')
    mapped = {clip for _, clip in numbered}
    unmapped = [
        f'line {lineno}: {clip!r}'
        for clip, captions in descriptions.items()
        if clip not in mapped
        for lineno, _ in captions
    ]
    _warn_dropped('dropped {count} blank caption(s)', blank)
    _warn_dropped(
        f'{descriptions_file}: left out {{count}} caption(s) of clips that '
        f'{mapping_file} does not list',
        unmapped,
    )
    _warn_dropped(
        f'{mapping_file}: left out {{count}} clip(s) without a caption in '
        f'{descriptions_file}',
        uncaptioned,
    )
    _warn_dropped(
        f'{mapping_file}: left out {{count}} clip(s) numbered outside the '
        f'standard split vid{MSVD_SPLITS[0][1]}-vid{MSVD_SPLITS[-1][2]}',
        unnumbered,
    )
    if not any(splits.values()):
        raise ConversionError(
            f'no clip of {mapping_file} has a caption in {descriptions_file} '
            f'(clips there, e.g. {list(descriptions)[:3]}; in the mapping, '
            f'e.g. {[clip for _, clip in numbered[:3]]})'
        )
    return {name: videos for name, videos in splits.items() if videos}


def convert_vatex(
    train_file: Optional[str] = None,
    val_file: Optional[str] = None,
    test_file: Optional[str] = None,
    video_ext: str = '.mp4',
) -> Splits:
    """Read VATEX's JSON files (``videoID``, English ``enCap``).

    Args:
        train_file (str, optional): ``vatex_training_v1.0.json``.
        val_file (str, optional): ``vatex_validation_v1.0.json``.
        test_file (str, optional): A test file with English captions (e.g.
            ``vatex_public_test_english_v1.1.json``).
        video_ext (str): Extension of the video files. Defaults to
            ``'.mp4'``.

    Returns:
        dict: ``{'train' | 'val' | 'test': [(videoID, file, captions)]}``
        for the files given, in file order.
    """
    splits: Splits = {}
    for split, path in (
        ('train', train_file),
        ('val', val_file),
        ('test', test_file),
    ):
        if path is None:
            continue
        data = _load_json(path)
        if not isinstance(data, list):
            raise ConversionError(f'{path}: expected a JSON list of videos')
        videos = []
        blank: List[str] = []
        uncaptioned: List[str] = []
        for i, item in enumerate(data):
            where = f'{path}: item {i}'
            video_id = str(_field(item, 'videoID', where))
            captions = _field(item, 'enCap', where)
            if not isinstance(captions, list):
                raise ConversionError(f'{where}: "enCap" must be a list')
            texts = _clean(
                (
                    (f'item {i} ({video_id}) enCap[{k}]', caption)
                    for k, caption in enumerate(captions)
                ),
                blank,
            )
            if texts:
                videos.append((video_id, video_id + video_ext, texts))
            else:
                uncaptioned.append(f'item {i} ({video_id})')
        _warn_dropped(f'{path}: dropped {{count}} blank caption(s)', blank)
        _warn_dropped(
            f'{path}: left out {{count}} video(s) without an English caption',
            uncaptioned,
        )
        if not videos:
            raise ConversionError(
                f'{path}: no video with an English caption ("enCap") among '
                f'{len(data)}'
            )
        splits[split] = videos
    return splits


def summarize(
    splits: Splits, paths: Dict[str, str], notes: Sequence[str] = ()
) -> str:
    """One line per split (videos, captions and the file written), then one
    per note (e.g. what the converter left out)."""
    lines = []
    for split, videos in splits.items():
        num_captions = sum(len(captions) for _, _, captions in videos)
        lines.append(
            f'{split}: {len(videos)} videos, {num_captions} captions -> '
            f'{paths[split]}'
        )
    lines.extend(f'warning: {note}' for note in notes)
    return '\n'.join(lines)


def convert_and_write(
    convert: Callable[..., Splits], out_dir: str, *args, **kwargs
) -> str:
    """Run a converter, write its splits and return the summary to print.

    What the converter leaves out is reported in the summary: its
    :class:`ConversionWarning` messages are caught and become the summary's
    ``warning:`` lines, so that each is said once.

    Args:
        convert (Callable): One of the ``convert_*`` functions.
        out_dir (str): The dataset root (see :func:`write_caption_splits`).
        *args: Positional arguments of ``convert``.
        **kwargs: Keyword arguments of ``convert``.

    Returns:
        str: The summary (see :func:`summarize`).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ConversionWarning)
        splits = convert(*args, **kwargs)
    notes = []
    for warning in caught:
        if issubclass(warning.category, ConversionWarning):
            notes.append(str(warning.message))
        else:  # not ours: shown as it would have been
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
            )
    return summarize(splits, write_caption_splits(splits, out_dir), notes)
