"""Converters from the official MSR-VTT, MSVD and VATEX annotation files to
the LAVIS JSON layout read by :class:`VideoCaptionDataset`.

Each ``convert_*`` function returns ``{split: [(video_id, video_file,
captions), ...]}``; :func:`write_caption_splits` writes them as
``annotations/{split}.json`` (train: one record per caption; val / test: one
record per video with all its captions), the files the dataset presets read
with ``split=...``. ``tools/data/{msrvtt,msvd,vatex}`` hold the command-line
scripts.
"""

import csv
import json
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Tuple

VideoEntry = Tuple[str, str, List[str]]
Splits = Dict[str, List[VideoEntry]]


class ConversionError(ValueError):
    """An official annotation file is not in the expected format."""


def _load_json(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except ValueError as err:
        raise ConversionError(f'{path}: not valid JSON ({err})') from err


def _field(item, key: str, where: str):
    if not isinstance(item, dict) or key not in item:
        raise ConversionError(f'{where}: expected an object with {key!r}')
    return item[key]


def _clean(captions: Iterable[str]) -> List[str]:
    """Strip captions and drop empty ones."""
    return [c.strip() for c in captions if isinstance(c, str) and c.strip()]


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
    video_split: Dict[str, str] = {}
    captions: Dict[str, List[Tuple[int, str]]] = {}
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
            captions.setdefault(video_id, [])
        for i, sentence in enumerate(sentences):
            where = f'{path}: sentences[{i}]'
            video_id = str(_field(sentence, 'video_id', where))
            caption = _field(sentence, 'caption', where)
            if video_id not in captions:
                raise ConversionError(
                    f'{where}: video {video_id!r} is not among the videos'
                )
            captions[video_id].append((sentence.get('sen_id', i), caption))

    splits: Splits = {name: [] for name in MSRVTT_SPLITS.values()}
    for video_id, split in video_split.items():
        texts = _clean(c for _, c in sorted(captions[video_id]))
        if texts:
            splits[MSRVTT_SPLITS[split]].append(
                (video_id, video_id + video_ext, texts)
            )
    return {name: videos for name, videos in splits.items() if videos}


#: The standard MSVD split of ``vid1`` ... ``vid1970``.
MSVD_SPLITS = (('train', 1, 1200), ('val', 1201, 1300), ('test', 1301, 1970))


def _read_msvd_descriptions(path: str) -> Dict[str, List[str]]:
    """Clip name -> English captions, from ``AllVideoDescriptions.txt``
    (``clip caption`` lines, ``#`` comments) or the corpus CSV (columns
    ``VideoID``, ``Start``, ``End``, ``Language``, ``Description``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    descriptions: Dict[str, List[str]] = {}
    with open(path, encoding='utf-8', newline='') as f:
        if path.lower().endswith('.csv'):
            reader = csv.DictReader(f)
            needed = {'VideoID', 'Start', 'End', 'Language', 'Description'}
            missing = needed - set(reader.fieldnames or ())
            if missing:
                raise ConversionError(
                    f'{path}: missing columns {sorted(missing)}'
                )
            for row in reader:
                if row['Language'] != 'English':
                    continue
                clip = f'{row["VideoID"]}_{row["Start"]}_{row["End"]}'
                descriptions.setdefault(clip, []).append(row['Description'])
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
            descriptions.setdefault(clip, []).append(caption)
    return descriptions


def convert_msvd(
    descriptions_file: str, mapping_file: str, video_ext: str = '.avi'
) -> Splits:
    """Read MSVD's descriptions and its clip-to-``vidN`` mapping.

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
    """
    descriptions = _read_msvd_descriptions(descriptions_file)
    if not osp.isfile(mapping_file):
        raise FileNotFoundError(f'Mapping file not found: {mapping_file}')
    numbered = []
    with open(mapping_file, encoding='utf-8') as f:
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
    for number, clip in sorted(numbered):
        texts = _clean(descriptions.get(clip, ()))
        if not texts:
            continue
        for name, first, last in MSVD_SPLITS:
            if first <= number <= last:
                splits[name].append((f'vid{number}', clip + video_ext, texts))
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
        for i, item in enumerate(data):
            where = f'{path}: item {i}'
            video_id = str(_field(item, 'videoID', where))
            captions = _field(item, 'enCap', where)
            if not isinstance(captions, list):
                raise ConversionError(f'{where}: "enCap" must be a list')
            texts = _clean(captions)
            if texts:
                videos.append((video_id, video_id + video_ext, texts))
        splits[split] = videos
    return splits


def summarize(splits: Splits, paths: Dict[str, str]) -> str:
    """One line per split: videos, captions and the file written."""
    lines = []
    for split, videos in splits.items():
        num_captions = sum(len(captions) for _, _, captions in videos)
        lines.append(
            f'{split}: {len(videos)} videos, {num_captions} captions -> '
            f'{paths[split]}'
        )
    return '\n'.join(lines)
