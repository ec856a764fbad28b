"""Whether predicted captions of synthetic clips say what the clips show.

BLEU or CIDEr reward a caption for the n-grams it shares with the
references, and on the synthetic set almost every n-gram is template
wording: a caption with the wrong shape still scores well. This metric
reads the content back out of each caption with the grammar that wrote the
references and counts a caption as right only when it names exactly the
clip's shapes, their colours and the background.

The grammar is not imported here: the metric is handed its parser, by
default the one the synthetic clips register
(``'parse_synthetic_caption'`` in mmaction's ``TASK_UTILS`` registry,
:func:`vidcap_mm.datasets.synthetic.parse_caption`).
"""

import logging
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmaction.registry import METRICS, TASK_UTILS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from .caption_metric import caption_fields

#: What a parser reads out of a caption: an object with ``objects`` (the
#: coloured shapes, in a canonical order) and ``background``, or None for a
#: caption outside the grammar.
CaptionParser = Callable[[str], Optional[Any]]


@METRICS.register_module()
class SyntheticCaptionAccuracy(BaseMetric):
    """Share of synthetic clips whose predicted caption names their content.

    A clip's content (its shapes with their colours, and the background) is
    read from its references, which the synthetic set writes from the
    content, so no annotation field beyond the captions is needed. A
    prediction is read with the same grammar: any of its phrasings, with the
    shapes in any order. It is right when it names the same set of coloured
    shapes and the same background; a caption the grammar cannot read
    (cut short, a third shape, a stray word) is wrong on every count.

    Each video counts once (the first result of a repeated video is kept,
    as :class:`CaptionMetric` does).

    Returns ``accuracy`` (shapes, colours and background all right),
    ``objects_accuracy`` (the coloured shapes right) and
    ``background_accuracy``, shares in [0, 1], under the prefix
    ``synthetic`` by default (``synthetic/accuracy``).

    Args:
        parser (str | Callable): Reads a caption's content: a function
            name in mmaction's ``TASK_UTILS`` registry or the function itself
            (see :data:`CaptionParser`). Defaults to
            ``'parse_synthetic_caption'``, the synthetic clips' grammar.
        collect_device (str): Device used to collect results across ranks,
            'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to
            None, which uses ``'synthetic'``.
        collect_dir (str, optional): Directory shared by all ranks for
            collecting results when ``collect_device='cpu'``. Defaults to
            None.
    """

    default_prefix: Optional[str] = 'synthetic'

    def __init__(
        self,
        parser: Union[str, CaptionParser] = 'parse_synthetic_caption',
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
        collect_dir: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device, prefix, collect_dir)
        if isinstance(parser, str):
            found = TASK_UTILS.get(parser)
            if found is None:
                raise ValueError(
                    f'SyntheticCaptionAccuracy: no function {parser!r} in '
                    "mmaction's TASK_UTILS registry (import the module that "
                    'registers it; vidcap_mm registers '
                    "'parse_synthetic_caption')."
                )
            parser = found
        self.parser = parser

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store ``(video_id, objects right, background right)`` per sample.

        Args:
            data_batch (Any): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs with ``video_id``,
                ``pred_caption`` (str) and ``gt_captions`` (list[str], the
                synthetic set's references).

        Raises:
            KeyError, TypeError, ValueError: If a sample lacks one of those
                fields or holds another type (:func:`caption_fields`).
            ValueError: If a video's references are not all sentences of
                the synthetic grammar about one content (the metric is
                used on another dataset), naming the video and reference.
        """
        for sample in data_samples:
            video_id, pred, refs = caption_fields(
                sample, 'SyntheticCaptionAccuracy'
            )
            truth = self._content_of(video_id, refs)
            predicted = self.parser(pred)
            # Verdicts, not contents: MMEngine turns named tuples into plain
            # ones when it collects results.
            if predicted is None:
                verdict = (False, False)
            else:
                verdict = (
                    predicted.objects == truth.objects,
                    predicted.background == truth.background,
                )
            self.results.append((video_id, *verdict))

    def _content_of(self, video_id: Any, references: Sequence[str]) -> Any:
        """The one content all references of a video describe."""
        if isinstance(references, str) or not references:
            raise ValueError(
                f'SyntheticCaptionAccuracy: video {video_id!r}: '
                f'`gt_captions` must be a non-empty list, got {references!r}.'
            )
        contents = []
        for reference in references:
            content = self.parser(reference)
            if content is None:
                raise ValueError(
                    f'SyntheticCaptionAccuracy: video {video_id!r}: '
                    f'reference {reference!r} is not a caption of the '
                    'synthetic set (tools/data/make_synthetic_clips.py); '
                    'this metric only scores that set.'
                )
            contents.append(content)
        if any(content != contents[0] for content in contents):
            raise ValueError(
                f'SyntheticCaptionAccuracy: video {video_id!r}: its '
                f'references describe different clips: {list(references)}.'
            )
        return contents[0]

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Shares of videos whose prediction is right.

        Args:
            results (list): ``(video_id, objects right, background right)``
                from :meth:`process`, possibly repeating videos.

        Returns:
            dict[str, float]: ``accuracy``, ``objects_accuracy`` and
            ``background_accuracy``; empty, with a warning, without
            results.
        """
        videos: Dict[Any, Tuple[bool, bool]] = {}
        for video_id, objects, background in results:
            videos.setdefault(video_id, (objects, background))
        if not videos:
            print_log(
                'SyntheticCaptionAccuracy got no predictions: returning no '
                'metrics.',
                logger='current',
                level=logging.WARNING,
            )
            return {}
        num = len(videos)
        return dict(
            accuracy=sum(o and b for o, b in videos.values()) / num,
            objects_accuracy=sum(o for o, _ in videos.values()) / num,
            background_accuracy=sum(b for _, b in videos.values()) / num,
        )
