"""Videos to caption through a PyTorch DataLoader: the test pipeline runs in
its workers, batch by batch, in input order.

Captioning many videos is decoding bound on CPU workers and generation
bound on the model: a ``DataLoader`` over an ``IterableDataset`` keeps the
two apart without holding the list of videos (a folder or list file is
read as it goes; see :func:`~.video_inputs.iter_video_files`). Batches are
made in the dataset, and worker ``k`` of ``W`` loads batches ``k``,
``k + W``, ...: the loader hands them back round-robin, so in input order.
Over several processes, process ``r`` of ``R`` takes batches ``r``,
``r + R``, ... first and its workers share those.
"""

import copy
from typing import (
    Callable,
    Container,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from vidcap_mm.datasets import VideoReadError

from .shots import Shots, shot_windows
from .video_inputs import VideoInput

# The test pipeline's first step that opens a file; frames in memory take
# its place (mmaction's DecordInit included: its DecordDecode reads the
# same reader interface).
_DECORD_INITS = ('DecordVideoInit', 'DecordInit')
# What a captioning record says of the video besides the frames used.
_VIDEO_META = ('total_frames', 'avg_fps')
# Frame samplers (a segment's window is applied to them), each with the
# argument that says how many frames it samples.
_SAMPLERS = dict(
    EvenlySpacedSample='num_frames',
    HeadTailSample='num_frames',
    UniformSample='clip_len',
)


class LoadedVideo(NamedTuple):
    """One video through the test pipeline, or why not.

    Attributes:
        item (VideoInput): The video.
        data (dict | list[dict], optional): The pipeline's packed output
            (``inputs``, ``data_samples``); one per window in segments.
        error (str, optional): Why it could not be read.
        windows (list[tuple[float, float]], optional): In segments: each
            window's start and end in seconds.
        duration (float, optional): In segments: the video's length in
            seconds.
    """

    item: VideoInput
    data: Optional[Union[dict, List[dict]]] = None
    error: Optional[str] = None
    windows: Optional[List[Tuple[float, float]]] = None
    duration: Optional[float] = None


def frame_array_pipeline(test_pipeline: Sequence[dict]) -> List:
    """``test_pipeline`` with its decord opening step replaced by
    :class:`~vidcap_mm.datasets.FrameArrayInit` (same ``resize`` and
    ``min_frames``).

    Raises:
        ValueError: If the pipeline has no such step.
    """
    steps = [copy.deepcopy(dict(step)) for step in test_pipeline]
    for i, step in enumerate(steps):
        if step.get('type') in _DECORD_INITS:
            steps[i] = dict(
                type='FrameArrayInit',
                resize=step.get('resize'),
                min_frames=step.get('min_frames', 1),
            )
            return steps
    raise ValueError(
        'Captioning frame arrays needs a test pipeline that opens videos '
        f'with one of {_DECORD_INITS}; this one has '
        f'{[step.get("type") for step in steps]}.'
    )


def windowed_pipeline(test_pipeline: Sequence[dict]) -> List[dict]:
    """``test_pipeline`` with its frame sampler wrapped in
    :class:`~vidcap_mm.datasets.transforms.SampleInWindow`, so that a
    segment's window restricts where it samples.

    Raises:
        ValueError: If the pipeline has no sampler of ``_SAMPLERS``.
    """
    steps = [copy.deepcopy(dict(step)) for step in test_pipeline]
    i = _sampler_index(steps, 'Captioning in segments')
    steps[i] = dict(type='SampleInWindow', sample=steps[i])
    return steps


def sampled_frames_pipeline(
    test_pipeline: Sequence[dict], num_frames: int
) -> List[dict]:
    """``test_pipeline`` with its frame sampler set to sample
    ``num_frames`` frames.

    Raises:
        ValueError: If ``num_frames`` is below 1, or the pipeline has no
            sampler of ``_SAMPLERS``.
    """
    if int(num_frames) != num_frames or num_frames < 1:
        raise ValueError(
            f'num_frames must be a whole number >= 1, got {num_frames!r}'
        )
    steps = [copy.deepcopy(dict(step)) for step in test_pipeline]
    sampler = steps[_sampler_index(steps, 'Choosing the number of frames')]
    sampler[_SAMPLERS[sampler['type']]] = int(num_frames)
    return steps


def frames_sampled(test_pipeline: Sequence[dict]) -> int:
    """How many frames the pipeline's frame sampler samples.

    Raises:
        ValueError: If the pipeline has no sampler of ``_SAMPLERS``.
    """
    steps = list(test_pipeline)
    sampler = steps[_sampler_index(steps, 'Counting sampled frames')]
    return int(sampler[_SAMPLERS[sampler['type']]])


def _sampler_index(steps: List[dict], purpose: str) -> int:
    for i, step in enumerate(steps):
        if step.get('type') in _SAMPLERS:
            return i
    raise ValueError(
        f'{purpose} needs a test pipeline with a frame sampler '
        f'({", ".join(_SAMPLERS)}); this one has '
        f'{[step.get("type") for step in steps]}.'
    )


def segment_windows(
    total_frames: int, fps: float, seconds: float, stride: float
) -> List[Tuple[Tuple[float, float], Tuple[int, int]]]:
    """The windows of a video of ``total_frames`` at ``fps``: from 0,
    every ``stride`` seconds, ``seconds`` long, the last cut at the
    video's end. Returns ``((start, end) seconds, (first, end) frames)``
    per window, each holding at least one frame."""
    duration = total_frames / fps
    windows, start = [], 0.0
    while start < duration:
        end = min(start + seconds, duration)
        first = min(int(round(start * fps)), total_frames - 1)
        last = max(first + 1, min(total_frames, int(round(end * fps))))
        windows.append(((round(start, 3), round(end, 3)), (first, last)))
        start = round(start + stride, 6)
    return windows


def _with_video_meta(test_pipeline: Sequence[dict]) -> List[dict]:
    """The pipeline whose packing step also keeps the video's length and
    frame rate (for the duration in captioning records)."""
    steps = [copy.deepcopy(dict(step)) for step in test_pipeline]
    for step in steps:
        if step.get('type') == 'PackCaptionInputs':
            keys = step.get(
                'meta_keys',
                ('video_id', 'filename', 'frame_inds', 'img_shape'),
            )
            step['meta_keys'] = tuple(keys) + tuple(
                k for k in _VIDEO_META if k not in keys
            )
    return steps


class VideoInputDataset(IterableDataset):
    """Batches of videos through a test pipeline.

    Args:
        videos (Callable[[], Iterable[VideoInput]]): Gives the videos, each
            time anew (every worker walks them and keeps its share).
        test_pipeline (Sequence[dict]): The config's test pipeline.
        batch_size (int): Videos per batch.
        skip (Container[str], optional): Paths (or names, for frames in
            memory) to leave out, e.g. those already captioned.
        default_scope (str): The registry scope the pipeline is built in.
        shard (tuple[int, int]): ``(rank, world_size)``: this process's
            share of the batches. Defaults to ``(0, 1)``: all of them.
        segments (tuple[float, float] | Shots, optional):
            ``(seconds, stride)``: caption each video in windows of
            ``seconds``, one starting every ``stride`` seconds; a
            :class:`~.shots.Shots`: one window per shot. Each window is
            sampled by the pipeline's own sampler within it. Defaults to
            None (one caption per video).
    """

    def __init__(
        self,
        videos: Callable[[], Iterable[VideoInput]],
        test_pipeline: Sequence[dict],
        batch_size: int = 1,
        skip: Optional[Container[str]] = None,
        default_scope: str = 'mmaction',
        shard: Tuple[int, int] = (0, 1),
        segments: Union[None, Tuple[float, float], Shots] = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.videos = videos
        self.test_pipeline = _with_video_meta(test_pipeline)
        self.segments = segments
        if isinstance(segments, Shots):
            segments.check()
        elif segments is not None:
            seconds, stride = segments
            if not (seconds > 0 and stride > 0):
                raise ValueError(
                    'segments must be (seconds, stride) > 0, got '
                    f'{segments}'
                )
        if segments is not None:
            self.test_pipeline = windowed_pipeline(self.test_pipeline)
        self.batch_size = batch_size
        self.skip = skip if skip is not None else ()
        self.default_scope = default_scope
        self.rank, self.world_size = shard
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'shard must be (rank, world_size), got {shard}')
        self._pipelines = {}

    def batches(self) -> Iterator[List[VideoInput]]:
        """The videos to caption, in batches, in order."""
        batch = []
        for item in self.videos():
            if video_key(item) in self.skip:
                continue
            batch.append(item)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def __iter__(self) -> Iterator[List[LoadedVideo]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        init_default_scope(self.default_scope)
        mine = (
            batch
            for index, batch in enumerate(self.batches())
            if index % self.world_size == self.rank
        )
        for index, batch in enumerate(mine):
            if index % workers == worker:
                yield [self.load(item) for item in batch]

    def load(self, item: VideoInput) -> LoadedVideo:
        """One video through the pipeline; a video that cannot be read, for
        any reason, gives its error instead."""
        if item.error is not None:
            return LoadedVideo(item, error=item.error)
        in_memory = item.frames is not None
        try:
            if self.segments is not None:
                return self._load_segments(item, self._pipeline(in_memory))
            return LoadedVideo(item, self._pipeline(in_memory)(_inputs(item)))
        except VideoReadError as err:
            return LoadedVideo(item, error=err.reason)
        except Exception as err:  # a decoder's own failure, or worse
            return LoadedVideo(item, error=f'{type(err).__name__}: {err}')

    def _load_segments(self, item: VideoInput, pipeline: Compose):
        # The opening step alone gives the length and frame rate (its
        # reader is then reused for every window).
        opened = pipeline.transforms[0](_inputs(item))
        total, fps = int(opened['total_frames']), opened.get('avg_fps')
        if not fps:
            return LoadedVideo(
                item, error='no frame rate known: cannot cut it in segments'
            )
        if isinstance(self.segments, Shots):
            reader = opened['video_reader']
            windows = shot_windows(reader, total, float(fps), self.segments)
        else:
            windows = segment_windows(total, float(fps), *self.segments)
        return LoadedVideo(
            item,
            data=[pipeline(dict(_inputs(item), window=f)) for _, f in windows],
            windows=[seconds for seconds, _ in windows],
            duration=round(total / float(fps), 3),
        )

    def _pipeline(self, in_memory: bool) -> Compose:
        if in_memory not in self._pipelines:
            steps = self.test_pipeline
            if in_memory:
                steps = frame_array_pipeline(steps)
            self._pipelines[in_memory] = Compose(steps)
        return self._pipelines[in_memory]


def video_key(item: VideoInput) -> str:
    """What identifies a video in captioning records: its path as given
    (its name for frames in memory or a bad list entry)."""
    return item.path if item.path is not None else item.name


def _keep(batch):
    return batch


def caption_loader(
    dataset: VideoInputDataset, num_workers: int = 0
) -> DataLoader:
    """A DataLoader of ``dataset``'s batches (``num_workers`` processes
    decoding ahead; 0: in this process)."""
    return DataLoader(
        dataset,
        batch_size=None,
        num_workers=num_workers,
        collate_fn=_keep,
        prefetch_factor=2 if num_workers > 0 else None,
    )


def _inputs(item: VideoInput) -> dict:
    # The keys the caption datasets give their test pipelines.
    data = dict(
        filename=item.path if item.frames is None else item.name,
        video_id=item.name,
        start_index=0,
        modality='RGB',
    )
    if item.frames is not None:
        data['frame_array'] = item.frames
    return data
