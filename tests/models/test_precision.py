"""Precision flow through the parts, checked on the tensors autograd keeps.

CPU autocast stands in for CUDA's: the dtype rules (which operations cast,
what is cached) are the same; the GPU run of the benchmark measures the
memory they save.
"""

import copy
import tempfile
from unittest import mock

import pytest
import torch
from mmaction.registry import MODELS
from transformers import PreTrainedModel

from tests.helpers import build_captioner, caption_samples, tiny_model_cfg
from vidcap_mm.models import build_word_tokenizer, load_blip2

CAPTIONS = ['a red circle on a blue background', 'a green square']


class SavedTensors:
    """Records what autograd keeps for backward inside the block."""

    def __init__(self):
        self.saved = []

    def __enter__(self):
        def pack(tensor):
            self.saved.append(tensor)
            return tensor

        self._hooks = torch.autograd.graph.saved_tensors_hooks(
            pack, lambda t: t
        )
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self._hooks.__exit__(*exc)

    def copies_of(self, shape):
        """Distinct storages among saved tensors holding a ``shape``
        tensor (or a view of it with the same last dimension), by dtype."""
        seen = {}
        for tensor in self.saved:
            if tensor.numel() == torch.Size(shape).numel() and (
                tensor.shape[-1] == shape[-1]
            ):
                ptr = tensor.untyped_storage().data_ptr()
                seen[ptr] = tensor.dtype
        return sorted(str(d) for d in seen.values())


def wide_vit_cfg(kind='t5'):
    """A tiny config whose ViT width (48) differs from the Q-Former's (32),
    so that frame tokens are told apart from Q-Former activations by
    shape."""
    cfg = tiny_model_cfg(kind)
    cfg['blip2_config']['vision_config'] = dict(
        cfg['blip2_config']['vision_config'], hidden_size=48
    )
    cfg['blip2_config']['qformer_config'] = dict(
        cfg['blip2_config']['qformer_config'], encoder_hidden_size=48
    )
    return cfg


def neck_with(**neck):
    cfg = wide_vit_cfg()
    cfg['neck'] = dict(cfg['neck'], **neck)
    torch.manual_seed(0)
    return MODELS.build(cfg).neck


FRAME_TOKENS = (2, 3, 17, 48)  # B, T, N (16 patches + class), D
CONCAT = (2, 3 * 17, 48)


@pytest.mark.parametrize(
    'compute_dtype, outer, expected',
    [
        (None, None, ['torch.float32']),
        (None, torch.bfloat16, ['torch.bfloat16']),
        ('bfloat16', None, ['torch.bfloat16']),
        ('bfloat16', torch.float16, ['torch.bfloat16']),
        ('float32', torch.bfloat16, ['torch.float32']),
    ],
)
def test_frame_tokens_are_cast_once_and_kept_once(
    compute_dtype, outer, expected
):
    neck = neck_with(compute_dtype=compute_dtype)
    # The tiny Q-Former has 2 cross-attention layers: 4 key / value
    # projections of the frame tokens. Cast inside autocast, each kept
    # its own copy.
    frame_tokens = torch.randn(FRAME_TOKENS, dtype=torch.float16)
    with (
        SavedTensors() as saved,
        torch.autocast(
            'cpu', dtype=outer or torch.bfloat16, enabled=outer is not None
        ),
    ):
        embeds = neck(frame_tokens)
    assert saved.copies_of(CONCAT) == expected
    embeds.float().sum().backward()
    assert neck.query_tokens.grad is not None


def test_qformer_precision_changes_the_numbers_only_where_asked():
    frame_tokens = torch.randn(FRAME_TOKENS)
    fp32 = neck_with()(frame_tokens)
    again = neck_with(compute_dtype='float32')(frame_tokens)
    bf16 = neck_with(compute_dtype='bfloat16')(frame_tokens)
    assert torch.equal(fp32, again)
    assert not torch.equal(fp32, bf16)
    assert torch.allclose(fp32, bf16, atol=0.1)
    assert fp32.dtype == bf16.dtype == torch.float32  # the projection's


def test_half_precision_vit_runs_in_its_dtype_under_other_autocast():
    cfg = wide_vit_cfg()
    cfg['backbone'] = dict(cfg['backbone'], dtype='float16')
    torch.manual_seed(0)
    backbone = MODELS.build(cfg).backbone
    seen = set()
    for module in backbone.modules():
        if isinstance(module, torch.nn.Linear):
            module.register_forward_pre_hook(
                lambda m, args: seen.add(args[0].dtype)
            )
    with torch.autocast('cpu', dtype=torch.bfloat16):
        tokens = backbone(torch.randn(2, 3, 3, 32, 32))
    assert seen == {torch.float16}
    assert tokens.dtype == torch.float16
    assert tuple(tokens.shape) == FRAME_TOKENS


@pytest.mark.parametrize('kind', ['t5', 'opt'])
def test_frozen_llm_weights_are_not_cast_again_under_amp(kind):
    """A bfloat16 LLM under float16 autocast (``--amp`` with the default
    dtype): autocast would cast its frozen weights on every use and keep
    the copies for backward (the gradient reaches the Q-Former through
    the LLM). The head runs in its own dtype instead."""
    torch.manual_seed(0)
    captioner = build_captioner(kind, head=dict(dtype='bfloat16'))
    captioner.train()
    llm = captioner.head.language_model
    weight_shapes = {tuple(p.shape) for p in llm.parameters() if p.dim() == 2}
    inputs = torch.randn(2, 2, 3, 32, 32)
    with torch.autocast('cpu', dtype=torch.float16):
        visual = captioner.extract_feat(inputs)
        with SavedTensors() as saved:
            loss = captioner.head.loss(visual, caption_samples(CAPTIONS))
    storages = {p.untyped_storage().data_ptr() for p in llm.parameters()}
    weight_copies = [
        t
        for t in saved.saved
        if tuple(t.shape) in weight_shapes
        and t.untyped_storage().data_ptr() not in storages
    ]
    assert weight_copies == []
    assert torch.isfinite(loss['loss_caption'])
    loss['loss_caption'].backward()
    assert captioner.neck.query_tokens.grad is not None


def saved_pretrained(kind='t5'):
    cfg = tiny_model_cfg(kind)
    torch.manual_seed(0)
    model = load_blip2(blip2_config=cfg['blip2_config'])
    directory = tempfile.mkdtemp()
    model.save_pretrained(directory)
    build_word_tokenizer(**cfg['tokenizer']).save_pretrained(directory)
    cfg = {
        k: v for k, v in cfg.items() if k not in ('blip2_config', 'tokenizer')
    }
    cfg['pretrained'] = directory
    return model.state_dict(), cfg


def test_pretrained_loads_each_part_in_its_dtype():
    reference, cfg = saved_pretrained()
    cfg['backbone'] = dict(cfg['backbone'], dtype='float16')
    cfg['head'] = dict(cfg['head'], dtype='bfloat16')
    calls = []
    from_pretrained = PreTrainedModel.from_pretrained.__func__

    def spy(cls, *args, **kwargs):
        calls.append(kwargs.get('dtype'))
        return from_pretrained(cls, *args, **kwargs)

    with mock.patch(
        'transformers.modeling_utils.PreTrainedModel.from_pretrained',
        classmethod(spy),
    ):
        captioner = MODELS.build(cfg)
    # The LLM came out of the checkpoint in bfloat16, not via float32.
    assert calls == [torch.bfloat16]
    parts = dict(
        vision_model=(captioner.backbone.vision_model, torch.float16),
        qformer=(captioner.neck.qformer, torch.float32),
        language_projection=(
            captioner.neck.language_projection,
            torch.float32,
        ),
        language_model=(captioner.head.language_model, torch.bfloat16),
    )
    for prefix, (module, dtype) in parts.items():
        for name, tensor in module.state_dict().items():
            original = reference[f'{prefix}.{name}']
            if original.is_floating_point():
                # One rounding from float32: a float16 ViT is not rounded
                # through bfloat16 on the way.
                assert tensor.dtype == dtype, name
                assert torch.equal(tensor, original.to(dtype)), name
    assert torch.equal(captioner.neck.query_tokens, reference['query_tokens'])


def test_attention_implementation_from_config():
    cfg = copy.deepcopy(tiny_model_cfg('opt'))
    cfg['attn_implementation'] = 'eager'
    captioner = MODELS.build(cfg)
    llm_config = captioner.head.language_model.config
    assert llm_config._attn_implementation == 'eager'
    default = MODELS.build(tiny_model_cfg('opt'))
    assert default.head.language_model.config._attn_implementation == 'sdpa'
