"""Every field of every seed YAML next to what our config of that recipe
does: equal, the same effect in another form, not applicable, or
different and why.

    python tools/analysis_tools/seed_fidelity.py            # print
    python tools/analysis_tools/seed_fidelity.py --write    # docs/...

The seed's values are written out below (from the reference code's
lavis/projects/blip2/{train,eval}/caption_*.yaml); ours are read from the
configs each time, so a changed config changes the table, and
tests/tools/test_seed_fidelity.py keeps docs/seed_fidelity.md equal to
this script's output and the set of differences to the known ones.
"""

import argparse
import os.path as osp
import sys
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(REPO, 'docs', 'seed_fidelity.md')

EQUAL = 'equal'
SAME = 'same effect'
NOT_APPLICABLE = 'not applicable'
DIFFERS = 'differs'

# The seed's YAMLs: what all of them share, then each one's own fields.
_MODEL = dict(
    load_pretrained=True,
    load_finetuned=False,
    image_size=224,
    drop_path_rate=0,
    use_grad_checkpoint=False,
    vit_precision='fp16',
    freeze_vit=True,
    num_query_token=32,
)
_T5 = dict(
    _MODEL,
    arch='blip2_t5',
    model_type='pretrain_flant5xl',
    lora=True,
    lora_r=8,
    lora_alpha=16,
    lora_dropout=0.05,
    t5_model='google/flan-t5-xl',
    prompt='a video of',
)
_OPT = dict(
    _MODEL,
    arch='blip2_opt',
    model_type='pretrain_opt2.7b',
    opt_model='facebook/opt-2.7b',
    prompt='',
)
_RUN = dict(
    task='captioning',
    num_workers=4,
    max_len=32,
    min_len=5,
    num_beams=5,
    seed=42,
    output_dir='output/...',
    device='cuda',
    world_size=1,
    dist_url='env://',
    distributed=True,
)
_TRAIN_RUN = dict(
    _RUN,
    lr_sched='linear_warmup_cosine_lr',
    warmup_lr=1e-8,
    warmup_steps=1000,
    weight_decay=0.05,
    batch_size_eval=32,
    accum_grad_iters=1,
    amp=True,
    resume_ckpt_path=None,
    evaluate=False,
    train_splits=['train'],
    valid_splits=['val'],
    test_splits=['test'],
)
_EVAL_RUN = dict(
    _RUN,
    batch_size_train=64,
    batch_size_eval=32,
    evaluate=True,
    test_splits=['test'],
)


def _data(name, frames, train=True):
    """A YAML's datasets entry: the alpro video processors, blip_caption."""
    entry = {
        f'{name}.vis_processor.eval': dict(
            name='alpro_video_eval', n_frms=frames, image_size=224
        ),
        f'{name}.text_processor.eval': 'blip_caption',
    }
    if train:
        entry[f'{name}.vis_processor.train'] = dict(
            name='alpro_video_train', n_frms=frames, image_size=224
        )
        entry[f'{name}.text_processor.train'] = 'blip_caption'
    return entry


class SeedYaml(NamedTuple):
    config: Optional[str]  # ours, under configs/
    model: dict
    datasets: dict
    run: dict


_XE = '<the XE run>/checkpoint_best.pth'
SEED_YAMLS: Dict[str, SeedYaml] = {
    'train/caption_msrvtt_flant5xl_ft': SeedYaml(
        'msrvtt_flant5xl_ft',
        dict(_T5, pretrained='blip2_pretrained_flant5xl.pth'),
        {
            **_data('msrvtt_caption', 8),
            'webvid_2m_msrvtt.vis_processor.train': dict(
                name='alpro_video_train', n_frms=8, image_size=224
            ),
            'webvid_2m_msrvtt.text_processor.train': 'blip_caption',
        },
        dict(
            _TRAIN_RUN,
            train_dataset_ratios=dict(msrvtt_caption=1, webvid_2m_msrvtt=7),
            runner='runner_iter',
            max_iters=15000,
            iters_per_inner_epoch=500,
            init_lr=5e-5,
            min_lr=1e-5,
            max_epoch=20,
            batch_size_train=64,
        ),
    ),
    'train/caption_msrvtt_flant5xl_scst': SeedYaml(
        'msrvtt_flant5xl_scst',
        dict(_T5, pretrained=_XE, scst=True),
        _data('msrvtt_caption', 16),
        dict(
            _TRAIN_RUN,
            runner='runner_iter',
            max_iters=20000,
            iters_per_inner_epoch=1000,
            init_lr=1e-5,
            min_lr=1e-6,
            max_epoch=10,
            batch_size_train=2,
            batch_size_eval=2,
        ),
    ),
    'train/caption_msrvtt_opt2.7b_ft': SeedYaml(
        'msrvtt_opt2.7b_ft',
        dict(
            _OPT,
            pretrained='blip2_pretrained_opt2.7b.pth',
            finetuned='blip2_caption_opt2.7b.pth',
        ),
        _data('msrvtt_caption', 8),
        dict(
            _TRAIN_RUN,
            init_lr=1e-6,
            min_lr=0,
            max_epoch=30,
            batch_size_train=64,
        ),
    ),
    'train/caption_msrvtt_opt2.7b_scst': SeedYaml(
        'msrvtt_opt2.7b_scst',
        dict(
            _OPT,
            pretrained='blip2_pretrained_opt2.7b.pth',
            finetuned='blip2_caption_opt2.7b.pth',
            scst=True,
        ),
        _data('msrvtt_caption', 4),
        dict(
            _TRAIN_RUN,
            init_lr=1e-6,
            min_lr=0,
            max_epoch=20,
            batch_size_train=16,
            batch_size_eval=16,
        ),
    ),
    'train/caption_msrvtt_opt6.7b_ft': SeedYaml(
        'msrvtt_opt6.7b_ft',
        dict(
            _OPT,
            pretrained='blip2_pretrained_opt6.7b.pth',
            finetuned='blip2_caption_opt6.7b.pth',
            opt_model='facebook/opt-6.7b',
        ),
        _data('msrvtt_caption', 8),
        dict(
            _TRAIN_RUN,
            init_lr=1e-6,
            min_lr=0,
            max_epoch=30,
            batch_size_train=64,
        ),
    ),
    'train/caption_msrvtt_vicuna7b_ft': SeedYaml(
        'msrvtt_vicuna7b_ft',
        {
            **{k: v for k, v in _MODEL.items() if k != 'drop_path_rate'},
            'arch': 'blip2_vicuna_instruct',
            'model_type': 'vicuna7b',
            'pretrained': 'blip2_pretrained_vicuna7b.pth',
            'finetuned': 'instruct_blip_vicuna7b_trimmed.pth',
            'llm_model': 'vicuna-7b-1.1',
            'prompt': '',
            'qformer_text_input': False,
            'max_txt_len': 32,
            'max_output_txt_len': 32,
        },
        _data('msrvtt_caption', 8),
        dict(
            _TRAIN_RUN,
            init_lr=1e-5,
            min_lr=0,
            max_epoch=20,
            batch_size_train=16,
            batch_size_eval=16,
        ),
    ),
    'train/caption_msvd_flant5xl_ft': SeedYaml(
        'msvd_flant5xl_ft',
        dict(_T5, pretrained='blip2_pretrained_flant5xl.pth'),
        _data('msvd_caption', 16),
        dict(
            _TRAIN_RUN,
            runner='runner_iter',
            max_iters=15000,
            iters_per_inner_epoch=1000,
            init_lr=5e-5,
            min_lr=1e-5,
            max_epoch=50,
            batch_size_train=64,
        ),
    ),
    'train/caption_msvd_flant5xl_scst': SeedYaml(
        'msvd_flant5xl_scst',
        dict(_T5, pretrained=_XE, scst=True),
        _data('msvd_caption', 16),
        dict(
            _TRAIN_RUN,
            runner='runner_iter',
            max_iters=15000,
            iters_per_inner_epoch=1000,
            init_lr=1e-6,
            min_lr=1e-7,
            max_epoch=50,
            batch_size_train=2,
            batch_size_eval=2,
        ),
    ),
    'train/caption_vatex_flant5xl_ft': SeedYaml(
        'vatex_flant5xl_ft',
        dict(_T5, pretrained='blip2_pretrained_flant5xl.pth'),
        _data('vatex_caption', 8),
        dict(
            _TRAIN_RUN,
            init_lr=5e-5,
            min_lr=1e-5,
            max_epoch=20,
            batch_size_train=64,
        ),
    ),
    'eval/caption_msrvtt_flant5xl_eval': SeedYaml(
        'msrvtt_flant5xl_eval',
        dict(_T5, pretrained='<an MSR-VTT T5 run>/checkpoint_best.pth'),
        _data('msrvtt_caption', 16),
        _EVAL_RUN,
    ),
    'eval/caption_msvd_flant5xl_eval': SeedYaml(
        'msvd_flant5xl_eval',
        dict(_T5, pretrained=_XE),
        _data('msvd_caption', 16),
        _EVAL_RUN,
    ),
    # Scored on val, from the pretrained BLIP-2 (load_finetuned False):
    # zero-shot evaluations; msrvtt_flant5xl_zeroshot.py is ours for T5.
    'eval/caption_msrvtt_opt2.7b_eval': SeedYaml(None, {}, {}, {}),
    'eval/caption_msrvtt_vicuna7b_eval': SeedYaml(None, {}, {}, {}),
}

# The dataset class each LAVIS dataset builder name stands for.
_DATASETS = dict(
    msrvtt_caption='MSRVTTCaptionDataset',
    msvd_caption='MSVDCaptionDataset',
    vatex_caption='VATEXCaptionDataset',
)


class Row(NamedTuple):
    field: str
    seed: str
    ours: str
    status: str
    why: str = ''


Rule = Callable[[object, 'Ours'], Tuple[str, str, str]]


class Ours:
    """The parts of one of our configs that the rules read."""

    def __init__(self, name: str) -> None:
        from mmengine.config import Config

        self.name = name
        self.cfg = Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))
        model = self.cfg.model
        self.model = model
        self.head = model.head
        self.backbone = model.backbone
        self.generation = self.head.get('generation_cfg') or {}
        self.train = self.cfg.get('train_dataloader')
        self.trains = self.train is not None
        schedules = self.cfg.get('param_scheduler') or []
        self.schedule = schedules[0] if len(schedules) == 1 else None

    @staticmethod
    def frames(loader) -> Optional[int]:
        counts = {
            step['num_frames']
            for step in loader.dataset.pipeline
            if 'num_frames' in step
        }
        return counts.pop() if len(counts) == 1 else None

    def train_parts(self) -> list:
        dataset = self.train.dataset
        if dataset.get('type') == 'ConcatDataset':
            return list(dataset.datasets)
        return [dataset]

    def image_size(self) -> Optional[int]:
        for step in self.cfg.test_dataloader.dataset.pipeline:
            if step['type'] == 'DecordVideoInit':
                return step['resize'][0]
        return None


def _is(value, expected, ours_text=None, why=''):
    text = repr(value) if ours_text is None else ours_text
    return text, EQUAL if value == expected else DIFFERS, why


def _model_rules() -> Dict[str, Rule]:
    llm = dict(
        blip2_t5='flan-t5', blip2_opt='opt', blip2_vicuna_instruct='vicuna'
    )

    def weights(seed, o):
        pretrained = o.model.get('pretrained')
        load_from = o.cfg.get('load_from')
        if seed.startswith('<'):
            return (
                f'load_from={load_from!r}',
                SAME,
                'a trained run of ours; tools/test.py CHECKPOINT or '
                'load_from replaces it',
            )
        if load_from and load_from.startswith('checkpoints/'):
            return (
                f'pretrained={pretrained!r}, load_from={load_from!r}',
                SAME,
                "no hub model: InstructBLIP's ViT and LLM assembled as "
                'BLIP-2 (tools/model_converters/instructblip_to_blip2.py), '
                "the seed's file converted over it (lavis_to_vidcap.py)",
            )
        if load_from:
            return (
                f'load_from={load_from!r}',
                DIFFERS,
                'the seed starts from the pretrained BLIP-2 here',
            )
        return (
            f'pretrained={pretrained!r}',
            SAME,
            "LAVIS's BLIP-2 stage-2 file; the transformers checkpoint holds "
            'the same weights (converted by transformers from it)',
        )

    def lora(key):
        def rule(seed, o):
            given = o.head.get('lora')
            if key == 'lora':
                return _is(given is not None, seed, f'lora={given!r}')
            name = 'r' if key == 'lora_r' else key
            value = (given or {}).get(name)
            return _is(value, seed, f'head.lora.{name}={value!r}')

        return rule

    def arch(seed, o):
        pretrained = str(o.model.get('pretrained', '')).lower()
        ours = f'{o.model.type}, pretrained={o.model.get("pretrained")!r}'
        return ours, EQUAL if llm[seed] in pretrained else DIFFERS, ''

    def model_type(seed, o):
        return (
            f'pretrained={o.model.get("pretrained")!r}',
            SAME,
            "LAVIS's model_type picks a default config that the YAML's "
            'fields override; the weights are those of pretrained'
            + (
                ' (this YAML names OPT-2.7B but loads OPT-6.7B weights)'
                if seed == 'pretrain_opt2.7b' and '6.7b' in o.name
                else ''
            ),
        )

    def llm_name(seed, o):
        return (
            f'the LLM of {o.model.get("pretrained")!r}',
            SAME,
            'the BLIP-2 checkpoint holds its LLM',
        )

    def scst(seed, o):
        objective = (o.model.get('objective') or {}).get('type')
        return _is(objective == 'SCSTObjective', seed, f'{objective}')

    def qformer_text(seed, o):
        instruction = o.model.neck.get('instruction')
        return _is(
            instruction is not None,
            seed,
            f'neck.instruction={instruction!r}',
            '' if instruction is None else 'ours feeds it to the Q-Former',
        )

    def frozen_vit(seed, o):
        frozen = o.backbone.get('frozen', True)
        norm = o.backbone.get('train_final_norm', False)
        return (
            f'backbone.frozen={frozen}, train_final_norm={norm}',
            EQUAL if frozen == seed and norm == seed else DIFFERS,
            'ViT frozen, its final norm (ln_vision) trains',
        )

    def dtype(seed, o):
        value = o.backbone.get('dtype')
        return _is(value, 'float16', f'backbone.dtype={value!r}')

    return {
        'arch': arch,
        'model_type': model_type,
        'load_pretrained': lambda s, o: (
            'pretrained= / load_from',
            SAME,
            'weights come from pretrained (and load_from)',
        ),
        'load_finetuned': lambda s, o: ('-', EQUAL, 'no finetuned file'),
        'pretrained': weights,
        'finetuned': lambda s, o: (
            '-',
            NOT_APPLICABLE,
            'load_finetuned is False: LAVIS does not read it',
        ),
        'image_size': lambda s, o: _is(
            o.image_size(), s, f'{o.image_size()} (frames decoded at it)'
        ),
        'drop_path_rate': lambda s, o: (
            '0',
            EQUAL,
            "transformers' BLIP-2 ViT has no drop path",
        ),
        'use_grad_checkpoint': lambda s, o: _is(
            bool(o.head.get('gradient_checkpointing', False)),
            s,
            f'head.gradient_checkpointing='
            f'{o.head.get("gradient_checkpointing", False)}',
        ),
        'vit_precision': dtype,
        'freeze_vit': frozen_vit,
        'lora': lora('lora'),
        'lora_r': lora('lora_r'),
        'lora_alpha': lora('lora_alpha'),
        'lora_dropout': lora('lora_dropout'),
        'num_query_token': lambda s, o: (
            "32 (the checkpoint's num_query_tokens)",
            EQUAL,
            '',
        ),
        't5_model': llm_name,
        'opt_model': llm_name,
        'llm_model': llm_name,
        'prompt': lambda s, o: _is(
            o.head.get('prompt', ''), s, f'head.prompt={o.head.prompt!r}'
        ),
        'scst': scst,
        'qformer_text_input': qformer_text,
        'max_txt_len': lambda s, o: (
            f'prompt {o.head.get("prompt", "")!r}',
            SAME,
            'the prompt is never cut (the limit is for the prompt)',
        ),
        'max_output_txt_len': lambda s, o: (
            f'head.max_caption_tokens={o.head.get("max_caption_tokens")}, '
            f'truncate_with_end={o.head.get("truncate_with_end", False)}',
            SAME
            if (
                o.head.get('max_caption_tokens'),
                o.head.get('truncate_with_end'),
            )
            == (s - 1, True)
            else DIFFERS,
            'LAVIS counts the BOS in it: 31 tokens of caption + end',
        ),
    }


def _dataset_rule(key: str, seed, o: Ours) -> Tuple[str, str, str]:
    name, kind, split = key.split('.')
    if name == 'webvid_2m_msrvtt':
        return (
            'not in the default mix',
            DIFFERS,
            'the seed README says WebVid was dropped later and the paper '
            'found it did not help; configs/variants/'
            'msrvtt_flant5xl_ft_webvid.py mixes it 1:7',
        )
    if split == 'train' and not o.trains:
        return '-', NOT_APPLICABLE, 'evaluation only'
    loader = o.train if split == 'train' else o.cfg.test_dataloader
    part = o.train_parts()[0] if split == 'train' else loader.dataset
    if kind == 'text_processor':
        if split == 'eval':
            return (
                '-',
                NOT_APPLICABLE,
                'references are scored as given (the COCO-style file)',
            )
        steps = [s for s in part.pipeline if s['type'] == 'CleanCaptionText']
        return (
            'CleanCaptionText(max_words=50)' if steps else 'none',
            EQUAL if steps else DIFFERS,
            'lowercase, no punctuation, at most 50 words',
        )
    frames = Ours.frames(loader)
    size = o.image_size()
    sampler = 'HeadTailSample' if split == 'train' else 'EvenlySpacedSample'
    ours = f'{part.type}: {sampler}, {frames} frames, {size} px'
    same = (
        part.type == _DATASETS[name]
        and frames == seed['n_frms']
        and size == seed['image_size']
        and any(s['type'] == sampler for s in part.pipeline)
    )
    return ours, EQUAL if same else DIFFERS, ''


def _run_rules() -> Dict[str, Rule]:
    def loop(seed, o):
        kind = o.cfg.train_cfg.type if o.trains else '-'
        wanted = (
            'IterBasedTrainLoop'
            if seed == 'runner_iter'
            else 'EpochBasedTrainLoop'
        )
        return _is(kind, wanted, kind)

    def inner_epoch(seed, o):
        interval = o.cfg.train_cfg.val_interval
        checkpoint = o.cfg.default_hooks.checkpoint.interval
        per_epoch = o.schedule.get('iters_per_epoch')
        same = interval == checkpoint == per_epoch == seed
        return (
            f'schedule iters_per_epoch={per_epoch}, val and checkpoint '
            f'every {interval} / {checkpoint}',
            EQUAL if same else DIFFERS,
            '',
        )

    def max_epoch(seed, o):
        if o.cfg.train_cfg.type == 'IterBasedTrainLoop':
            per_epoch = o.schedule.get('iters_per_epoch')
            return (
                f'{o.cfg.train_cfg.max_iters // per_epoch} inner epochs',
                NOT_APPLICABLE,
                'runner_iter ignores it: its max_epoch is max_iters / '
                'iters_per_inner_epoch',
            )
        ours = o.cfg.train_cfg.max_epochs
        return _is(
            ours,
            seed,
            f'max_epochs={ours}, schedule end ' f'{o.schedule.get("end")}',
        )

    def schedule(key):
        def rule(seed, o):
            value = o.schedule.get(key) if o.schedule else None
            if key == 'type':
                return _is(value, 'LavisWarmupCosineLR', value)
            return _is(value, seed, f'{o.schedule.type}.{key}={value!r}')

        return rule

    def weight_decay(seed, o):
        optimizer = o.cfg.optim_wrapper.optimizer
        constructor = o.cfg.optim_wrapper.get('constructor')
        same = (
            optimizer.weight_decay == seed
            and constructor == 'LavisParamGroupsConstructor'
        )
        return (
            f'{optimizer.type}(weight_decay={optimizer.weight_decay}), '
            f'{constructor}',
            EQUAL if same else DIFFERS,
            'none on ndim < 2 and bias / ln / bn parameters',
        )

    def batch(split):
        def rule(seed, o):
            if split == 'train' and not o.trains:
                return '-', NOT_APPLICABLE, 'evaluation only'
            if split == 'train':
                return _is(o.train.batch_size, seed, str(o.train.batch_size))
            sizes = {o.cfg.test_dataloader.batch_size}
            if o.cfg.get('val_dataloader'):
                sizes.add(o.cfg.val_dataloader.batch_size)
            value = sizes.pop() if len(sizes) == 1 else sorted(sizes)
            return _is(value, seed, f'val / test {value}')

        return rule

    def generation(key, seed_key):
        def rule(seed, o):
            value = o.generation.get(key)
            return _is(value, seed, f'head.generation_cfg.{key}={value}')

        return rule

    def splits(loader):
        def rule(seed, o):
            if loader == 'train' and not o.trains:
                return '-', NOT_APPLICABLE, 'evaluation only'
            if loader == 'train':
                value = [p.get('split') for p in o.train_parts()][:1]
            else:
                cfg = o.cfg.get(f'{loader}_dataloader')
                value = [cfg.dataset.get('split')] if cfg else []
            return _is(value, seed, repr(value))

        return rule

    def seed_rule(seed, o):
        randomness = o.cfg.get('randomness') or {}
        same = randomness.get('seed') == seed and randomness.get(
            'diff_rank_seed'
        )
        return (
            repr(dict(randomness)),
            EQUAL if same else DIFFERS,
            'the seed seeds each process with 42 + its rank',
        )

    def amp(seed, o):
        return (
            'off; --amp: autocast in the LLM dtype (bf16), no scaler',
            DIFFERS,
            'the seed autocasts everything to fp16 with a GradScaler and '
            'keeps OPT in fp16 (T5 and its bf16 parts excepted); ours runs '
            'each part in its own dtype (ViT fp16, LLM bf16, Q-Former '
            "fp32) with or without --amp. The seed's way on a GPU: "
            '--amp --cfg-options optim_wrapper.dtype=float16 (and '
            'model.head.dtype=float16 for OPT); not measured here',
        )

    def launcher(seed, o):
        return (
            'the launcher (tools/dist_train.sh, torchrun / srun)',
            NOT_APPLICABLE,
            'set per run, not per recipe',
        )

    def mix(seed, o):
        return (
            'MSR-VTT alone',
            DIFFERS,
            'see webvid_2m_msrvtt; configs/variants/'
            'msrvtt_flant5xl_ft_webvid.py: RatioMixSampler(ratios=[1, 7]), '
            'drawn per sample where LAVIS draws each batch from one set',
        )

    return {
        'runner': loop,
        'max_iters': lambda s, o: _is(
            o.cfg.train_cfg.get('max_iters'),
            s,
            f'train_cfg.max_iters={o.cfg.train_cfg.get("max_iters")}',
        ),
        'iters_per_inner_epoch': inner_epoch,
        'max_epoch': max_epoch,
        'task': lambda s, o: (
            'Blip2VideoCaptioner + CaptionMetric',
            SAME,
            '',
        ),
        'lr_sched': schedule('type'),
        'init_lr': lambda s, o: _is(
            float(o.cfg.optim_wrapper.optimizer.lr),
            float(s),
            f'optimizer.lr={o.cfg.optim_wrapper.optimizer.lr}',
        ),
        'min_lr': lambda s, o: _is(
            float(o.schedule.eta_min),
            float(s),
            f'{o.schedule.type}.eta_min={o.schedule.eta_min}',
        ),
        'warmup_lr': schedule('warmup_start_lr'),
        'warmup_steps': schedule('warmup_iters'),
        'weight_decay': weight_decay,
        'batch_size_train': batch('train'),
        'batch_size_eval': batch('eval'),
        'num_workers': lambda s, o: (
            str((o.train or o.cfg.test_dataloader).num_workers),
            DIFFERS,
            'throughput only: every clip draws its frames, crop and flip '
            'from its own seeded state, so any number of workers gives the '
            'same batches',
        ),
        'accum_grad_iters': lambda s, o: _is(
            o.cfg.optim_wrapper.get('accumulative_counts', 1),
            s,
            'optim_wrapper.accumulative_counts='
            f'{o.cfg.optim_wrapper.get("accumulative_counts", 1)}',
        ),
        'max_len': generation('max_new_tokens', 'max_len'),
        'min_len': generation('min_length', 'min_len'),
        'num_beams': generation('num_beams', 'num_beams'),
        'seed': seed_rule,
        'output_dir': lambda s, o: (
            f'work_dirs/{o.name}',
            SAME,
            "MMEngine's work_dir",
        ),
        'amp': amp,
        'resume_ckpt_path': lambda s, o: _is(
            o.cfg.get('resume', False), False, f'resume={o.cfg.resume}'
        ),
        'evaluate': lambda s, o: _is(
            not o.trains,
            s,
            'tools/test.py config'
            if not o.trains
            else 'tools/train.py ' 'config (tests after training)',
        ),
        'train_splits': splits('train'),
        'valid_splits': splits('val'),
        'test_splits': splits('test'),
        'device': launcher,
        'world_size': launcher,
        'dist_url': launcher,
        'distributed': launcher,
        'train_dataset_ratios': mix,
    }


# Beyond the YAMLs: what the seed's code does that its YAMLs do not say.
def _code_rows(o: Ours) -> List[Row]:
    rows = []
    if o.trains:
        rows.append(
            Row(
                'code: drop the last partial batch',
                'True (training loaders)',
                str(o.train.get('drop_last', False)),
                EQUAL if o.train.get('drop_last') else DIFFERS,
            )
        )
    if 'opt' in str(o.model.get('pretrained', '')).lower() and o.trains:
        bos = o.head.get('bos_as_target', False)
        rows.append(
            Row(
                "code: OPT's loss targets BOS (empty prompt)",
                'True',
                f'head.bos_as_target={bos}',
                EQUAL if bos else DIFFERS,
            )
        )
        dropout = not o.head.get('eval_when_frozen', True)
        rows.append(
            Row(
                'code: frozen OPT stays in train mode (dropout)',
                'True',
                f'head.eval_when_frozen={o.head.get("eval_when_frozen")}',
                EQUAL if dropout else DIFFERS,
            )
        )
    family = _family(o)
    if o.trains:
        limit = o.head.get('max_caption_tokens', 32)
        with_end = o.head.get('truncate_with_end', False)
        seed, wanted = dict(
            t5=("caption cut to 31 tokens, then '</s>'", (31, False)),
            opt=("BOS + caption + '\\n' cut to 32 as one text", (31, True)),
            vicuna=(
                "BOS + caption + '</s>' cut to 32 as one text",
                (31, True),
            ),
        )[family]
        rows.append(
            Row(
                'code: caption tokens in the loss (max_txt_len 32)',
                seed,
                f'head.max_caption_tokens={limit}, '
                f'truncate_with_end={with_end}',
                EQUAL if (limit, with_end) == wanted else DIFFERS,
            )
        )
    eps = o.backbone.get('final_norm_eps')
    rows.append(
        Row(
            "code: ln_vision's eps",
            '1e-05 (nn.LayerNorm)',
            f'backbone.final_norm_eps={eps}',
            EQUAL if eps == 1e-5 else DIFFERS,
            "transformers' BLIP-2 gives its final norm the ViT's 1e-6",
        )
    )
    penalty = o.generation.get('repetition_penalty', 1.0)
    seed_penalty = 1.5 if family == 'vicuna' else 1.0
    rows.append(
        Row(
            "code: generate's repetition penalty",
            str(seed_penalty),
            f'head.generation_cfg.repetition_penalty={penalty}',
            EQUAL if penalty == seed_penalty else DIFFERS,
        )
    )
    if family == 'vicuna':
        fusion = o.model.neck.get('eval_fusion')
        rows.append(
            Row(
                'code: frames when captioning',
                'one Q-Former pass per frame, projected tokens averaged',
                f'neck.eval_fusion={fusion!r}',
                EQUAL if fusion == 'frame_mean' else DIFFERS,
                'Blip2VicunaInstruct.generate (training: one pass over all '
                'frames)',
            )
        )
        rows.append(
            Row(
                "code: Vicuna's BOS",
                "'</s>' (LAVIS sets it)",
                'the tokenizer instructblip_to_blip2.py writes',
                SAME,
                'the assembling tool writes a tokenizer that starts with '
                "'</s>'",
            )
        )
    objective = o.model.get('objective') or {}
    if objective.get('type') == 'SCSTObjective':
        tokens = (objective.get('generation_cfg') or {}).get(
            'max_new_tokens', 32
        )
        t5 = 'flan-t5' in str(o.model.get('pretrained', '')).lower()
        rows.append(
            Row(
                'code: SCST new tokens (generate max_length=32)',
                '31' if t5 else '32',
                f'objective.generation_cfg.max_new_tokens={tokens}',
                EQUAL if tokens == (31 if t5 else 32) else DIFFERS,
                "T5's max_length counts its start token" if t5 else '',
            )
        )
        terms = [
            dict(t)
            for t in next(
                (
                    h.get('terms')
                    for h in o.cfg.get('custom_hooks', [])
                    if h.get('type') == 'SCSTRewardHook'
                ),
                [],
            )
        ]
        seed_reward = terms == [dict(type='CiderDRewardTerm', mode='seed')]
        rows.append(
            Row(
                'code: SCST reward',
                "CIDEr-D vs the record's caption, swapped scorer call",
                repr(terms),
                EQUAL if seed_reward else DIFFERS,
            )
        )
    return rows


def _family(o: Ours) -> str:
    pretrained = str(o.model.get('pretrained', '')).lower()
    return next(
        name
        for name, part in (('t5', 'flan-t5'), ('opt', 'opt'), ('vicuna', ''))
        if part in pretrained
    )


def _fmt(value) -> str:
    if isinstance(value, dict):
        return ', '.join(f'{k}={v!r}' for k, v in value.items())
    return repr(value) if not isinstance(value, str) else value


def fidelity_rows(yaml: str, seed: SeedYaml) -> List[Row]:
    """The table of one seed YAML."""
    if seed.config is None:
        return []
    ours = Ours(seed.config)
    rows = []
    model_rules = _model_rules()
    for key, value in seed.model.items():
        text, status, why = model_rules[key](value, ours)
        rows.append(Row(f'model.{key}', _fmt(value), text, status, why))
    for key, value in seed.datasets.items():
        text, status, why = _dataset_rule(key, value, ours)
        rows.append(Row(f'datasets.{key}', _fmt(value), text, status, why))
    run_rules = _run_rules()
    for key, value in seed.run.items():
        if key in ('train_splits', 'valid_splits') and not ours.trains:
            continue
        text, status, why = run_rules[key](value, ours)
        rows.append(Row(f'run.{key}', _fmt(value), text, status, why))
    return rows + _code_rows(ours)


def fidelity_table() -> Dict[str, List[Row]]:
    return {yaml: fidelity_rows(yaml, s) for yaml, s in SEED_YAMLS.items()}


def _cell(text: str) -> str:
    return text.replace('|', '\\|').replace('\n', ' ')


def render(tables: Dict[str, List[Row]]) -> str:
    lines = [
        "# The seed's YAMLs, field by field, against our recipes",
        '',
        'Generated by `python tools/analysis_tools/seed_fidelity.py '
        '--write` from configs/ (do not edit; '
        'tests/tools/test_seed_fidelity.py checks it is current). '
        '`equal`: the same value or behaviour; `same effect`: another form '
        'that trains and scores the same; `not applicable`: nothing in the '
        'recipe to match; `differs`: on purpose, for the reason given.',
        '',
    ]
    counts: Dict[str, int] = {}
    for rows in tables.values():
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
    lines.append(
        'Fields: '
        + ', '.join(
            f'{counts.get(s, 0)} {s}'
            for s in (EQUAL, SAME, NOT_APPLICABLE, DIFFERS)
        )
        + '.'
    )
    for yaml, rows in tables.items():
        seed = SEED_YAMLS[yaml]
        lines += ['', f'## {yaml}.yaml', '']
        if seed.config is None:
            lines.append(
                'No config of ours: a zero-shot score on val of the '
                'pretrained BLIP-2 (load_finetuned False); '
                '`configs/msrvtt_flant5xl_zeroshot.py` is that for '
                'Flan-T5-XL.'
            )
            continue
        lines += [
            f'Ours: `configs/{seed.config}.py`.',
            '',
            '| field | seed | ours | | why |',
            '| --- | --- | --- | --- | --- |',
        ]
        lines += [
            '| ' + ' | '.join(_cell(c) for c in row) + ' |' for row in rows
        ]
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--write', action='store_true', help=f'write {osp.relpath(DOC)}'
    )
    args = parser.parse_args(argv)
    text = render(fidelity_table())
    if args.write:
        import os

        os.makedirs(osp.dirname(DOC), exist_ok=True)
        with open(DOC, 'w') as f:
            f.write(text)
        print(f'wrote {DOC}')
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
