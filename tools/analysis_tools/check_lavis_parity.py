"""Parity of the LAVIS converter with LAVIS's own module code (a dev check,
not run by CI: it needs LAVIS's source, which this repo does not ship).

``python tools/analysis_tools/check_lavis_parity.py LAVIS_SRC``

LAVIS_SRC is a directory holding ``lavis/models/eva_vit.py`` and
``lavis/models/blip2_models/Qformer.py`` (an unpacked
``pip download salesforce-lavis --no-deps`` wheel, a LAVIS clone, or the
seed's fork). Those two files are imported from there, unmodified, with
small stand-ins for the imports that fail without LAVIS's dependencies
(timm's ``drop_path`` / ``to_2tuple`` / ``trunc_normal_``, LAVIS's
``download_cached_file``, and the transformers 4 helpers transformers 5
moved or removed).

For each LLM family (OPT; T5 as Flan-T5, ``lm_head`` its own weight) and
Q-Former cross-attention frequency (2, BLIP-2's; 1, the tiny configs'), it
builds tiny LAVIS parts the way ``Blip2OPT`` / ``Blip2T5.__init__`` do
(EVA ``VisionTransformer``, ``ln_vision``, ``init_Qformer``'s
``BertLMHeadModel`` with ``cls``, word / position embeddings and the text
FFNs removed, query tokens, projection, a transformers OPT / T5 for
LAVIS's LLM) at the sizes of ``configs/_base_/models/tiny_blip2_*.py``,
with every weight perturbed; writes their state dict as LAVIS saves it
(whole, and trainable part only as ``runner_base`` saves it); converts it
with :mod:`vidcap_mm.models.lavis_checkpoint`; and compares, on the same
random clips (T=1 and T=2, frames concatenated as the seed's
``Blip2OPT.forward`` does), LAVIS's visual tokens
(``proj(Qformer.bert(query_tokens, ln_vision(visual_encoder(x))))``) with
our ``extract_feat``, and the LLM's logits on ``[visual tokens; word
embeddings]``. Prints the largest absolute differences and exits 1 if one
is above ``--tol`` times the largest magnitude.

Known difference: LAVIS's ``ln_vision`` is an ``nn.LayerNorm`` with eps
1e-5; transformers' BLIP-2 gives ``post_layernorm`` the ViT's eps (1e-6).
``--ln-vision-eps 1e-5`` sets ours to LAVIS's, to see what remains.
"""

import argparse
import copy
import importlib.util
import os.path as osp
import sys
import tempfile
import types
from functools import partial

import torch
from torch import nn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAVIS_FILES = (
    ('lavis.models.eva_vit', 'lavis/models/eva_vit.py'),
    (
        'lavis.models.blip2_models.Qformer',
        'lavis/models/blip2_models/Qformer.py',
    ),
)


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__path__ = []
    module.__dict__.update(attrs)
    sys.modules.setdefault(name, module)
    return sys.modules[name]


def _stand_ins():
    """What LAVIS's two files import and this environment may lack."""

    def drop_path(x, drop_prob=0.0, training=False):
        if drop_prob == 0.0 or not training:
            return x
        keep = 1 - drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1))
        return x.div(keep) * mask.bernoulli_(keep)

    def to_2tuple(x):
        return tuple(x) if isinstance(x, (tuple, list)) else (x, x)

    def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
        return nn.init.trunc_normal_(tensor, mean, std, a, b)

    try:
        import timm.models.layers  # noqa: F401
        import timm.models.registry  # noqa: F401
    except ImportError:
        _module('timm')
        _module('timm.models')
        _module(
            'timm.models.layers',
            drop_path=drop_path,
            to_2tuple=to_2tuple,
            trunc_normal_=trunc_normal_,
        )
        _module('timm.models.registry', register_model=lambda fn: fn)

    def no_download(*args, **kwargs):
        raise RuntimeError('check_lavis_parity: no downloads')

    for name in (
        'lavis',
        'lavis.common',
        'lavis.models',
        'lavis.models.blip2_models',
    ):
        _module(name)
    _module('lavis.common.dist_utils', download_cached_file=no_download)

    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils

    def no_pruning(*args, **kwargs):
        raise NotImplementedError('check_lavis_parity: no head pruning')

    for name in ('apply_chunking_to_forward', 'prune_linear_layer'):
        if not hasattr(modeling_utils, name):
            setattr(modeling_utils, name, getattr(pytorch_utils, name))
    if not hasattr(modeling_utils, 'find_pruneable_heads_and_indices'):
        modeling_utils.find_pruneable_heads_and_indices = no_pruning


def load_lavis(src):
    """LAVIS's ``eva_vit`` and ``Qformer`` modules from ``src``."""
    _stand_ins()
    modules = []
    for name, relative in LAVIS_FILES:
        path = osp.join(src, relative)
        if not osp.isfile(path):
            raise SystemExit(
                f'{path}: no such file; LAVIS_SRC must hold {relative}'
            )
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        modules.append(module)
    eva_vit, qformer = modules
    bert = qformer.BertPreTrainedModel

    # transformers 4's behaviour where transformers 5 differs: LAVIS calls
    # init_weights() in __init__ (5's needs post_init's bookkeeping) and
    # uses two ModuleUtilsMixin helpers 5 dropped.
    def init_weights(self):
        self.apply(self._init_weights)

    def invert_attention_mask(self, mask):
        mask = (
            mask[:, None, :, :] if mask.dim() == 3 else mask[:, None, None, :]
        )
        mask = mask.to(self.dtype)
        return (1.0 - mask) * torch.finfo(self.dtype).min

    def get_head_mask(
        self, head_mask, num_hidden_layers, is_attention_chunked=False
    ):
        assert head_mask is None, 'check_lavis_parity: no head masks'
        return [None] * num_hidden_layers

    bert.init_weights = init_weights
    for name, fn in (
        ('invert_attention_mask', invert_attention_mask),
        ('get_head_mask', get_head_mask),
    ):
        if not hasattr(bert, name):
            setattr(bert, name, fn)
    return eva_vit, qformer


class FloatLayerNorm(nn.LayerNorm):
    """As ``lavis.models.blip2_models.blip2.LayerNorm`` (``ln_vision``):
    float32 inside, torch's default eps (1e-5)."""

    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


def perturb(module, scale=0.1, seed=0):
    """Every weight moved off its initial value (biases, EVA's q / v biases
    and norm weights included), so that a misplaced tensor shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.add_(torch.randn(param.shape, generator=generator) * scale)


def build_lavis_model(eva_vit, qformer, family, freq, llm, vision, num_query):
    """A LAVIS ``Blip2OPT`` / ``Blip2T5``'s parts, as its ``__init__``
    builds them, at the tiny config's sizes."""
    from transformers import BertConfig

    vit = eva_vit.VisionTransformer(
        img_size=vision['image_size'],
        patch_size=vision['patch_size'],
        embed_dim=vision['hidden_size'],
        depth=vision['num_hidden_layers'],
        num_heads=vision['num_attention_heads'],
        mlp_ratio=vision['intermediate_size'] / vision['hidden_size'],
        qkv_bias=True,
        use_mean_pooling=False,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),  # create_eva_vit_g's
    )
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        vocab_size=64,
    )
    # Blip2Base.init_Qformer
    config.encoder_width = vit.num_features
    config.add_cross_attention = True
    config.cross_attention_freq = freq
    config.query_length = num_query
    model = nn.Module()
    model.visual_encoder = vit
    model.ln_vision = FloatLayerNorm(vit.num_features)
    model.Qformer = qformer.BertLMHeadModel(config)
    model.query_tokens = nn.Parameter(
        torch.zeros(1, num_query, config.hidden_size)
    )
    model.Qformer.cls = None
    model.Qformer.bert.embeddings.word_embeddings = None
    model.Qformer.bert.embeddings.position_embeddings = None
    for layer in model.Qformer.bert.encoder.layer:
        layer.output = None
        layer.intermediate = None
    setattr(model, f'{family}_model', llm)
    setattr(
        model,
        f'{family}_proj',
        nn.Linear(
            config.hidden_size, llm.get_input_embeddings().embedding_dim
        ),
    )
    perturb(model)
    return model.eval()


def lavis_visual_tokens(model, family, image):
    """``Blip2OPT.forward`` / ``Blip2T5.forward`` (the seed's) up to the
    projection; ``image`` is ``(B, C, T, H, W)``."""
    batch, channels, frames, height, width = image.shape
    image = image.permute(0, 2, 1, 3, 4).reshape(
        batch * frames, channels, height, width
    )
    image_embeds = model.ln_vision(model.visual_encoder(image))
    image_embeds = image_embeds.reshape(batch, -1, image_embeds.shape[-1])
    output = model.Qformer.bert(
        query_embeds=model.query_tokens.expand(batch, -1, -1),
        encoder_hidden_states=image_embeds,
        encoder_attention_mask=torch.ones(
            image_embeds.shape[:-1], dtype=torch.long
        ),
        return_dict=True,
    )
    return getattr(model, f'{family}_proj')(output.last_hidden_state)


def llm_logits(llm, visual, ids, decoder_ids):
    inputs = torch.cat([visual, llm.get_input_embeddings()(ids)], dim=1)
    kwargs = dict(
        inputs_embeds=inputs,
        attention_mask=torch.ones(inputs.shape[:2], dtype=torch.long),
    )
    if llm.config.is_encoder_decoder:
        kwargs['decoder_input_ids'] = decoder_ids
    return llm(**kwargs).logits


def lavis_llm(text_config):
    """LAVIS's LLM: transformers' OPT; for T5, Flan-T5 as LAVIS's
    ``modeling_t5`` runs it (``lm_head`` its own weight, no rescaling of
    the decoder output)."""
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        T5ForConditionalGeneration,
    )

    text_config = dict(text_config)
    config = AutoConfig.for_model(text_config.pop('model_type'), **text_config)
    if config.model_type == 'opt':
        return AutoModelForCausalLM.from_config(config)
    llm = T5ForConditionalGeneration(config)
    llm.lm_head.weight = nn.Parameter(llm.shared.weight.detach().clone())
    getattr(llm, 'all_tied_weights_keys', {}).pop('lm_head.weight', None)
    return llm


def trainable_part(model, family):
    """``model``'s state dict as LAVIS's ``runner_base._save_checkpoint``
    saves it with a frozen ViT and LLM: the entries of frozen parameters
    as ``named_parameters()`` names them (a shared weight once) left out."""
    frozen = {
        name
        for name, _ in model.named_parameters()
        if name.startswith(('visual_encoder.', f'{family}_model.'))
    }
    return {k: v for k, v in model.state_dict().items() if k not in frozen}


def run_case(eva_vit, qformer, kind, freq, trained_only, ln_vision_eps):
    from mmaction.registry import MODELS
    from mmengine.config import Config

    from vidcap_mm.models.lavis_checkpoint import convert_lavis_checkpoint
    from vidcap_mm.models.stand_ins import TINY_CONFIGS

    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', TINY_CONFIGS[kind])
    ).model.to_dict()
    blip2 = cfg['blip2_config']
    blip2['qformer_config']['cross_attention_frequency'] = freq
    if kind == 't5':
        blip2['text_config']['tie_word_embeddings'] = False
    family = 'opt' if kind == 'opt' else 't5'
    torch.manual_seed(1)
    lavis = build_lavis_model(
        eva_vit,
        qformer,
        family,
        freq,
        lavis_llm(blip2['text_config']),
        blip2['vision_config'],
        blip2['num_query_tokens'],
    )
    with tempfile.TemporaryDirectory() as tmp:
        whole_path = osp.join(tmp, 'whole.pth')
        torch.save({'model': lavis.state_dict()}, whole_path)
        whole, _ = convert_lavis_checkpoint(whole_path, copy.deepcopy(cfg))
        path = whole_path
        if trained_only:
            path = osp.join(tmp, 'trainable.pth')
            torch.save({'model': trainable_part(lavis, family)}, path)
        checkpoint, conversion = convert_lavis_checkpoint(
            path, copy.deepcopy(cfg)
        )
    torch.manual_seed(2)
    ours = MODELS.build(copy.deepcopy(cfg)).eval()
    # The frozen parts as the config's pretrained weights would give them
    # (LAVIS's own, converted whole), then the checkpoint strictly over them.
    ours.load_state_dict(whole['state_dict'], strict=True)
    own = ours.state_dict()
    for key, value in checkpoint['state_dict'].items():
        own[key].copy_(value)
    if ln_vision_eps is not None:
        ours.backbone.vision_model.post_layernorm.eps = ln_vision_eps
    generator = torch.Generator().manual_seed(3)
    rows = []
    for frames in (1, 2):
        image = torch.randn(
            2,
            3,
            frames,
            blip2['vision_config']['image_size'],
            blip2['vision_config']['image_size'],
            generator=generator,
        )
        ids = torch.randint(2, 100, (2, 5), generator=generator)
        decoder_ids = torch.randint(2, 100, (2, 4), generator=generator)
        with torch.no_grad():
            theirs = lavis_visual_tokens(lavis, family, image)
            mine = ours.extract_feat(image.permute(0, 2, 1, 3, 4))
            their_logits = llm_logits(
                getattr(lavis, f'{family}_model'), theirs, ids, decoder_ids
            )
            my_logits = llm_logits(
                ours.head.language_model, mine, ids, decoder_ids
            )
        rows.append(
            dict(
                frames=frames,
                visual=(theirs - mine).abs().max().item(),
                visual_max=theirs.abs().max().item(),
                logits=(their_logits - my_logits).abs().max().item(),
                logits_max=their_logits.abs().max().item(),
            )
        )
    return conversion, rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'lavis_src', help='directory holding lavis/models/eva_vit.py'
    )
    parser.add_argument(
        '--kinds', nargs='+', default=['opt', 't5'], choices=['opt', 't5']
    )
    parser.add_argument(
        '--tol',
        type=float,
        default=1e-5,
        help='largest difference allowed, relative to the largest magnitude',
    )
    parser.add_argument(
        '--ln-vision-eps',
        type=float,
        default=None,
        help="set our post_layernorm's eps (LAVIS's ln_vision: 1e-5)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, REPO)
    import vidcap_mm  # noqa: F401  (registers the model parts)

    eva_vit, qformer = load_lavis(args.lavis_src)
    failed = False
    for kind in args.kinds:
        for freq in (2, 1):
            for trained_only in (False, True):
                conversion, rows = run_case(
                    eva_vit,
                    qformer,
                    kind,
                    freq,
                    trained_only,
                    args.ln_vision_eps,
                )
                print(
                    f'{conversion.layout} cross_attention_freq={freq} '
                    f'{"trainable part" if trained_only else "whole"}: '
                    f'{len(conversion.state_dict)} tensors, left out '
                    f'{conversion.dropped + conversion.tied_copies}'
                )
                for row in rows:
                    bad = (
                        row['visual'] > args.tol * row['visual_max']
                        or row['logits'] > args.tol * row['logits_max']
                    )
                    failed |= bad
                    flag = '  ABOVE TOLERANCE' if bad else ''
                    print(
                        f'  T={row["frames"]}: visual tokens max |diff| '
                        f'{row["visual"]:.3g} '
                        f'(max |x| {row["visual_max"]:.3g}), '
                        f'logits {row["logits"]:.3g} '
                        f'(max |x| {row["logits_max"]:.3g}){flag}'
                    )
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
