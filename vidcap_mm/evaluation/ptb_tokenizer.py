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


def _ci(text: str) -> str:
    """A literal matched case-insensitively (JFlex ``%caseless``).

    ``%caseless`` applies to literals only: character classes keep their
    case, so patterns below write those outside ``_ci``.
    """
    # Spelled out as [xX] rather than (?i:...): the regex module misses
    # matches of some alternations that hold scoped flags (seen with
    # ``(?:(?i:www\.)x|(?:[^.]+\.)+com)`` on "foo.com").
    return ''.join(
        f'[{c}{c.swapcase()}]' if c.isalpha() else regex.escape(c)
        for c in text
    )


def _alt(*parts: str) -> str:
    return '(?:' + '|'.join(parts) + ')'


def _ci_alt(words: str) -> str:
    return _alt(*(_ci(w) for w in words.split('|')))


# ---- token classes -------------------------------------------------------
SPACE = r'[ \t\u00A0\u2000-\u200A\u3000]'
NEWLINE = r'(?:\r\n|[\n\r\u2028\u2029\x0b\x0c\x85])'
SPACENL = _alt(SPACE, NEWLINE)
SPACENLS = SPACENL + '+'
UPPER = r'\p{Lu}'
DIGIT = r'[\d\u07C0-\u07C9]'  # \d: any Unicode decimal digit
LETTER_CLASS = r'\p{L}'
NAME_CHARS = r'[A-Za-z0-9_:.\-]'
SGML = (
    r'<(?:[!?][A-Za-z\-][^>\r\n]*'
    rf'|[A-Za-z]{NAME_CHARS}*(?:[ ]+(?:[A-Za-z]{NAME_CHARS}*'
    rf"|[A-Za-z]{NAME_CHARS}*[ ]*=[ ]*(?:'[^']*'|\"[^\"]*\")))*[ ]*/?"
    rf'|/[A-Za-z]{NAME_CHARS}*)[ ]*>'
)
SENTEND = SPACENL + _alt(SPACENL, UPPER, SGML)
DATE = rf'{DIGIT}{{1,2}}[\-/]{DIGIT}{{1,2}}[\-/]{DIGIT}{{2,4}}'
NUM = rf'(?:{DIGIT}+|{DIGIT}*(?:[.:,\u00AD\u066B\u066C]{DIGIT}+)+)'
NUMBER = rf'[\-+]?{NUM}'
SUBSUPNUM = (
    r'[\u207A\u207B\u208A\u208B]?'
    r'(?:[\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+|[\u2080-\u2089]+)'
)
FRAC = rf'(?:{DIGIT}{{1,4}}[\- \u00A0])?{DIGIT}{{1,4}}(?:\\?/|\u2044)'
FRAC += rf'{DIGIT}{{1,4}}'
FRAC2 = r'[\u00BC\u00BD\u00BE\u2153-\u215E]'
DOLSIGN = r'(?:[A-Z]*\$|#)'
DOLSIGN2 = (
    r'[\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4'
    r'\uFFE0\uFFE1\uFFE5\uFFE6]'
)
SPAMP = _ci('&amp;')
LETTER_ENTITY = '&[aeiouAEIOU]' + _ci_alt('acute|grave|uml') + ';'
# Letters JFlex's [:letter:] missed, which CoreNLP adds by hand.
LETTER_EXTRA = (
    r'[\u00AD\u0237-\u024F\u02C2-\u02C5\u02D2-\u02DF\u02E5-\u02FF'
    r'\u0300-\u036F\u0370-\u037D\u0384\u0385\u03CF\u03F6\u03FC-\u03FF'
    r'\u0483-\u0487\u04CF\u04F6-\u04FF\u0510-\u0525\u055A-\u055F'
    r'\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u0615-\u061A'
    r'\u063B-\u063F\u064B-\u065E\u0670\u06D6-\u06EF\u06FA-\u06FF\u070F'
    r'\u0711\u0730-\u074F\u0750-\u077F\u07A6-\u07B1\u07CA-\u07F5\u07FA'
    r'\u0900-\u0903\u093C\u093E-\u094E\u0951-\u0955\u0962-\u0963'
    r'\u0981-\u0983\u09BC-\u09C4\u09C7\u09C8\u09CB-\u09CD\u09D7\u09E2'
    r'\u09E3\u0A01-\u0A03\u0A3C\u0A3E-\u0A4F\u0A81-\u0A83\u0ABC-\u0ACF'
    r'\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8\u0BCA-\u0BCD\u0C01-\u0C03'
    r'\u0C3E-\u0C56\u0D3E-\u0D44\u0D46-\u0D48\u0E30-\u0E3A\u0E47-\u0E4E'
    r'\u0EB1-\u0EBC\u0EC8-\u0ECD]'
)
LETTER = _alt(LETTER_CLASS, LETTER_ENTITY, LETTER_EXTRA)
LD = _alt(LETTER, DIGIT)
WORD = rf'{LETTER}{LD}*(?:[.!?]{LETTER}{LD}*)*'
FILENAME_EXT = _ci_alt(
    'bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|'
    'jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip'
)
FILENAME = rf'{LD}+(?:[.]{LD}+)*[.]{FILENAME_EXT}'
APOS = _alt(r"['\u0092\u2019]", _ci('&apos;'))
APOSETC = _alt(APOS, r'[`\u0091\u2018\u201B]')
L_OR_D = r'[\p{L}\d]'
THING_PART = rf'(?:[dDoOlL]{APOSETC}{L_OR_D})?{L_OR_D}+'
THING = rf'{THING_PART}(?:[\-_\u058A\u2010\u2011]{THING_PART})*'
THINGA = rf'[A-Z]+(?:(?:[+&]|{SPAMP})[A-Z]+)+'
THING3 = (
    r'[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}'
    r'(?:\\?/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}'
)
_ACRO_SPECIAL = (
    _ci_alt('Canada|Sino|Korean|EU|Japan|non')
    + _ci('-U.S')
    + '|'
    + _ci('U.S.-')
    + _ci_alt('U.K|U.S.S.R')
)
ACRO = rf'(?:[A-Za-z](?:\.[A-Za-z])*|{_ACRO_SPECIAL})'
ACRO2 = rf'(?:[A-Za-z](?:\.[A-Za-z])+|{_ACRO_SPECIAL})'
HTHING = (
    r'[A-Za-z0-9][A-Za-z0-9.,\u00AD]*'
    rf'(?:-(?:[A-Za-z0-9\u00AD]+|{ACRO2}\.))+'
)
REDAUX = APOS + _alt('[msdMSD]', _ci_alt('re|ve|ll'))
SWORD = r'[A-Za-z\u00AD]*[A-MO-Za-mo-z]\u00AD*'
SREDAUX = _ci('n') + APOSETC + _ci('t')
APOWORD = _alt(
    APOS + _ci('n') + APOS + '?',
    '[lLdDjJ]' + APOS,
    _ci('Dunkin') + APOS,
    _ci('somethin') + APOS,
    _ci('ol') + APOS,
    APOS + _ci('em'),
    rf'[A-HJ-XZn]{APOSETC}\p{{L}}{{2}}\p{{L}}*',
    APOS + '[2-9]0' + _ci('s'),
    APOS + _ci('til') + _ci('l') + '?',
    rf'\p{{L}}\p{{L}}*[aeiouyAEIOUY]{APOSETC}[aeiouA-Z]\p{{L}}*',
    APOS + _ci('cause'),
    _ci("cont'd") + r'(?:\.)?',
    _ci_alt("'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l"),
    _ci('O') + APOSETC + _ci('o'),
)
APOWORD2 = _ci('y') + APOS
_URL_END = r'[^ \t\n\f\r"<>|.!?(){},\-]'
FULLURL = _ci('http') + '[sS]?' + r'://[^ \t\n\f\r"<>|(){}]+' + _URL_END
LIKELYURL = (
    r'(?:(?:' + _ci('www.') + r'(?:[^ \t\n\f\r"<>|.!?(){},]+\.)+'
    r'[a-zA-Z]{2,4})|(?:(?:[^ \t\n\f\r"`\'<>|.!?(){},-_$]+\.)+'
    + _ci_alt('com|net|org|edu')
    + r'))(?:/[^ \t\n\f\r"<>|()]+'
    + _URL_END
    + ')?'
)
EMAIL = (
    _alt(_ci('&lt;'), '<')
    + r'?[a-zA-Z0-9][^ \t\n\f\r"<>|()\u00A0{}]*@'
    + r'(?:[^ \t\n\f\r"<>|(){}.\u00A0]+\.)*(?:[^ \t\n\f\r"<>|(){}.\u00A0]+)'
    + _alt(_ci('&gt;'), '>')
    + '?'
)
TWITTER = rf'(?:@[a-zA-Z_][a-zA-Z_0-9]*|#{LETTER}+)'

# Abbreviations, by the context CoreNLP expects after them.
ABMONTH = _ci_alt('Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec')
ABDAYS = _ci_alt('Mon|Tue|Tues|Wed|Thu|Thurs|Fri')
ABSTATE = _alt(
    _ci_alt('Ala|Ariz'),
    'A' + _ci('z'),
    'A' + _ci('rk'),
    _ci_alt('Calif|Colo|Conn|Ct|Dak'),
    'D' + _ci('el'),
    _ci_alt('Fla|Ga'),
    'I' + _ci('ll'),
    _ci('Ind') + '|' + _ci('Kan') + _ci('s') + '?',
    _ci('Ky'),
    'L' + _ci('a'),
    'M' + _ci('ass'),
    _ci_alt('Md|Mich|Minn'),
    'M' + _ci('iss'),
    _ci_alt('Mo|Mont|Neb|Nev|Okla'),
    'O' + _ci('re'),
    'P' + _ci('a'),
    _ci_alt('Penn|Tenn'),
    'T' + _ci('ex'),
    _ci_alt('Va|Vt'),
    'W' + _ci('ash'),
    _ci('Wis') + _ci('c') + '?',
    _ci('Wyo'),
)
ABCOMP = _alt(
    _ci('Inc'),
    _ci('Co') + _ci('s') + '?',
    _ci('Corp'),
    _ci('P') + _ci('p') + '?' + _ci('t') + '[ye]' + _ci('s') + '?',
    _ci_alt('Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys'),
)
ABNUM = _ci_alt('tel|est|ext|sq')
ABPTIT = _alt(
    _ci_alt('Jr|Sr|Bros'),
    _ci_alt('Ed|Ph') + _ci('.D'),
    _ci_alt('Blvd|Rd|Esq'),
)
ABBREV1 = (
    _alt(ABMONTH, ABDAYS, ABSTATE, ABCOMP, ABNUM, ABPTIT)
    + '|'
    + _ci_alt('etc|al|seq|Bldg')
)
ABBREV1 = '(?:' + ABBREV1 + r')\.'
ABTITLE = _alt(
    _ci_alt('Mr|Mrs|Ms'),
    'M' + _ci('iss'),
    _ci('Dr') + _ci('s') + '?',
    _ci('Prof') + _ci('s') + '?',
    _ci('Sen') + _ci('s') + '?',
    _ci('Rep') + _ci('s') + '?',
    _ci('Atty') + _ci('s') + '?',
    _ci_alt('Lt|Col|Gen|Messrs'),
    _ci('Gov') + _ci('s') + '?',
    _ci_alt('Adm|Rev|Maj|Sgt|Cpl|Pvt|Capt'),
    _ci('St') + _ci('e') + '?',
    _ci_alt('Ave|Pres|Lieut|Hon|Brig'),  # codespell:ignore
    _ci('C') + _ci('o') + '?' + _ci('mdr'),
    _ci_alt('Pfc|Spc'),
    _ci('Supt') + _ci('s') + '?',
    _ci_alt('Det|Mt|Ft|Adj|Adv|Asst|Assoc|Ens|Insp|Mlle|Mme|Msgr|Sfc'),
)
ABCOMP2 = _alt(
    _ci_alt('Invt|Elec|Natl'), _ci('M') + '[ft]' + _ci('g'), _ci('Dept')
)
ABBREV4 = _alt(
    ABTITLE,
    _ci_alt('vs|Alex|Wm|Jos|Cie|a.k.a|cf|TREAS|Ph'),
    ACRO,
    ABCOMP2,
)
ABBREV2 = ABBREV4 + r'\.'
ACRONYM = ACRO + r'\.'
ABBREV3 = _ci_alt('ca|fig|figs|prop|no|nos|art|bldg|pp|op') + r'\.'
PHONE = (
    r'(?:(?:\([0-9]{2,3}\)[ \u00A0]?|(?:\+\+?)?(?:[0-9]{2,4}[\- \u00A0])?'
    r'[0-9]{2,4}[\- \u00A0])[0-9]{3,4}[\- \u00A0]?[0-9]{3,5}'
    r'|(?:(?:\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5})'
)
LDOTS = r'(?:\.{3,5}|(?:\.[ \u00A0]){2,4}\.|[\u0085\u2026])'
INSENTP = r'[,;:\u3001]'
QUOTES = _alt(
    APOS,
    "''",
    r'[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094'
    r'\u201E\u201F\u2039\u203A\u00AB\u00BB]{1,2}',
)
DBLQUOT = _alt('"', _ci('&quot;'))
_S_AMP = _ci('S') + _alt('&', _ci('&amp;'))
TBSPEC = _alt(
    _ci('-') + _ci_alt('RRB|LRB|RCB|LCB|RSB|LSB') + '-',
    _ci('C.D.s'),
    _ci('pro-'),
    _ci('anti-'),
    _S_AMP + _ci('P-500'),
    _S_AMP + _ci('Ls'),
    _ci('Cap') + APOS + _ci('n'),
    _ci('c') + APOS + _ci('est'),
)
TBSPEC2 = APOS + '[0-9][0-9]'
SMILEY = r"[<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]]"
_FACE = r"[\-\^x=~<>']"
ASIANSMILEY = _alt(
    r'[\^x=~<>]\.\[\^' + _ci('x') + r'=~<>\]',
    _FACE + '_' + _FACE,
    r'\(' + _FACE + '[_.]?' + _FACE + r'\)',
    r"\([\^x=~<>']-[\^x=~<>'`]\)",
)
MISCSYMBOL = (
    r'[+%&~\^|\\\u00A6\u00A7\u00A8\u00A9\u00AC\u00AE\u00AF\u00B0-\u00B3'
    r'\u00B4-\u00BA\u00D7\u00F7\u0387\u05BE\u05C0\u05C3\u05C6\u05F3'
    r'\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614\u061B\u061E\u066A'
    r'\u066D\u0703-\u070D\u07F6\u07F7\u07F8\u0964\u0965\u0E4F\u1FBD'
    r'\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042\u2044'
    r'\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF'
    r'\u3012\u30FB\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65]'
)
_ACRONYM_NEXT = _alt(
    *(
        w[0] + _ci(w[1:])
        for w in (
            'About According Additionally After An A As At But Earlier He '
            'Her Here However If In It Last Many More Mr. Ms. Now Once One '
            'Other Our She Since So Some Such That The Their Then There '
            'These They This We When While What Yet You'
        ).split()
    ),
    SGML,
)

# ---- token normalisation -------------------------------------------------
_NL = '\n'  # the token of a line break (CoreNLP's "*NL*")
_LEFT_QUOTES = str.maketrans(
    {
        '\u0091': '`',
        '\u2018': '`',
        '\u201b': '`',
        '\u2039': '`',
        '\u0092': "'",
        '\u2019': "'",
        '\u203a': "'",
        '\u0093': '``',
        '\u201c': '``',
        '\u00ab': '``',
        '\u0094': "''",
        '\u201d': "''",
        '\u00bb': "''",
    }
)
# CoreNLP matches "&QUOT;" as a quote but only rewrites the lower-case
# entities; "&amp;" it rewrites in any case.
_APOS_ENTITY = regex.compile('&apos;')
_QUOT_ENTITY = regex.compile('&quot;')
_AMP_ENTITY = regex.compile('&amp;', regex.IGNORECASE)
_FRACTIONS = str.maketrans(
    {
        '\u00bc': '1/4',
        '\u00bd': '1/2',
        '\u00be': '3/4',
        '\u2153': '1/3',
        '\u2154': '2/3',
    }
)
_CURRENCY = str.maketrans(
    {
        '\u00a2': 'cents',
        '\u00a3': '#',
        '\u0080': '$',
        '\u00a4': '$',
        '\u20a0': '$',
        '\u20ac': '$',
    }
)
_PARENS = str.maketrans({'(': '-LRB-', ')': '-RRB-'})
_BRACKETS = {
    '(': '-LRB-',
    ')': '-RRB-',
    '[': '-LSB-',
    ']': '-RSB-',
    '{': '-LCB-',
    '}': '-RCB-',
}


def _quotes(text: str, left: bool) -> str:
    """PTB (LaTeX-style) quotes: ` `` for opening, ' '' for closing."""
    single, double = ('`', '``') if left else ("'", "''")
    text = _APOS_ENTITY.sub(single, text.replace("'", single))
    text = _QUOT_ENTITY.sub(double, text.replace('"', double))
    return text.translate(_LEFT_QUOTES)


def _no_soft_hyphens(text: str) -> str:
    if '\u00ad' not in text:
        return text
    return text.replace('\u00ad', '') or '-'


def _keep(text):
    return text, len(text)


def _skip(text):
    return None, len(text)


def _split_last(k):
    def action(text):
        return text[:-k], len(text) - k

    return action


def _reduplicate_period(text):
    # The abbreviation keeps its period and the period is also lexed again
    # as a sentence end.
    return text, len(text) - 1


def _acronym_at_sentence_end(text):
    if len(text) == 2:  # "I." before "The": the letter, then a period.
        return text[0], 1
    return _reduplicate_period(text)


def _mapped(function):
    def action(text):
        return function(text), len(text)

    return action


def _dashes(text):
    return ('--' if 3 <= len(text) <= 4 else text), len(text)


# (pattern, trailing context or None, action), in CoreNLP's rule order: of
# the rules matching the longest text (trailing context included), the
# first one wins.
_RULES = [
    (_ci('c++'), None, _keep),
    (_ci_alt('c|f') + '#', None, _keep),
    (_ci('cannot'), None, _split_last(3)),
    (_ci("'twas"), None, _split_last(3)),
    (_ci("'tis"), None, _split_last(2)),
    (_ci_alt('gonna|gotta|lemme|gimme|wanna'), None, _split_last(2)),
    (SGML, None, _mapped(lambda t: t.replace(' ', '\u00a0'))),
    (
        _alt(_ci_alt('&MD;|&mdash;|&ndash;'), r'[\u0096\u0097\u2013-\u2015]'),
        None,
        _mapped(lambda t: '--'),
    ),
    (SPAMP, None, _mapped(lambda t: '&')),
    (
        '&' + _ci_alt('HT|TL|UR|LR|QC|QL|QR|odq|cdq') + ';|&#[0-9]+;',
        None,
        _keep,
    ),
    (WORD, REDAUX, _mapped(_no_soft_hyphens)),
    (SWORD, SREDAUX, _mapped(_no_soft_hyphens)),
    (WORD, None, _mapped(_no_soft_hyphens)),
    (APOWORD, None, _keep),
    (APOWORD2, r'\p{L}', _keep),
    (FULLURL, None, _keep),
    (LIKELYURL, None, _keep),
    (EMAIL, None, _keep),
    (TWITTER, None, _keep),
    (REDAUX, '[^A-Za-z]', _mapped(lambda t: _quotes(t, False))),
    (SREDAUX, '[^A-Za-z]', _mapped(lambda t: _quotes(t, False))),
    (DATE, None, _keep),
    (NUMBER, None, _mapped(_no_soft_hyphens)),
    (SUBSUPNUM, None, _keep),
    (FRAC, None, _mapped(lambda t: t.replace(' ', '\u00a0'))),
    (FRAC2, None, _mapped(lambda t: t.translate(_FRACTIONS))),
    (TBSPEC, None, _mapped(lambda t: _AMP_ENTITY.sub('&', t))),
    (THING3, None, _keep),
    (DOLSIGN, None, _keep),
    (DOLSIGN2, None, _mapped(lambda t: t.translate(_CURRENCY))),
    (
        ACRONYM,
        SPACENLS + _ACRONYM_NEXT + SPACENL,
        _acronym_at_sentence_end,
    ),
    (ABBREV3, SPACENL + r'?\d', _keep),
    (
        _alt(_ci('pt') + '[eyEY]', _ci('co')) + r'\.',
        SPACE + _ci_alt('ltd|lim'),
        _keep,
    ),
    (ABBREV1, SENTEND, _reduplicate_period),
    (ABBREV1, r'(?s:..)', _keep),
    (ABBREV1, None, _reduplicate_period),
    (ABBREV2, None, _keep),
    (ABBREV4, SPACE, _keep),
    (ACRO, SPACENL, _keep),
    (TBSPEC2, SPACENL, _keep),
    (FILENAME, _alt(SPACENL, '[.?!,]'), _keep),
    (WORD + r'\.', INSENTP, _mapped(_no_soft_hyphens)),
    (
        PHONE,
        None,
        _mapped(lambda t: t.replace(' ', '\u00a0').translate(_PARENS)),
    ),
    (DBLQUOT, '[A-Za-z0-9$]', _mapped(lambda t: _quotes(t, True))),
    (DBLQUOT, None, _mapped(lambda t: _quotes(t, False))),
    ('\x7f', None, _skip),
    (_alt('<', _ci('&lt;')), None, _mapped(lambda t: '<')),
    (_alt('>', _ci('&gt;')), None, _mapped(lambda t: '>')),
    (SMILEY, '[^A-Za-z0-9]', _mapped(lambda t: t.translate(_PARENS))),
    (ASIANSMILEY, None, _mapped(lambda t: t.translate(_PARENS))),
    (r'[{}\[\]()]', None, _mapped(_BRACKETS.__getitem__)),
    (r'-+', None, _dashes),
    (LDOTS, None, _mapped(lambda t: '...')),
    (r'(?:@+|#+|_+)', None, _keep),
    (r'(?:\*+|(?:\\\*){1,3})', None, _keep),
    (INSENTP, None, _keep),
    (r'[?!]+', None, _keep),
    (
        r'[.\u00A1\u00BF\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002]',
        None,
        _keep,
    ),
    ('=', None, _keep),
    ('/', None, _keep),
    (HTHING + r'\.', INSENTP, _mapped(_no_soft_hyphens)),
    (HTHING, None, _mapped(_no_soft_hyphens)),
    (THING + r'\.', INSENTP, _keep),
    (THING, None, _keep),
    (THINGA + r'\.', INSENTP, _mapped(lambda t: _AMP_ENTITY.sub('&', t))),
    (THINGA, None, _mapped(lambda t: _AMP_ENTITY.sub('&', t))),
    ("'", r'[A-Za-z][^ \t\n\r\u00A0]', _mapped(lambda t: _quotes(t, True))),
    (REDAUX, None, _mapped(lambda t: _quotes(t, False))),
    (SREDAUX, None, _mapped(lambda t: _quotes(t, False))),
    (QUOTES, None, _mapped(lambda t: _quotes(t, False))),
    ('<<|>>', None, _keep),
    (MISCSYMBOL, None, _keep),
    (r'[\x00\u200B\u200E\u200F\uFEFF]|' + SPACE + '+', None, _skip),
    (NEWLINE, None, lambda t: (_NL, len(t))),
    (_ci('&nbsp;'), None, _skip),
    (r'[^\n]', None, _skip),  # untokenizable: Java drops it
]

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
    for pattern, trail, action in _RULES
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
    _alt(
        ABBREV1,
        ABBREV2,
        ABBREV3,
        ACRONYM,
        _alt(_ci('pt') + '[eyEY]', _ci('co')) + r'\.',
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
