"""Word-level tokenizers built offline for tests and the demo.

Real runs load the tokenizer of the BLIP-2 checkpoint
(``AutoTokenizer.from_pretrained``). Tests and the CPU demo have no model hub,
so they use a word-level tokenizer built with the ``tokenizers`` library over
a small vocabulary that the config lists (``tokenizer=dict(words=[...])``).
It follows the special-token conventions of the LLM family it stands in for,
so that the caption head's prompt, padding and end-of-caption logic runs
exactly as it would with the real tokenizer.
"""

from typing import Iterable

from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    models,
    pre_tokenizers,
    processors,
)
from transformers import PreTrainedTokenizerFast

# Special tokens, their order (= ids) and the template that adds them, per
# family: OPT puts '</s>' in front (bos == eos), T5 appends '</s>', Llama
# puts '<s>' in front, Vicuna puts '</s>' in front (bos == eos: LAVIS's
# Blip2VicunaInstruct sets its Llama tokenizer's BOS to '</s>', and
# transformers' InstructBLIP conversion did the same), BERT (InstructBLIP's
# Q-Former) wraps in [CLS] ... [SEP].
_STYLES = {
    'opt': dict(
        specials=['<pad>', '</s>', '<unk>'],
        template='</s> $A',
        roles=dict(
            pad_token='<pad>',
            bos_token='</s>',
            eos_token='</s>',
            unk_token='<unk>',
        ),
    ),
    't5': dict(
        specials=['<pad>', '</s>', '<unk>'],
        template='$A </s>',
        roles=dict(pad_token='<pad>', eos_token='</s>', unk_token='<unk>'),
    ),
    'llama': dict(
        specials=['<unk>', '<s>', '</s>', '<pad>'],
        template='<s> $A',
        roles=dict(
            pad_token='<pad>',
            bos_token='<s>',
            eos_token='</s>',
            unk_token='<unk>',
        ),
    ),
    'vicuna': dict(
        specials=['<unk>', '<s>', '</s>', '<pad>'],
        template='</s> $A',
        roles=dict(
            pad_token='<pad>',
            bos_token='</s>',
            eos_token='</s>',
            unk_token='<unk>',
        ),
    ),
    'bert': dict(
        specials=['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
        template='[CLS] $A [SEP]',
        roles=dict(
            pad_token='[PAD]',
            unk_token='[UNK]',
            cls_token='[CLS]',
            sep_token='[SEP]',
            mask_token='[MASK]',
        ),
    ),
}


def build_word_tokenizer(
    words: Iterable[str],
    style: str = 'opt',
    extra_tokens: Iterable[str] = ('\n',),
) -> PreTrainedTokenizerFast:
    """Build a word-level fast tokenizer over ``words``.

    Words are split on spaces and tabs; a newline is kept as a token of its
    own because OPT's captions end with ``'\\n'``.

    Args:
        words (Iterable[str]): The vocabulary, e.g. the words of the
            captions a config trains on (the tiny model configs list the
            synthetic clips' words).
        style (str): Special-token convention: ``'opt'``, ``'t5'``,
            ``'llama'``, ``'vicuna'`` or ``'bert'``.
        extra_tokens (Iterable[str]): Tokens appended after the words:
            the newline by default.

    Returns:
        PreTrainedTokenizerFast: Saves and loads like any transformers
        tokenizer (``save_pretrained`` / ``AutoTokenizer``).
    """
    if style not in _STYLES:
        raise ValueError(
            f'Unknown tokenizer style {style!r}; expected one '
            f'of {sorted(_STYLES)}.'
        )
    spec = _STYLES[style]
    tokens = list(spec['specials'])
    for token in list(words) + list(extra_tokens):
        if token not in tokens:
            tokens.append(token)
    vocab = {token: idx for idx, token in enumerate(tokens)}
    roles = spec['roles']

    tokenizer = Tokenizer(
        models.WordLevel(vocab, unk_token=roles['unk_token'])
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r'[ \t]+'), behavior='removed'),
            pre_tokenizers.Split(Regex(r'\n'), behavior='isolated'),
        ]
    )
    template_specials = [t for t in spec['template'].split() if t != '$A']
    tokenizer.post_processor = processors.TemplateProcessing(
        single=spec['template'],
        pair=f"{spec['template']} $B",
        special_tokens=[(t, vocab[t]) for t in template_specials],
    )
    # Joins words with spaces when decoding.
    tokenizer.decoder = decoders.WordPiece(prefix='##')
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **roles)
