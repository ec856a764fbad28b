"""CoreNLP 3.4.1's PTB lexer as patterns: its token classes (the macros of
``PTBLexer.flex``) and its rules, in their priority order, each with the
action that makes its token.

:mod:`vidcap_mm.evaluation.ptb_tokenizer` runs them (longest match, the
first rule on a tie, trailing context as look-ahead), with a fast path for
lines of plain words.
"""

import regex


def caseless(text: str) -> str:
    """A literal matched case-insensitively (JFlex ``%caseless``).

    ``%caseless`` applies to literals only: character classes keep their
    case, so patterns below write those outside ``caseless``.
    """
    # Spelled out as [xX] rather than (?i:...): the regex module misses
    # matches of some alternations that hold scoped flags (seen with
    # ``(?:(?i:www\.)x|(?:[^.]+\.)+com)`` on "foo.com").
    return ''.join(
        f'[{c}{c.swapcase()}]' if c.isalpha() else regex.escape(c)
        for c in text
    )


def either(*parts: str) -> str:
    """Any one of the patterns ``parts``."""
    return '(?:' + '|'.join(parts) + ')'


def caseless_either(words: str) -> str:
    """Any one of the ``|``-separated literals, case-insensitively."""
    return either(*(caseless(w) for w in words.split('|')))


# ---- token classes -------------------------------------------------------
SPACE = r'[ \t\u00A0\u2000-\u200A\u3000]'
NEWLINE = r'(?:\r\n|[\n\r\u2028\u2029\x0b\x0c\x85])'
SPACENL = either(SPACE, NEWLINE)
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
SENTEND = SPACENL + either(SPACENL, UPPER, SGML)
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
SPAMP = caseless('&amp;')
LETTER_ENTITY = '&[aeiouAEIOU]' + caseless_either('acute|grave|uml') + ';'
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
LETTER = either(LETTER_CLASS, LETTER_ENTITY, LETTER_EXTRA)
LD = either(LETTER, DIGIT)
WORD = rf'{LETTER}{LD}*(?:[.!?]{LETTER}{LD}*)*'
FILENAME_EXT = caseless_either(
    'bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|'
    'jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip'
)
FILENAME = rf'{LD}+(?:[.]{LD}+)*[.]{FILENAME_EXT}'
APOS = either(r"['\u0092\u2019]", caseless('&apos;'))
APOSETC = either(APOS, r'[`\u0091\u2018\u201B]')
L_OR_D = r'[\p{L}\d]'
THING_PART = rf'(?:[dDoOlL]{APOSETC}{L_OR_D})?{L_OR_D}+'
THING = rf'{THING_PART}(?:[\-_\u058A\u2010\u2011]{THING_PART})*'
THINGA = rf'[A-Z]+(?:(?:[+&]|{SPAMP})[A-Z]+)+'
THING3 = (
    r'[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}'
    r'(?:\\?/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}'
)
_ACRO_SPECIAL = (
    caseless_either('Canada|Sino|Korean|EU|Japan|non')
    + caseless('-U.S')
    + '|'
    + caseless('U.S.-')
    + caseless_either('U.K|U.S.S.R')
)
ACRO = rf'(?:[A-Za-z](?:\.[A-Za-z])*|{_ACRO_SPECIAL})'
ACRO2 = rf'(?:[A-Za-z](?:\.[A-Za-z])+|{_ACRO_SPECIAL})'
HTHING = (
    r'[A-Za-z0-9][A-Za-z0-9.,\u00AD]*'
    rf'(?:-(?:[A-Za-z0-9\u00AD]+|{ACRO2}\.))+'
)
REDAUX = APOS + either('[msdMSD]', caseless_either('re|ve|ll'))
SWORD = r'[A-Za-z\u00AD]*[A-MO-Za-mo-z]\u00AD*'
SREDAUX = caseless('n') + APOSETC + caseless('t')
APOWORD = either(
    APOS + caseless('n') + APOS + '?',
    '[lLdDjJ]' + APOS,
    caseless('Dunkin') + APOS,
    caseless('somethin') + APOS,
    caseless('ol') + APOS,
    APOS + caseless('em'),
    rf'[A-HJ-XZn]{APOSETC}\p{{L}}{{2}}\p{{L}}*',
    APOS + '[2-9]0' + caseless('s'),
    APOS + caseless('til') + caseless('l') + '?',
    rf'\p{{L}}\p{{L}}*[aeiouyAEIOUY]{APOSETC}[aeiouA-Z]\p{{L}}*',
    APOS + caseless('cause'),
    caseless("cont'd") + r'(?:\.)?',
    caseless_either("'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l"),
    caseless('O') + APOSETC + caseless('o'),
)
APOWORD2 = caseless('y') + APOS
_URL_END = r'[^ \t\n\f\r"<>|.!?(){},\-]'
FULLURL = caseless('http') + '[sS]?' + r'://[^ \t\n\f\r"<>|(){}]+' + _URL_END
LIKELYURL = (
    r'(?:(?:' + caseless('www.') + r'(?:[^ \t\n\f\r"<>|.!?(){},]+\.)+'
    r'[a-zA-Z]{2,4})|(?:(?:[^ \t\n\f\r"`\'<>|.!?(){},-_$]+\.)+'
    + caseless_either('com|net|org|edu')
    + r'))(?:/[^ \t\n\f\r"<>|()]+'
    + _URL_END
    + ')?'
)
EMAIL = (
    either(caseless('&lt;'), '<')
    + r'?[a-zA-Z0-9][^ \t\n\f\r"<>|()\u00A0{}]*@'
    + r'(?:[^ \t\n\f\r"<>|(){}.\u00A0]+\.)*(?:[^ \t\n\f\r"<>|(){}.\u00A0]+)'
    + either(caseless('&gt;'), '>')
    + '?'
)
TWITTER = rf'(?:@[a-zA-Z_][a-zA-Z_0-9]*|#{LETTER}+)'

# Abbreviations, by the context CoreNLP expects after them.
ABMONTH = caseless_either('Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec')
ABDAYS = caseless_either('Mon|Tue|Tues|Wed|Thu|Thurs|Fri')
ABSTATE = either(
    caseless_either('Ala|Ariz'),
    'A' + caseless('z'),
    'A' + caseless('rk'),
    caseless_either('Calif|Colo|Conn|Ct|Dak'),
    'D' + caseless('el'),
    caseless_either('Fla|Ga'),
    'I' + caseless('ll'),
    caseless('Ind') + '|' + caseless('Kan') + caseless('s') + '?',
    caseless('Ky'),
    'L' + caseless('a'),
    'M' + caseless('ass'),
    caseless_either('Md|Mich|Minn'),
    'M' + caseless('iss'),
    caseless_either('Mo|Mont|Neb|Nev|Okla'),
    'O' + caseless('re'),
    'P' + caseless('a'),
    caseless_either('Penn|Tenn'),
    'T' + caseless('ex'),
    caseless_either('Va|Vt'),
    'W' + caseless('ash'),
    caseless('Wis') + caseless('c') + '?',
    caseless('Wyo'),
)
ABCOMP = either(
    caseless('Inc'),
    caseless('Co') + caseless('s') + '?',
    caseless('Corp'),
    caseless('P')
    + caseless('p')
    + '?'
    + caseless('t')
    + '[ye]'
    + caseless('s')
    + '?',
    caseless_either('Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys'),
)
ABNUM = caseless_either('tel|est|ext|sq')
ABPTIT = either(
    caseless_either('Jr|Sr|Bros'),
    caseless_either('Ed|Ph') + caseless('.D'),
    caseless_either('Blvd|Rd|Esq'),
)
ABBREV1 = (
    either(ABMONTH, ABDAYS, ABSTATE, ABCOMP, ABNUM, ABPTIT)
    + '|'
    + caseless_either('etc|al|seq|Bldg')
)
ABBREV1 = '(?:' + ABBREV1 + r')\.'
ABTITLE = either(
    caseless_either('Mr|Mrs|Ms'),
    'M' + caseless('iss'),
    caseless('Dr') + caseless('s') + '?',
    caseless('Prof') + caseless('s') + '?',
    caseless('Sen') + caseless('s') + '?',
    caseless('Rep') + caseless('s') + '?',
    caseless('Atty') + caseless('s') + '?',
    caseless_either('Lt|Col|Gen|Messrs'),
    caseless('Gov') + caseless('s') + '?',
    caseless_either('Adm|Rev|Maj|Sgt|Cpl|Pvt|Capt'),
    caseless('St') + caseless('e') + '?',
    caseless_either('Ave|Pres|Lieut|Hon|Brig'),  # codespell:ignore
    caseless('C') + caseless('o') + '?' + caseless('mdr'),
    caseless_either('Pfc|Spc'),
    caseless('Supt') + caseless('s') + '?',
    caseless_either('Det|Mt|Ft|Adj|Adv|Asst|Assoc|Ens|Insp|Mlle|Mme|Msgr|Sfc'),
)
ABCOMP2 = either(
    caseless_either('Invt|Elec|Natl'),
    caseless('M') + '[ft]' + caseless('g'),
    caseless('Dept'),
)
ABBREV4 = either(
    ABTITLE,
    caseless_either('vs|Alex|Wm|Jos|Cie|a.k.a|cf|TREAS|Ph'),
    ACRO,
    ABCOMP2,
)
ABBREV2 = ABBREV4 + r'\.'
ACRONYM = ACRO + r'\.'
ABBREV3 = caseless_either('ca|fig|figs|prop|no|nos|art|bldg|pp|op') + r'\.'
PHONE = (
    r'(?:(?:\([0-9]{2,3}\)[ \u00A0]?|(?:\+\+?)?(?:[0-9]{2,4}[\- \u00A0])?'
    r'[0-9]{2,4}[\- \u00A0])[0-9]{3,4}[\- \u00A0]?[0-9]{3,5}'
    r'|(?:(?:\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5})'
)
LDOTS = r'(?:\.{3,5}|(?:\.[ \u00A0]){2,4}\.|[\u0085\u2026])'
INSENTP = r'[,;:\u3001]'
QUOTES = either(
    APOS,
    "''",
    r'[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094'
    r'\u201E\u201F\u2039\u203A\u00AB\u00BB]{1,2}',
)
DBLQUOT = either('"', caseless('&quot;'))
_S_AMP = caseless('S') + either('&', caseless('&amp;'))
TBSPEC = either(
    caseless('-') + caseless_either('RRB|LRB|RCB|LCB|RSB|LSB') + '-',
    caseless('C.D.s'),
    caseless('pro-'),
    caseless('anti-'),
    _S_AMP + caseless('P-500'),
    _S_AMP + caseless('Ls'),
    caseless('Cap') + APOS + caseless('n'),
    caseless('c') + APOS + caseless('est'),
)
TBSPEC2 = APOS + '[0-9][0-9]'
SMILEY = r"[<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]]"
_FACE = r"[\-\^x=~<>']"
ASIANSMILEY = either(
    r'[\^x=~<>]\.\[\^' + caseless('x') + r'=~<>\]',
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
_ACRONYM_NEXT = either(
    *(
        w[0] + caseless(w[1:])
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
RULES = [
    (caseless('c++'), None, _keep),
    (caseless_either('c|f') + '#', None, _keep),
    (caseless('cannot'), None, _split_last(3)),
    (caseless("'twas"), None, _split_last(3)),
    (caseless("'tis"), None, _split_last(2)),
    (caseless_either('gonna|gotta|lemme|gimme|wanna'), None, _split_last(2)),
    (SGML, None, _mapped(lambda t: t.replace(' ', '\u00a0'))),
    (
        either(
            caseless_either('&MD;|&mdash;|&ndash;'),
            r'[\u0096\u0097\u2013-\u2015]',
        ),
        None,
        _mapped(lambda t: '--'),
    ),
    (SPAMP, None, _mapped(lambda t: '&')),
    (
        '&' + caseless_either('HT|TL|UR|LR|QC|QL|QR|odq|cdq') + ';|&#[0-9]+;',
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
        either(caseless('pt') + '[eyEY]', caseless('co')) + r'\.',
        SPACE + caseless_either('ltd|lim'),
        _keep,
    ),
    (ABBREV1, SENTEND, _reduplicate_period),
    (ABBREV1, r'(?s:..)', _keep),
    (ABBREV1, None, _reduplicate_period),
    (ABBREV2, None, _keep),
    (ABBREV4, SPACE, _keep),
    (ACRO, SPACENL, _keep),
    (TBSPEC2, SPACENL, _keep),
    (FILENAME, either(SPACENL, '[.?!,]'), _keep),
    (WORD + r'\.', INSENTP, _mapped(_no_soft_hyphens)),
    (
        PHONE,
        None,
        _mapped(lambda t: t.replace(' ', '\u00a0').translate(_PARENS)),
    ),
    (DBLQUOT, '[A-Za-z0-9$]', _mapped(lambda t: _quotes(t, True))),
    (DBLQUOT, None, _mapped(lambda t: _quotes(t, False))),
    ('\x7f', None, _skip),
    (either('<', caseless('&lt;')), None, _mapped(lambda t: '<')),
    (either('>', caseless('&gt;')), None, _mapped(lambda t: '>')),
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
    (caseless('&nbsp;'), None, _skip),
    (r'[^\n]', None, _skip),  # untokenizable: Java drops it
]
