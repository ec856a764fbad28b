"""Captions that exercise every rule of the PTB tokenizer.

:func:`adversarial_captions` mixes hand-picked fragments (one group per rule
of pycocoevalcap's tokenization: contractions, brackets, quotes, repeated
punctuation, abbreviations and sentence ends, hyphens, slashes, numbers,
ampersands, unicode, spaces, ...) into captions, with random case and
spacing, and places captions so that one affects the next (an abbreviation
or a single letter with a period before a capitalised word, an empty
caption, the last caption of the call).
"""

import itertools
import random
from typing import Dict, List, Tuple

from vidcap_mm.datasets.synthetic import (
    BACKGROUND_COLORS,
    SHAPE_COLORS,
    SHAPES,
    SYNTHETIC_VOCABULARY,
    ClipContent,
    make_captions,
)

FRAGMENTS: Dict[str, Tuple[str, ...]] = {
    'contractions': (
        "isn't",
        "don't",
        "can't",
        "won't",
        "it's",
        "dog's",
        "they're",
        "we've",
        "I'll",
        "he'd",
        "I'm",
        "cats'",
        "y'all",
        "o'clock",
        "rock 'n' roll",
        "'90s",
        "'em",
        "'twas",
        "'tis",
        "ain't",
        "DON'T",
        'Isn\u2019t',
        'it\u2019s',
        "n't",
        "'s",
        "O'Neil",
        "d'Artagnan",
        "l'eau",
        "rock'n'roll",
        "ma'am",
        "ne'er",
        "'cause",
        "'til",
        "cont'd",
        "c'mon",
        "somethin'",
        "dunkin'",
        "ol'",
        "li'l",
        "Cap'n",
        "c'est",
        'it&apos;s',
        "shouldn't've",
        "y'know",
    ),
    'brackets': (
        '(a dog)',
        '( left )',
        '[red]',
        '{x}',
        '(',
        ')',
        '[',
        ']',
        '{',
        '}',
        '-LRB-',
        '-rrb-',
        '(1)',
        'a(b)c',
        '((double))',
        '[1,2]',
    ),
    'quotes': (
        '"hello"',
        "'hello'",
        "``quoted''",
        '\u201csmart\u201d',
        '\u2018single\u2019',
        '\u00abfr\u00bb',
        '"',
        "''",
        "'",
        '`',
        '" spaced "',
        'say "a"',
        '"1st"',
        '"$5"',
        '&quot;hi&quot;',
        "'a",
        "'ab",
        "a'",
        '\u201e',
        '\u2039x\u203a',
    ),
    'repeated': (
        '!!',
        '?!',
        '...',
        '....',
        '.....',
        '......',
        '. . .',
        '. . . .',
        '--',
        '---',
        '----',
        '-----',
        ',,',
        ';;',
        '::',
        '!!!',
        '??',
        '?',
        '!',
        ',',
        ';',
        ':',
        '.',
        '-',
        '\u2026',
        '\u2014',
        '\u2013',
        '..',
    ),
    'abbreviations': (
        'Mr. Smith',
        'Dr.',
        'U.S.',
        'U.S.A.',
        'e.g.',
        'i.e.',
        'etc.',
        'Inc.',
        'Co.',
        'vs.',
        'St.',
        'Jan.',
        'No. 5',
        'no. 5',
        'fig. 3',
        'Ph.D.',
        'a.m.',
        'p.m.',
        'Jr.',
        'Mt.',
        'Calif.',
        'Pty. Ltd',
        'a.k.a.',
        'cf.',
        'al.',
        'et al.',
        'Mass.',
        'mass.',
        'Ga.',
        'Corp.',
        'Ltd.',
        'Mrs.',
        'Gen.',
        'Sept.',
        'Fri.',
        'Ark.',
        'I.',
        'A.',
        'x.',
        'U.K.',
        'non-U.S.',
        'Bros.',
        'est. 5',
        'sq.',
        'Miss.',
        'Dept.',
        'Mfg.',
        'Prof.',
        'Rep.',
        'Sen.',
        'ca. 1900',
    ),
    'sentence_ends': (
        'a dog runs.',
        'it is a.',
        'man.',
        'the end.',
        'It is I.',
        'go now.',
        'A man walks. A dog barks.',
        'yes.No',
        'e.g',
        'wait...',
        'stop!',
        'why?',
        'ok.',
        'the U.S.',
        'in Calif.',
    ),
    'hyphens': (
        'well-known',
        'x-ray',
        't-shirt',
        'a - b',
        'pro-life',
        'anti-war',
        'e-mail',
        'co-op',
        'self-driving car',
        '-',
        '_',
        'under_score',
        'mid-1990s',
        'state-of-the-art',
        '-abc',
        'abc-',
        'a--b',
        '1-2',
        'U.S.-U.K.',
        'o-ring',
        'x\u2010y',
        'A-1',
        'F-16',
        '3-D',
        'up-to-date.',
        'non-stop,',
        'pre-',
    ),
    'slashes': (
        'and/or',
        '1/2',
        '3/4',
        '50/50',
        'w/',
        '/',
        'a/b/c',
        'km/h',
        '1\\/2',
        'on/off',
        '24/7',
        'http://x.org/a/b',
        '/path',
        'A/C',
        '12/25/2014',
        '1\u20442',
    ),
    'numbers': (
        '1,000',
        '3.14',
        '1,000,000.50',
        '-5',
        '+3',
        '.5',
        '10:30',
        '2014-08-01',
        '1 1/2',
        '\u00bd',
        '\u00bc',
        '(555) 123-4567',
        '555-1234',
        '3rd',
        '1st',
        '2nd',
        '1990s',
        '12.5%',
        '$5',
        '$ 5',
        'US$5',
        '#1',
        '\u20ac10',
        '\u00a35',
        '\u00a2',
        '\u00a5100',
        '100',
        '0',
        '007',
        '1.2.3',
        '1,2',
        '12 345 6789',
        '1e5',
        '\u00b2',
        'x\u00b2',
        '\u2153',
        '\u0663\u0664',
        '1.',
        '5.0.',
        '2014.',
        '7:',
        '1:2:3',
        '3,',
        '$',
        'A$',
        '555.123.4567',
    ),
    'ampersands': (
        'AT&T',
        'R&D',
        'S&P',
        'S&P-500',
        '&',
        'rock & roll',
        '&amp;',
        'Tom&Jerry',
        '&lt;',
        '&gt;',
        '&nbsp;',
        'AT&amp;T',
        'a&b',
        'B&B.',
        'Q&A,',
        '&mdash;',
        '&#39;',
        '&eacute;',
        '&HT;',
    ),
    'unicode': (
        'caf\u00e9',
        'na\u00efve',
        'Z\u00fcrich',
        'stra\u00dfe',
        '\u0130stanbul',
        '\u03a3\u039f\u03a6\u0399\u0391\u03a3',
        '\u0395\u03bb\u03bb\u03ac\u03b4\u03b1',
        '\u6771\u4eac',
        '\u0440\u0443\u0441\u0441\u043a\u0438\u0439',
        '\u05e2\u05d1\u05e8\u05d9\u05ea',
        '\u0627\u0644\u0639\u0631\u0628',
        '\u0939\u093f\u0902\u0926\u0940',
        '\u00b0C',
        '\u2122',
        '\u00a9',
        '\u2192',
        '\u2022',
        '\u00d7',
        '\U0001f600',
        'emoji\U0001f436dog',
        '\U0001d400',
        'co\u00adop',
        '\u00ad',
        'zero\u200bwidth',
        '\ufeffbom',
        'del\x7f',
        'nul\x00',
        '\u00c5NGSTR\u00d6M',
        '\u01c5',
        '\u1e9e',
        'Mu\u0308ller',
        '\u3002',
        '\u00bf',
        '\u00a1',
        '\u00e9t\u00e9',
        '\u00a7',
        '\u00b6',
        '\u0085',
        '\u200e',
        '\uff01',
        '\u2264',
        '\u20a4',
        '\u0e3f',
        'fi\ufb01',
        '\u2460',
    ),
    'assimilations': (
        'gonna',
        'gotta',
        'cannot',
        'wanna',
        'lemme',
        'gimme',
        'Cannot',
        'GONNA',
        'wannabe',
        'cannoted',
        'gotta-go',
    ),
    'web': (
        'http://example.com/a',
        'https://x.org/',
        'www.google.com',
        'foo.com',
        'a@b.com',
        '<a@b.com>',
        '@user',
        '#tag',
        'file.txt',
        'image.jpg',
        'x.py',
        'report.docx.',
        'www.a.b',
        'c++',
        'C#',
        'f#',
        'mailto:x@y.z',
    ),
    'smileys': (
        ':)',
        ':-(',
        ';)',
        ':D',
        '=)',
        ':P',
        '^_^',
        '(-_-)',
        ':o)',
        ':(',
        '>:(',
        '<3',
        'o_O',
    ),
    'markup': (
        '<b>',
        '</i>',
        '<br/>',
        '<a href="x">',
        '<<',
        '>>',
        '<',
        '>',
        '->',
        '<-',
        '<!DOCTYPE html>',
        '<p class="a b">',
        '< b >',
    ),
    'symbols': (
        '*',
        '**',
        '***',
        '@',
        '##',
        '___',
        '=',
        '=>',
        '+',
        '%',
        '~',
        '^',
        '|',
        '\\',
        '\\*',
        '+-',
        '==',
        '\u00b1',
        '\u2030',
        '`',
    ),
    'spaces': (
        '  ',
        '\t',
        '\u00a0',
        '\u3000',
        '\u2009',
        ' \t ',
        '\u2002',
    ),
    'line_breaks': ('\r', '\u2028', '\u2029', '\x0b', '\x0c', '\r\n', '\n'),
}

WORDS = (
    'a',
    'the',
    'man',
    'woman',
    'dog',
    'is',
    'are',
    'playing',
    'guitar',
    'on',
    'stage',
    'and',
    'in',
    'kitchen',
    'cooking',
    'car',
    'red',
    'I',
    'A',
    'The',
    'He',
    'She',
    'It',
    'In',
    'They',
    'However',
    'This',
    'we',
    'of',
    'to',
    'with',
    'people',
    'running',
    'video',
    'game',
    'shows',
)

# Capitalised words after which CoreNLP reads "X." as a sentence end.
SENTENCE_STARTS = (
    'The',
    'A',
    'He',
    'She',
    'It',
    'In',
    'They',
    'This',
    'However',
    'We',
    'Mr. Smith',
    'According',
    'the',
    'a',
    'Dog',
    'THE',
    'An',
    '<b>',
    'I',
    '"The',
    '1',
    'And',
    'But',
    'You',
    '',
)
ENDINGS = (
    'it is a.',
    'by Mr.',
    'in the U.S.',
    'Acme Inc.',
    'and so on etc.',
    'fig.',
    'I.',
    'x.',
    'no.',
    'Calif.',
    'ABC.',
    'vs.',
    'Jan.',
    'the end.',
    'no. ',
    'e.g.',
    'A.',
    'at 5 p.m.',
    'Co.',
    'Pty.',
    'a.k.a.',
    'I',
    'Mr',
    "'90",
    "it's",
)


# Words that end a caption with a period: abbreviations of every kind that
# CoreNLP knows (the period may stay in the token, depending on the next
# caption) and plain words (the period is a token of its own).
PERIOD_WORDS = (
    'Jan Sept Fri Thurs Ariz Az Calif Ga Ill ill Kans Mass mass Miss miss '
    'Ore Pa Tex Wash Wisc Inc Cos Corp Pty Ptes Ltd Bhd Univ est sq Jr Bros '
    'Blvd Esq etc al seq Bldg Mr Mrs Ms Drs Profs Sens Atty Gen Govs Capt '
    'Pres '  # codespell:ignore
    'Ste Lieut Cmdr Comdr Supts Mt Ft Mlle Msgr vs Alex Wm Cie cf '
    'TREAS Ph Invt Natl Mfg Mtg Dept ca figs prop nos art bldg pp op a I x '
    'horse dog man cannot gonna me not the runs'
).split()


def period_endings(seed: int = 0) -> List[str]:
    """Captions ending in "word." followed by a varied next caption."""
    rng = random.Random(seed)
    captions = []
    for word in PERIOD_WORDS:
        for form in (word, word.lower(), word.upper()):
            start = rng.choice(SENTENCE_STARTS + ('5 dogs',))
            captions.append(f'{rng.choice(WORDS)} {form}.')
            captions.append(f'{start} runs'.strip())
    return captions


# Pieces for character soup: where rules meet in unplanned ways (a URL
# starting at a no-break space, an entity inside a word, ...).
SOUP = tuple(
    'aAbBcCdDeEsStTnNxXyYzZ0123456789 .,;:!?\'"`-_/\\()[]{}<>@#$%&*+=~^|'
) + (
    '\u2019',
    '\u201c',
    '\u201d',
    '\u00a0',
    '\u2026',
    '\u00e9',
    '\u00bd',
    '\u20ac',
    '\u00ad',
    '\u2009',
    'www.',
    'http://',
    '.com',
    '&amp;',
    "n't",
    "'s",
    'U.S.',
    'Mr.',
    'The ',
    'co.',
    '&lt;',
    '<b>',
    ' 555-1234',
    '1/2',
)


def character_soup(n: int, seed: int = 0) -> List[str]:
    """``n`` captions of up to 25 random pieces of :data:`SOUP`."""
    rng = random.Random(seed)
    return [
        ''.join(rng.choice(SOUP) for _ in range(rng.randint(0, 25)))
        for _ in range(n)
    ]


def _case(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.6:
        return text
    if roll < 0.75:
        return text.lower()
    if roll < 0.9:
        return text.upper()
    return text.title()


def adversarial_captions(n: int, seed: int = 0) -> List[str]:
    """``n`` captions covering every fragment group, in a fixed order.

    Args:
        n (int): How many captions.
        seed (int): Random seed. Defaults to 0.

    Returns:
        list[str]: The captions; every fragment of :data:`FRAGMENTS` appears
        at least once when ``n`` is large enough (about 1000).
    """
    rng = random.Random(seed)
    pool = [f for group in FRAGMENTS.values() for f in group]
    captions: List[str] = []
    # Every fragment once alone and once inside a sentence.
    for fragment in pool:
        captions.append(fragment)
        words = rng.sample(WORDS, rng.randint(1, 4))
        words.insert(rng.randint(0, len(words)), fragment)
        captions.append(' '.join(words))
    # One caption's end against the next one's start.
    for ending in ENDINGS:
        for start in rng.sample(SENTENCE_STARTS, 6):
            captions.append(f'{rng.choice(WORDS)} {ending}')
            captions.append(f'{start} {rng.choice(WORDS)} walks'.strip())
        captions.append(ending)
        captions.append('')
        captions.append(' ' + rng.choice(SENTENCE_STARTS) + ' is here')
    while len(captions) < n:
        parts = []
        for _ in range(rng.randint(0, 8)):
            if rng.random() < 0.5:
                parts.append(rng.choice(WORDS))
            else:
                parts.append(rng.choice(pool))
        separators = (' ', ' ', ' ', '', '  ', '\t')
        text = ''
        for part in parts:
            text += _case(rng, part) + rng.choice(separators)
        if rng.random() < 0.3:
            text += rng.choice(('.', '!', '?', ' .', '..', '...', ''))
        if rng.random() < 0.1:
            text = ' ' * rng.randint(1, 3) + text
        captions.append(text)
    return captions[:n] if len(captions) > n else captions


def synthetic_captions() -> List[str]:
    """Every reference caption of the synthetic clips, plus vocabulary."""
    objects = list(itertools.product(SHAPE_COLORS, SHAPES))
    groups = [(o,) for o in objects] + list(itertools.combinations(objects, 2))
    captions = []
    for group, background in itertools.product(groups, BACKGROUND_COLORS):
        content = ClipContent(group, background)
        captions.extend(make_captions(content, num_references=4))
    captions.append(' '.join(SYNTHETIC_VOCABULARY))
    captions.append(
        make_captions(ClipContent((('red', 'circle'),), 'white'), 1)[0] + '.'
    )
    return captions


# A run of ASCII letters, what follows it and what comes after that: where
# the lexer's shortcuts (a word before a blank, ")", '"', or "," ";" ":"
# "." before a blank) meet the rules that can reach past the word.
BOUNDARY_WORDS = (
    'word The a I x y l n S C AT http https www cannot gonna Mr Mrs etc Inc '
    'fig no pte co Ltd vs Jan don can cont ol Canada U non pro anti Ph Cap '
    'c f txt com somethin'  # codespell:ignore
).split()
BOUNDARY_NEXT = tuple(' \t)",;:.-/\'\\@&+#$_!?([<=%*') + (
    '\u00a0',
    '\u00ad',
    '\u2019',
    '\u00e9',
    '5',
    '\u2009',
    '',
)
BOUNDARY_AFTER = (
    '',
    ' ',
    '\t',
    ' The',
    ' the',
    ' 5',
    '\u00a0x',
    'b@c.com',
    'com',
    'org/x',
    '//x.org',
    'D ',
    ')',
    ' . .',
    '..',
    '5',
    'U.S.',
    "s'",
    "n't",
    ' Ltd',
    '-b',
    'b-c',
    ',d-e x',
    'amp;',
    'apos;s',
    'd',
    '\u00e9t\u00e9',
    ' <b>',
    '@d',
    '.',
)


def shortcut_boundaries(n: int, seed: int = 0) -> List[str]:
    """``n`` captions of one to three :data:`BOUNDARY_WORDS`, each followed
    by one of :data:`BOUNDARY_NEXT` and one of :data:`BOUNDARY_AFTER`."""
    rng = random.Random(seed)
    captions = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 3)):
            word = _case(rng, rng.choice(BOUNDARY_WORDS))
            parts.append(
                word + rng.choice(BOUNDARY_NEXT) + rng.choice(BOUNDARY_AFTER)
            )
        captions.append(rng.choice((' ', '', ' ')).join(parts))
    return captions
