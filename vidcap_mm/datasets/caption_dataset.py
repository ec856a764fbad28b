"""Video captioning dataset reading the LAVIS JSON annotation layout, and
its MSR-VTT, MSVD and VATEX presets."""

import logging
import os.path as osp
import random
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmaction.utils import ConfigType
from mmengine.fileio import exists
from mmengine.logging import print_log

from .annotation_files import AnnotationError, file_not_found, read_json_file
from .sample_random_state import SampleRandomState
from .transforms.loading import VideoReadError

TRAIN_SAMPLES = ('per_caption', 'per_video')


@DATASETS.register_module()
class VideoCaptionDataset(BaseActionDataset):
    """Video captioning dataset in the LAVIS JSON layout.

    The annotation file is a JSON list of records, one per caption (train
    files) or one per video (val / test files)::

        [
            {"video": "video7010.mp4", "caption": "a man is talking",
             "image_id": "video7010"},
            {"video": "video7011.mp4",
             "caption": ["a dog runs", "a dog is running"],
             "image_id": "video7011"},
        ]

    ``video`` is relative to ``data_prefix['video']``; ``caption`` is a
    string or a list of strings; ``image_id`` (or ``video_id``) is the video
    id and falls back to the file stem when missing. Records of one video
    are merged: its references are all its captions in file order.

    Samples:

    - train (``test_mode=False``), ``train_samples='per_caption'``: one
      sample per caption, the seed's way;
    - train, ``train_samples='per_video'``: one sample per video whose
      ``caption`` is drawn at random from its references at every fetch (so
      anew every epoch);
    - ``test_mode=True``: one sample per video, in the order the ids first
      appear, ``caption`` its first reference.

    Every sample carries ``gt_captions``, all references of its video (the
    metric and the SCST reward score against them), and
    :meth:`get_references` returns them all without touching any video.

    Bad input. The annotation file must exist and be a JSON list, UTF-8
    with or without a byte-order mark (else ``FileNotFoundError`` /
    :class:`AnnotationError` naming it; the former also gives the absolute
    path a relative one resolved to, the current directory and the
    ``data_root`` it was joined to). A record
    that is not an object, lacks ``video`` or ``caption``, has an empty
    caption, or gives a video id another file (or a file another id) than
    an earlier record raises :class:`AnnotationError` naming the file and
    the record index. A video that cannot be read raises
    :class:`~vidcap_mm.datasets.transforms.VideoReadError` naming the
    video, its id, the annotation file and the record. With
    ``skip_invalid=True`` bad records are dropped at load (counted, one
    warning listing them) and, in training, unreadable videos are replaced
    by another random sample (counted in :attr:`skipped_videos` per
    process, and logged once per epoch per file: when the sampler asks for
    the video's first sample, not when a random replacement hits it).
    Evaluation never skips a video: scores on a silently smaller set would
    be wrong.

    Another annotation format (e.g. a CSV file of ``video,caption`` rows,
    read by :func:`~vidcap_mm.datasets.read_csv_records`) needs a subclass
    overriding :meth:`load_records` and :meth:`record_name` only;
    everything above then applies to it.

    Data infos hold ``filename`` (full video path), ``video_id``,
    ``caption``, ``gt_captions``, ``record_index`` (the video's first
    record), ``start_index`` and ``modality``.

    Args:
        ann_file (str): Path to the JSON annotation file, relative to
            ``data_root`` when that is set. Defaults to
            ``annotations/{split}.json`` when ``split`` is given.
        pipeline (List[Union[dict, ConfigDict, Callable]]): A sequence of
            data transforms.
        data_prefix (dict or ConfigDict, optional): Directory of the videos
            under key ``video``. Defaults to ``dict(video='')``
            (``dict(video='videos')`` when ``split`` is given).
        split (str, optional): One of :attr:`SPLITS`; fills the defaults of
            ``ann_file``, ``data_prefix`` and ``test_mode`` (True except for
            ``'train'``). Defaults to None.
        test_mode (bool, optional): One sample per video with all its
            references. Defaults to False, or ``split != 'train'``.
        train_samples (str): ``'per_caption'`` or ``'per_video'`` (see
            above); ignored in test mode. Defaults to ``'per_caption'``.
        skip_invalid (bool): Skip bad records and, in training, unreadable
            videos instead of raising. Defaults to False.
        **kwargs: Other arguments of :class:`BaseActionDataset`.
    """

    #: Splits a preset knows; the converters in ``tools/data`` write
    #: ``annotations/{split}.json`` for each.
    SPLITS: Tuple[str, ...] = ('train', 'val', 'test')

    def __init__(
        self,
        ann_file: str = '',
        pipeline: Sequence[Union[ConfigType, Callable]] = (),
        data_prefix: Optional[ConfigType] = None,
        split: Optional[str] = None,
        test_mode: Optional[bool] = None,
        train_samples: str = 'per_caption',
        skip_invalid: bool = False,
        **kwargs,
    ) -> None:
        if split is not None and split not in self.SPLITS:
            raise ValueError(
                f'{self.__class__.__name__}: split must be one of '
                f'{self.SPLITS}, got {split!r}'
            )
        origin = f'ann_file {ann_file!r}'
        if not ann_file:
            if split is None:
                raise ValueError(
                    f'{self.__class__.__name__}: give ann_file or split'
                )
            ann_file = osp.join('annotations', f'{split}.json')
            origin = f'ann_file {ann_file!r} (from split={split!r})'
        # mmengine joins ann_file to data_root before we read it; a missing
        # file's message says so.
        self._ann_file_origin = (ann_file, origin)
        if data_prefix is None:
            data_prefix = dict(video='' if split is None else 'videos')
        if test_mode is None:
            test_mode = split is not None and split != 'train'
        if train_samples not in TRAIN_SAMPLES:
            raise ValueError(
                f'train_samples must be one of {TRAIN_SAMPLES}, got '
                f'{train_samples!r}'
            )
        self.split = split
        self.train_samples = train_samples
        self.skip_invalid = skip_invalid
        self._references: Dict[str, Tuple[str, ...]] = {}
        # Video id -> index of its first sample: a skipped video is logged
        # when the sampler asks for that one, so once per epoch.
        self._first_sample: Dict[str, int] = {}
        self._requested: Optional[int] = None
        #: Unreadable videos skipped in this process: filename -> count.
        self.skipped_videos: Dict[str, int] = {}
        #: Per-sample random streams for exact resume (see
        #: :class:`SampleRandomState`); off until a training run seeds it.
        self.random_state = SampleRandomState()
        super().__init__(
            ann_file,
            pipeline=list(pipeline),
            data_prefix=data_prefix,
            test_mode=test_mode,
            **kwargs,
        )

    # Annotation loading -------------------------------------------------

    def load_data_list(self) -> List[dict]:
        """Load the annotation file into a list of data infos.

        Returns:
            List[dict]: One data info per caption or per video (see the
            class docstring).

        Raises:
            FileNotFoundError: If the annotation file does not exist.
            AnnotationError: If the file is not a JSON list of valid records
                (bad records only without ``skip_invalid``).
        """
        records = self._load_records()

        videos: Dict[str, dict] = {}
        files: Dict[str, str] = {}  # video file -> id, to catch conflicts
        samples = []  # (video_id, caption) in file order, for train mode
        problems = []
        for idx, record in enumerate(records):
            try:
                video_id, video, captions = self._parse_record(record, idx)
                self._check_consistent(videos, files, video_id, video, idx)
            except AnnotationError as err:
                if not self.skip_invalid:
                    raise
                problems.append(str(err))
                continue
            entry = videos.get(video_id)
            if entry is None:
                entry = videos[video_id] = dict(
                    video=video, captions=[], record=idx
                )
                files[video] = video_id
            entry['captions'].extend(captions)
            samples.extend((video_id, caption) for caption in captions)

        if problems:
            print_log(
                f'{self.ann_file}: skipped {len(problems)} invalid '
                f'record(s) of {len(records)} (skip_invalid=True): '
                + '; '.join(problems[:5])
                + ('; ...' if len(problems) > 5 else ''),
                logger='current',
                level=logging.WARNING,
            )
        if not videos:
            raise AnnotationError(
                f'{self.ann_file}: no valid record among {len(records)}'
            )

        self._references = {
            video_id: tuple(entry['captions'])
            for video_id, entry in videos.items()
        }
        video_root = self.data_prefix.get('video', '') or ''

        def info(video_id: str, caption: str) -> dict:
            entry = videos[video_id]
            return dict(
                filename=osp.join(video_root, entry['video']),
                video_id=video_id,
                caption=caption,
                record_index=entry['record'],
            )

        if self.test_mode or self.train_samples == 'per_video':
            data_list = [
                info(video_id, entry['captions'][0])
                for video_id, entry in videos.items()
            ]
        else:
            data_list = [
                info(video_id, caption) for video_id, caption in samples
            ]
        self._first_sample = {}
        for idx, data_info in enumerate(data_list):
            self._first_sample.setdefault(data_info['video_id'], idx)
        return data_list

    def _load_records(self) -> list:
        """Read the annotation file and check that it is a non-empty list."""
        if not exists(self.ann_file):
            given, origin = self._ann_file_origin
            joined = ''
            if self.data_root and self.ann_file != given:
                joined = f'{origin} joined to data_root {self.data_root!r}'
            raise file_not_found(self.ann_file, joined=joined)
        records = self.load_records()
        if not records:
            raise AnnotationError(f'{self.ann_file}: holds no records')
        return records

    def load_records(self) -> list:
        """Read the records of ``self.ann_file`` (which exists).

        Override this, and :meth:`record_name`, to read another file
        format: the records are then checked, merged per video and turned
        into samples as the JSON ones are.

        Returns:
            list: The records in file order, each a dict with ``video``,
            ``caption`` and optionally ``image_id`` or ``video_id`` (see
            the class docstring).

        Raises:
            AnnotationError: If the file is blank, not JSON or not a list.
        """
        records = read_json_file(
            self.ann_file, 'a JSON list of records (LAVIS layout)'
        )
        if not isinstance(records, list):
            raise AnnotationError(
                f'{self.ann_file}: expected a JSON list of records, got '
                f'{type(records).__name__}'
            )
        return records

    def record_name(self, idx: int) -> str:
        """How error messages name record ``idx`` of the annotation file.

        Args:
            idx (int): The index in the list :meth:`load_records` returns.

        Returns:
            str: ``'record {idx}'``; a subclass reading rows of a table
            may say ``'row {n}'`` as a spreadsheet numbers it.
        """
        return f'record {idx}'

    def _parse_record(self, record, idx: int) -> tuple:
        """Check one record and return ``(video_id, video, captions)``.

        Args:
            record: One element of the annotation list.
            idx (int): Its index in the list, for error messages.

        Returns:
            tuple: The video id (str), the video file relative to
            ``data_prefix['video']`` (str) and the captions (list[str]).
        """
        where = f'{self.ann_file}: {self.record_name(idx)}'
        if not isinstance(record, dict):
            raise AnnotationError(
                f'{where} is a {type(record).__name__}, not an object'
            )
        for key in ('video', 'caption'):
            if key not in record:
                raise AnnotationError(f'{where} has no {key!r} field')

        video = record['video']
        if not isinstance(video, str) or not video.strip():
            raise AnnotationError(
                f'{where}: "video" must be a non-empty string'
            )

        captions = record['caption']
        if isinstance(captions, str):
            captions = [captions]
        if (
            not isinstance(captions, list)
            or not captions
            or not all(isinstance(c, str) for c in captions)
        ):
            raise AnnotationError(
                f'{where}: "caption" must be a string or a non-empty list '
                'of strings'
            )
        for k, caption in enumerate(captions):
            if not caption.strip():
                which = '' if len(captions) == 1 else f' {k}'
                raise AnnotationError(f'{where}: caption{which} is empty')

        # MSVD / VATEX style files may hold integer ids; ids are compared
        # and reported as strings everywhere else.
        video_id = record.get('image_id', record.get('video_id'))
        if video_id is None:
            video_id = osp.splitext(osp.basename(video))[0]
        return str(video_id), video, captions

    def _check_consistent(
        self,
        videos: Dict[str, dict],
        files: Dict[str, str],
        video_id: str,
        video: str,
        idx: int,
    ) -> None:
        """Raise if a record contradicts an earlier one about a video."""
        where = f'{self.ann_file}: {self.record_name(idx)}'
        entry = videos.get(video_id)
        if entry is not None and entry['video'] != video:
            raise AnnotationError(
                f'{where} gives video id {video_id!r} the file {video!r}, '
                f'but {self.record_name(entry["record"])} gave it '
                f'{entry["video"]!r}'
            )
        other = files.get(video)
        if other is not None and other != video_id:
            raise AnnotationError(
                f'{where} gives the file {video!r} the video id '
                f'{video_id!r}, but '
                f'{self.record_name(videos[other]["record"])} gave it '
                f'{other!r}'
            )

    # Samples ------------------------------------------------------------

    def get_references(self) -> Dict[str, List[str]]:
        """All reference captions of every video, read at load time.

        Returns:
            dict[str, list[str]]: Video id -> its captions, in file order.
        """
        if not self._fully_initialized:  # built with lazy_init=True
            self.full_init()
        return {k: list(v) for k, v in self._references.items()}

    def get_data_info(self, idx: int) -> dict:
        """Get the data info of a sample, with all its video's references.

        Args:
            idx (int): Sample index.

        Returns:
            dict: The data info (see the class docstring).
        """
        data_info = super().get_data_info(idx)
        refs = self._references[data_info['video_id']]
        data_info['gt_captions'] = list(refs)
        if not self.test_mode and self.train_samples == 'per_video':
            data_info['caption'] = random.choice(refs)
        return data_info

    def __getitem__(self, idx: int) -> dict:
        # Remember which index the sampler asked for: mmengine's
        # __getitem__ then calls prepare_data with it and, if that returns
        # None, with random replacements.
        self._requested = idx
        with self.random_state.for_sample(idx):
            return super().__getitem__(idx)

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx``.

        Args:
            idx (int): Sample index.

        Returns:
            dict or None: The pipeline's output; None for an unreadable
            video under ``skip_invalid`` in training, which makes
            :meth:`__getitem__` fetch another sample.

        Raises:
            VideoReadError: If the video cannot be read (naming the
                annotation file and record).
        """
        # Only the first call of a __getitem__ is the sampler's request.
        requested, self._requested = self._requested == idx, None
        data_info = self.get_data_info(idx)
        try:
            return self.pipeline(data_info)
        except VideoReadError as err:
            context = (
                f'{self.ann_file}: '
                f'{self.record_name(data_info["record_index"])} '
                f'(video id {data_info["video_id"]!r})'
            )
            if not self.skip_invalid or self.test_mode:
                raise VideoReadError(
                    err.filename, f'{err.reason}; from {context}', err.video_id
                ) from None
            count = self.skipped_videos.get(err.filename, 0) + 1
            self.skipped_videos[err.filename] = count
            first = self._first_sample.get(data_info['video_id'])
            if requested and idx == first:
                print_log(
                    f'skip_invalid: skipped unreadable video {err} (from '
                    f'{context}), {count} time(s) in this process; '
                    f'{len(self.skipped_videos)} file(s) skipped here so far',
                    logger='current',
                    level=logging.WARNING,
                )
            return None


@DATASETS.register_module()
class MSRVTTCaptionDataset(VideoCaptionDataset):
    """MSR-VTT captions (10,000 clips, 20 references each).

    Splits as ``tools/data/msrvtt/convert_annotations.py`` writes them from
    the official files: ``train`` (6,513 videos), ``val`` (497), ``test``
    (2,990); video ids ``video0`` ... ``video9999``, files
    ``videos/video{N}.mp4``.
    """


@DATASETS.register_module()
class MSVDCaptionDataset(VideoCaptionDataset):
    """MSVD (YouTube2Text) captions (1,970 clips, about 40 English
    references each).

    Splits as ``tools/data/msvd/convert_annotations.py`` writes them: the
    standard ``train`` (``vid1``-``vid1200``), ``val`` (``vid1201``-
    ``vid1300``) and ``test`` (``vid1301``-``vid1970``); files
    ``videos/{youtube_id}_{start}_{end}.avi``.
    """


@DATASETS.register_module()
class VATEXCaptionDataset(VideoCaptionDataset):
    """VATEX English captions (10 references each).

    Splits as ``tools/data/vatex/convert_annotations.py`` writes them:
    ``train`` from ``vatex_training_v1.0.json``, ``val`` from
    ``vatex_validation_v1.0.json`` and, when its English captions are given,
    ``test`` from the public test file; files ``videos/{videoID}.mp4``.
    """
