"""Caption cleaning as the seed method does it."""

import re
from typing import Dict, Sequence, Union

from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

#: The characters the seed replaces by a space. Commas, apostrophes,
#: hyphens, question marks and slashes are kept ("a man's car, red").
SEED_PUNCTUATION = '.!"()*#:;~'


def clean_caption(
    text: str, max_words: int = 50, punctuation: str = SEED_PUNCTUATION
) -> str:
    """Lowercase, turn ``punctuation`` into spaces, collapse whitespace and
    keep at most ``max_words`` words.

    Args:
        text (str): A caption.
        max_words (int): Words kept, counted after cleaning. Defaults to 50.
        punctuation (str): Characters replaced by a space. Defaults to
            :data:`SEED_PUNCTUATION`.

    Returns:
        str: The cleaned caption.
    """
    if punctuation:
        text = re.sub(f'[{re.escape(punctuation)}]', ' ', text)
    words = text.lower().split()
    return ' '.join(words[:max_words])


@TRANSFORMS.register_module()
class CleanCaptionText(BaseTransform):
    """Clean captions the seed's way (see :func:`clean_caption`).

    Not mmpretrain's ``CleanCaption``, whose output differs: it deletes
    every ASCII punctuation character instead of replacing the seed's few by
    a space ("man's" -> "mans", "end.start" -> "endstart"), strips the text
    before removing punctuation (so "a dog ." keeps a trailing space) and
    has no word limit. Whitespace runs of any kind become one space here; the
    seed collapses only runs of two or more, so a lone tab or newline inside
    a caption survives there.

    Required Keys:

        - the keys in ``keys`` (str or list of str), those absent skipped

    Modified Keys:

        - the keys in ``keys``

    Args:
        keys (str or Sequence[str]): Result keys to clean. Defaults to
            ``'caption'`` (the training target; references are tokenised by
            the metric).
        max_words (int): Words kept. Defaults to 50.
        punctuation (str): Characters replaced by a space. Defaults to
            :data:`SEED_PUNCTUATION`.
    """

    def __init__(
        self,
        keys: Union[str, Sequence[str]] = 'caption',
        max_words: int = 50,
        punctuation: str = SEED_PUNCTUATION,
    ) -> None:
        self.keys = (keys,) if isinstance(keys, str) else tuple(keys)
        if max_words < 1:
            raise ValueError(f'max_words must be >= 1, got {max_words}')
        self.max_words = max_words
        self.punctuation = punctuation

    def _clean(self, text: str) -> str:
        return clean_caption(text, self.max_words, self.punctuation)

    def transform(self, results: Dict) -> Dict:
        """Clean the captions under ``keys``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict, captions cleaned.
        """
        for key in self.keys:
            if key not in results:
                continue
            value = results[key]
            if isinstance(value, str):
                results[key] = self._clean(value)
            else:
                results[key] = [self._clean(text) for text in value]
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(keys={self.keys}, '
            f'max_words={self.max_words}, '
            f'punctuation={self.punctuation!r})'
        )
