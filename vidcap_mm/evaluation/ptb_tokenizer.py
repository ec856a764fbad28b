"""A pure-Python PTB tokenizer that gives pycocoevalcap's tokens.

pycocoevalcap's ``PTBTokenizer`` writes the captions of one call to a file,
one per line, runs Stanford CoreNLP 3.4.1's ``PTBTokenizer -preserveLines
-lowerCase`` on it in a JVM and drops a fixed list of punctuation tokens.
:class:`PTBTokenizer` here reproduces that output without Java: a
longest-match lexer with the token classes and the rule priorities of
CoreNLP 3.4.1 (as pycocoevalcap runs it: PTB3 escaping, no Americanize),
written for Python's ``regex`` module.

What "the same output" means:

* Captions are tokenized together, like one pycocoevalcap call: a caption's
  tokens can depend on the next caption (``"it is a."`` keeps ``"a."``
  unless the next caption starts with a capitalised word such as "The", or
  is the last caption) and on being the last one.
* "\\n" inside a caption is a space (pycocoevalcap replaces it). Java also
  starts a new line at "\\r", "\\v", "\\f", U+2028 and U+2029, which in
  pycocoevalcap moves every later caption of the call onto the wrong key.
  Here those characters are spaces as well, so a call gives what Java
  gives once they are replaced by spaces -- which is what
  :class:`~vidcap_mm.evaluation.CaptionMetric` feeds Java.
* Java reads UTF-16: a character outside the Basic Multilingual Plane
  (emoji, ...) is two untokenizable code units and vanishes.

Known differences, both outside the scripts captions are written in:

* Character classes (letters, digits, upper case) come from the Unicode
  tables of Python's ``regex`` module; CoreNLP 3.4.1's lexer has those of
  the JDK that generated it (2014). Characters assigned or re-categorised
  since (e.g. U+08AD, U+16F1) can be tokenized differently; characters
  whose category is the same in Unicode 3.2 and now gave Java's tokens in
  every fuzz test.
* Lower-casing is Python's ``str.lower``; Java's ``toLowerCase`` decides
  between final and medial sigma by word boundaries, so a capital sigma
  next to uncased letters of another script can come out as the other
  sigma.
"""

import functools

import regex

from .ptb_rules import (
    ABBREV1,
    ABBREV2,
    ABBREV3,
    ACRONYM,
    RULES,
    SPACE,
    caseless,
    either,
)

# pycocoevalcap drops these tokens after tokenization. Its list has the
# bracket tokens in upper case while the output is lower-cased, so "-lrb-"
# and friends survive into the scored captions.
PUNCTUATION_TOKENS = frozenset(
    ["''", "'", '``', '`', '-LRB-', '-RRB-', '-LCB-', '-RCB-']
    + ['.', '?', '!', ',', ':', '-', '--', '...', ';']
)

# Characters at which Java starts a new line but pycocoevalcap does not:
# spaces here, as in CaptionMetric.
JAVA_LINE_BREAKS = str.maketrans({c: ' ' for c in '\n\r\x0b\x0c\u2028\u2029'})


# POSIX: leftmost-longest, as a lexer matches (Python's default takes the
# first alternative that fits, which can be shorter).
_COMPILED = [
    (
        regex.compile(
            f'(?P<m>{pattern})' + (f'(?:{trail})' if trail else ''),
            regex.POSIX | regex.V0,
        ),
        action,
    )
    for pattern, trail, action in RULES
]

# Lines of ASCII letters and blanks only (most generated captions) are
# tokenized by splitting: no rule above does anything else with them but
# split off the assimilations below.
_SIMPLE_LINE = regex.compile(r'[A-Za-z \t]*')
_ASSIMILATIONS = {
    'cannot': ('can', 'not'),
    'gonna': ('gon', 'na'),
    'gotta': ('got', 'ta'),
    'lemme': ('lem', 'me'),
    'gimme': ('gim', 'me'),
    'wanna': ('wan', 'na'),
}
_HAS_ASSIMILATION = regex.compile('(?i)' + '|'.join(_ASSIMILATIONS))
# Such a line ending in "word." (many references do) is the same with the
# period dropped, unless a rule can keep the period in the word's token:
# then the slow path decides, with the next line as look-ahead.
_PERIOD_IN_TOKEN = regex.compile(
    either(
        ABBREV1,
        ABBREV2,
        ABBREV3,
        ACRONYM,
        either(caseless('pt') + '[eyEY]', caseless('co')) + r'\.',
    ),
    regex.POSIX | regex.V0,
)


@functools.lru_cache(maxsize=4096)
def _period_may_stay(word: str) -> bool:
    """Whether a rule can keep the period after ``word`` in its token."""
    return bool(
        _PERIOD_IN_TOKEN.fullmatch(word + '.')
        or word.lower() in _ASSIMILATIONS
    )


# A space or tab starts a run of blanks (SPACES, whatever follows); other
# blanks do not: a URL-like token may start with U+00A0, for one. No rule
# but SPACES starts with a space or tab, and a run of ASCII letters is one
# token (the assimilations aside) whichever rule matches it when a blank,
# ")" or '"' follows, or "," ";" ":" before a blank or the end: only rules
# that need other characters (apostrophes, "@", "-", digits, "/", ...) can
# reach past it. Before "." and a blank or the end, the same holds unless
# the word with its period is an abbreviation or acronym
# (_PERIOD_IN_TOKEN). A run of blanks and such words is lexed by one
# match, its words read from the captures.
_PLAIN_RUN = regex.compile(
    r'(?:[ \t]' + SPACE + r'*'
    r'|([A-Za-z]+)(?=[ \t)"]|[,;:.](?:[ \t\n]|\Z)))+'
)


@functools.lru_cache(maxsize=4096)
def _candidate_rules(prefix: str) -> tuple:
    """The rules that can match text starting with ``prefix``, in order.

    A rule that matches at a position matches a string that starts with
    the position's next characters (or lies within them), so it is kept by
    a partial match of ``prefix``: the others need not be tried there.
    Most positions keep a fifth of the rules or less.
    """
    return tuple(
        (pattern, action)
        for pattern, action in _COMPILED
        if pattern.match(prefix, partial=True) is not None
    )


def _simple_words(line: str):
    """The words of a line of plain words, else None (slow path)."""
    if not _SIMPLE_LINE.fullmatch(line):
        body = line.rstrip(' \t')
        if not body.endswith('.'):
            return None
        body = body[:-1]
        if not body[-1:].isalpha() or not _SIMPLE_LINE.fullmatch(body):
            return None
        if _period_may_stay(body.rsplit(None, 1)[-1]):
            return None
        line = body
    words = line.lower().split()
    if _HAS_ASSIMILATION.search(line) is not None:
        words = [t for w in words for t in _ASSIMILATIONS.get(w, (w,))]
    return words


def _to_utf16_units(text: str) -> str:
    """Split characters beyond U+FFFF into surrogates, as Java sees them."""
    if text.isascii() or max(text) <= '\uffff':
        return text
    units = text.encode('utf-16-le', 'surrogatepass')
    return ''.join(
        chr(int.from_bytes(units[i : i + 2], 'little'))
        for i in range(0, len(units), 2)
    )


def _from_utf16_units(token: str) -> str:
    return token.encode('utf-16-le', 'surrogatepass').decode(
        'utf-16-le', 'replace'
    )


def _lex(text: str, end: int) -> list:
    """CoreNLP's tokens of ``text[:end]``; what follows is context only."""
    tokens = []
    pos = 0
    while pos < end:
        run = _PLAIN_RUN.match(text, pos)
        if run is not None:
            words, stop = run.captures(1), run.end()
            if (
                text.startswith('.', stop)
                and words
                and run.ends(1)[-1] == stop
                and _period_may_stay(words[-1])
            ):
                # The rules decide whether the word keeps its period.
                words, stop = words[:-1], run.starts(1)[-1]
            if stop > pos:
                if _HAS_ASSIMILATION.search(text, pos, stop) is None:
                    tokens.extend(words)
                else:
                    for word in words:
                        tokens.extend(
                            _ASSIMILATIONS.get(word.lower(), (word,))
                        )
                pos = stop
                continue
        # Of the rules matching the longest text, the first one wins.
        best_len, best = -1, None
        for pattern, action in _candidate_rules(text[pos : pos + 2]):
            match = pattern.match(text, pos)
            if match is not None and match.end() - pos > best_len:
                best_len, best = match.end() - pos, (match, action)
        match, action = best
        token, consumed = action(match.group('m'))
        if token is not None:
            tokens.append(token)
        pos += consumed
    return tokens


def _line_tokens(line: str, context: str) -> list:
    """Lower-cased CoreNLP tokens of one line (a caption)."""
    text = _to_utf16_units(line)
    tokens = _lex(text + _to_utf16_units(context), len(text))
    if text is line:  # no surrogates to join again
        return [t.lower() for t in tokens]
    return [_from_utf16_units(t).lower() for t in tokens]


def _drop_punctuation(tokens: list) -> str:
    """pycocoevalcap's post-processing of one output line."""
    line = ' '.join(tokens).rstrip()
    return ' '.join(w for w in line.split(' ') if w not in PUNCTUATION_TOKENS)


def tokenize_captions(captions) -> list:
    """Tokenize captions as one pycocoevalcap ``PTBTokenizer`` call would.

    Args:
        captions (Sequence[str]): Captions in call order (a caption's
            tokens may depend on the next one).

    Returns:
        list[str]: One space-joined, lower-cased caption per input, with
        pycocoevalcap's punctuation tokens removed.
    """
    lines = [c.translate(JAVA_LINE_BREAKS) for c in captions]
    out = []
    for i, line in enumerate(lines):
        words = _simple_words(line)
        if words is not None:
            out.append(' '.join(words))
        else:
            tokens = _line_tokens(line, _context(lines, i))
            out.append(_drop_punctuation(tokens))
    return out


# Characters that look-ahead passes through (CoreNLP's SPACE and NEWLINE).
_LOOKAHEAD_BLANKS = ' \t\u00a0\u3000\x85' + ''.join(
    chr(c) for c in range(0x2000, 0x200B)
)


def _context(lines: list, i: int) -> str:
    """The text after line ``i`` that CoreNLP's look-ahead can reach.

    Look-ahead crosses line ends only through blanks and line breaks, and
    reaches at most one character past the first non-blank line.
    """
    parts = []
    for j in range(i + 1, len(lines)):
        parts.append('\n' + lines[j])
        if lines[j].strip(_LOOKAHEAD_BLANKS):
            if j + 1 < len(lines):
                parts.append('\n')
            break
    return ''.join(parts)


class PTBTokenizer:
    """Drop-in for pycocoevalcap's ``PTBTokenizer``, without Java.

    ``tokenize`` takes and returns what pycocoevalcap's takes and returns;
    all captions of one call are tokenized together, in the dict's order,
    exactly as pycocoevalcap's single Java run would (see module docs).
    """

    def tokenize(self, captions_for_image: dict) -> dict:
        """Tokenize ``{key: [{'caption': str}, ...]}``.

        Args:
            captions_for_image (dict): Captions of each key.

        Returns:
            dict: ``{key: [tokenized caption, ...]}``; keys without
            captions are left out, as pycocoevalcap leaves them out.
        """
        keys = [k for k, v in captions_for_image.items() for _ in v]
        captions = [
            c['caption'] for v in captions_for_image.values() for c in v
        ]
        result: dict = {}
        for key, caption in zip(keys, tokenize_captions(captions)):
            result.setdefault(key, []).append(caption)
        return result
