"""Video captioning dataset reading the LAVIS JSON annotation layout."""

import os.path as osp
from typing import Callable, Dict, List, Optional, Union

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmaction.utils import ConfigType
from mmengine.fileio import exists, load


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
    string or a list of strings; ``image_id`` is the video id and falls back
    to the file stem when missing.

    In train mode (``test_mode=False``) every caption is one sample, so a
    record with a list of captions gives one sample per caption. In test
    mode every video is one sample (records grouped by video id, in the
    order the ids first appear), with ``caption`` its first reference. In
    both modes ``gt_captions`` holds all references of the video found in
    the file.

    Each data info holds ``filename`` (full video path), ``video_id``,
    ``caption``, ``gt_captions``, ``start_index`` and ``modality``.

    Args:
        ann_file (str): Path to the JSON annotation file.
        pipeline (List[Union[dict, ConfigDict, Callable]]): A sequence of
            data transforms.
        data_prefix (dict or ConfigDict, optional): Directory of the videos
            under key ``video``. Defaults to ``dict(video='')``.
        test_mode (bool): One sample per video instead of one per caption.
            Defaults to False.
        **kwargs: Other arguments of :class:`BaseActionDataset`.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: List[Union[ConfigType, Callable]],
        data_prefix: Optional[ConfigType] = None,
        test_mode: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(
            ann_file,
            pipeline=pipeline,
            data_prefix=dict(video='') if data_prefix is None else data_prefix,
            test_mode=test_mode,
            **kwargs,
        )

    def load_data_list(self) -> List[dict]:
        """Load the annotation file into a list of data infos.

        Returns:
            List[dict]: One data info per caption (train mode) or per video
            (test mode).

        Raises:
            FileNotFoundError: If the annotation file does not exist.
            ValueError: If the file is not a JSON list of valid records.
        """
        records = self._load_records()

        # Group captions by video first so that every sample, in either
        # mode, can carry all references of its video.
        videos: Dict[str, dict] = {}
        samples = []  # (video_id, caption) in file order, for train mode
        for idx, record in enumerate(records):
            video_id, video, captions = self._parse_record(record, idx)
            entry = videos.get(video_id)
            if entry is None:
                entry = videos[video_id] = dict(video=video, captions=[])
            elif entry['video'] != video:
                raise ValueError(
                    f'{self.ann_file}: record {idx} gives video id '
                    f'{video_id!r} the file {video!r}, but an earlier '
                    f'record gave it {entry["video"]!r}'
                )
            entry['captions'].extend(captions)
            samples.extend((video_id, caption) for caption in captions)

        video_root = self.data_prefix.get('video', '') or ''
        data_list = []
        if self.test_mode:
            for video_id, entry in videos.items():
                data_list.append(
                    dict(
                        filename=osp.join(video_root, entry['video']),
                        video_id=video_id,
                        caption=entry['captions'][0],
                        gt_captions=list(entry['captions']),
                    )
                )
        else:
            for video_id, caption in samples:
                entry = videos[video_id]
                data_list.append(
                    dict(
                        filename=osp.join(video_root, entry['video']),
                        video_id=video_id,
                        caption=caption,
                        gt_captions=list(entry['captions']),
                    )
                )
        return data_list

    def _load_records(self) -> list:
        """Read the annotation file and check that it is a non-empty list."""
        if not exists(self.ann_file):
            raise FileNotFoundError(
                f'Annotation file not found: {self.ann_file}'
            )
        try:
            records = load(self.ann_file, file_format='json')
        except ValueError as err:  # json.JSONDecodeError is a ValueError
            raise ValueError(
                f'{self.ann_file}: not valid JSON ({err})'
            ) from err
        if not isinstance(records, list):
            raise ValueError(
                f'{self.ann_file}: expected a JSON list of records, got '
                f'{type(records).__name__}'
            )
        if not records:
            raise ValueError(f'{self.ann_file}: holds no records')
        return records

    def _parse_record(self, record, idx: int) -> tuple:
        """Check one record and return ``(video_id, video, captions)``.

        Args:
            record: One element of the annotation list.
            idx (int): Its index in the list, for error messages.

        Returns:
            tuple: The video id (str), the video file relative to
            ``data_prefix['video']`` (str) and the captions (list[str]).
        """
        where = f'{self.ann_file}: record {idx}'
        if not isinstance(record, dict):
            raise ValueError(
                f'{where} is a {type(record).__name__}, not an object'
            )
        for key in ('video', 'caption'):
            if key not in record:
                raise ValueError(f'{where} has no {key!r} field')

        video = record['video']
        if not isinstance(video, str) or not video:
            raise ValueError(f'{where}: "video" must be a non-empty string')

        captions = record['caption']
        if isinstance(captions, str):
            captions = [captions]
        if (
            not isinstance(captions, list)
            or not captions
            or not all(isinstance(c, str) for c in captions)
        ):
            raise ValueError(
                f'{where}: "caption" must be a string or a non-empty list '
                'of strings'
            )

        # MSVD / VATEX style files may hold integer ids; ids are compared
        # and reported as strings everywhere else.
        video_id = record.get('image_id')
        if video_id is None:
            video_id = osp.splitext(osp.basename(video))[0]
        return str(video_id), video, captions
