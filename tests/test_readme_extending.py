"""The README's "Extending with MMAction2 datasets and transforms" section,
run as it stands.

Its Python blocks each start with a ``# <path>`` line; they are written to
those paths in a scratch folder laid out like the repository (our configs
linked in, the README's added beside them), with a small CSV dataset in
``data/youcook2`` and synthetic clips in ``data/msrvtt``. The tests then do
what the section says: build its configs, load and iterate its dataset,
mix it with MSR-VTT, train a step, and check the errors it promises. A
README edit that breaks a snippet, or a code change the snippets no longer
fit, fails here.
"""

import copy
import csv
import os
import os.path as osp
import re
import sys
from collections import Counter

import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.dataset import ConcatDataset
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from tests.datasets.conftest import write_clip
from tests.helpers import REPO, tiny_stand_in
from vidcap_mm.datasets import (
    AnnotationError,
    MSRVTTCaptionDataset,
    RatioMixSampler,
    VideoCaptionDataset,
    VideoReadError,
    generate_synthetic_clips,
)
from vidcap_mm.engine.launch import build_runner

HEADING = '## Extending with MMAction2 datasets and transforms'
MODULE = 'my_datasets.py'
CONFIG = 'configs/youcook2_flant5xl_ft.py'
MIX_CONFIG = 'configs/youcook2_msrvtt_flant5xl_ft.py'

# train.csv: six captions of four clips (clip0 has two, one with a quoted
# comma); val.csv: two clips.
TRAIN_ROWS = [
    ('clip0.mp4', 'a person slices an onion'),
    ('clip1.mp4', 'a pan is heated'),
    ('clip0.mp4', 'someone cuts onions, then fries them'),
    ('clip2.mp4', 'water boils in a pot.'),
    ('clip3.mp4', 'pasta is stirred'),
    ('clip1.mp4', 'oil goes into the pan'),
]
VAL_ROWS = [('clip4.mp4', 'eggs are whisked'), ('clip5.mp4', 'a cake bakes')]


def readme_section() -> str:
    """The text of the section, from its heading to the next one."""
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    start = text.find(f'\n{HEADING}\n')
    assert start >= 0, f'README.md has no heading {HEADING!r}'
    end = text.find('\n## ', start + 1)
    return text[start : end if end >= 0 else len(text)]


def readme_files() -> dict:
    """The section's Python blocks by the path on their first line."""
    files = {}
    blocks = re.findall(r'```python\n(.*?)```', readme_section(), re.S)
    for block in blocks:
        first = block.splitlines()[0]
        assert first.startswith('# '), (
            f'README.md, {HEADING}: a Python block starts with {first!r} '
            'instead of "# <path>"'
        )
        path = first[2:].strip()
        assert path not in files, f'README.md: two blocks for {path}'
        files[path] = block
    return files


def write_csv(path, rows, header=('video', 'caption')):
    """A CSV file; a row given as a string is written as it stands."""
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            if isinstance(row, str):
                f.write(row + '\r\n')
            else:
                writer.writerow(row)
    return str(path)


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A scratch repository root holding the README's files and data,
    current directory and on ``sys.path`` (the README's ``PYTHONPATH=.``)
    for the module's tests."""
    root = tmp_path_factory.mktemp('extending')
    os.makedirs(root / 'configs')
    for name in os.listdir(osp.join(REPO, 'configs')):
        os.symlink(osp.join(REPO, 'configs', name), root / 'configs' / name)
    for path, code in readme_files().items():
        (root / path).write_text(code)

    clips = root / 'data' / 'youcook2'
    os.makedirs(clips / 'videos')
    for i in range(6):
        # Not square, so that the pipeline's resizing shows.
        write_clip(clips / 'videos' / f'clip{i}.mp4', 12 + i, 64, 48)
    write_csv(clips / 'train.csv', TRAIN_ROWS)
    write_csv(clips / 'val.csv', VAL_ROWS)
    generate_synthetic_clips(
        str(root / 'data' / 'msrvtt'),
        num_train=2,
        num_val=1,
        num_test=1,
        num_frames=8,
        size=32,
    )

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.syspath_prepend(str(root))
        with DefaultScope.overwrite_default_scope('mmaction'):
            yield root
    # Leave no trace of the user's module for other tests of the session.
    sys.modules.pop('my_datasets', None)
    DATASETS._module_dict.pop('CSVCaptionDataset', None)


def test_section_shows_a_module_two_configs_and_the_command(workspace):
    assert sorted(readme_files()) == sorted([MODULE, CONFIG, MIX_CONFIG])
    assert f'PYTHONPATH=. python tools/train.py {CONFIG}' in readme_section()


def test_csv_dataset_and_transform(workspace):
    cfg = Config.fromfile(CONFIG)  # imports my_datasets (custom_imports)
    assert cfg.custom_imports.imports == ['vidcap_mm', 'my_datasets']
    pipeline = cfg.train_dataloader.dataset.pipeline
    # ColorJitter after the recipe's decoding, crop, resize and flip, on
    # the frames before they become a (T, C, H, W) array.
    assert [step.type for step in pipeline] == [
        'DecordVideoInit',
        'HeadTailSample',
        'DecordVideoDecode',
        'RandomResizedCrop',
        'Resize',
        'Flip',
        'ColorJitter',
        'FormatShape',
        'CleanCaptionText',
        'PackCaptionInputs',
    ]

    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert type(train).__name__ == 'CSVCaptionDataset'
    assert isinstance(train, VideoCaptionDataset) and not train.test_mode
    jitter = train.pipeline.transforms[6]
    assert type(jitter).__module__ == 'mmaction.datasets.transforms.processing'
    assert len(train) == 6  # one sample per caption
    info = train.get_data_info(2)
    assert info['filename'] == osp.join(
        'data', 'youcook2', 'videos', 'clip0.mp4'
    )
    assert info['video_id'] == 'clip0'
    assert info['caption'] == 'someone cuts onions, then fries them'
    assert info['gt_captions'] == [
        'a person slices an onion',
        'someone cuts onions, then fries them',
    ]
    assert train.get_references()['clip1'] == [
        'a pan is heated',
        'oil goes into the pan',
    ]
    sample = train[2]
    assert sample['inputs'].shape == (8, 3, 224, 224)
    assert sample['inputs'].dtype == torch.uint8
    assert sample['data_samples'].video_id == 'clip0'
    # CleanCaptionText keeps commas and drops the final period.
    assert sample['data_samples'].gt_caption == (
        'someone cuts onions, then fries them'
    )
    assert train[3]['data_samples'].gt_caption == 'water boils in a pot'

    for loader in ('val_dataloader', 'test_dataloader'):
        evaluation = DATASETS.build(cfg[loader].dataset)
        assert evaluation.test_mode and len(evaluation) == 2
        sample = evaluation[1]
        assert sample['inputs'].shape == (8, 3, 224, 224)
        assert sample['data_samples'].gt_captions == ['a cake bakes']
        assert sample['data_samples'].video_id == 'clip5'


def test_mixed_with_msrvtt_by_ratio(workspace):
    cfg = Config.fromfile(MIX_CONFIG)
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=4)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    concat, sampler = loader.dataset, loader.sampler
    assert isinstance(concat, ConcatDataset)
    assert isinstance(sampler, RatioMixSampler)
    youcook2, msrvtt = concat.datasets
    assert type(youcook2).__name__ == 'CSVCaptionDataset'
    assert isinstance(msrvtt, MSRVTTCaptionDataset)
    assert (len(youcook2), len(msrvtt)) == (6, 6)  # 2 clips x 3 captions
    # The README's epoch: every YouCook2 sample once, one MSR-VTT sample
    # for every three.
    for epoch in range(2):
        sampler.set_epoch(epoch)
        indices = list(sampler)
        assert Counter(i < 6 for i in indices) == {True: 6, False: 2}
        assert sorted(i for i in indices if i < 6) == list(range(6))
    # Both parts run their own pipeline (ColorJitter included) in a batch.
    assert [type(t).__name__ for t in msrvtt.pipeline.transforms[5:7]] == [
        'Flip',
        'ColorJitter',
    ]
    batch = next(iter(loader))
    assert [tuple(x.shape) for x in batch['inputs']] == [(8, 3, 224, 224)] * 4
    assert concat[0]['data_samples'].video_id == 'clip0'
    assert concat[6]['data_samples'].video_id == 'synth_train_0000'


def test_one_training_step(workspace, tmp_path):
    """The README config trains (a tiny T5 BLIP-2 in place of Flan-T5-XL,
    the stand-in of tests/test_recipe_configs.py) and validates on the
    CSV dataset."""
    cfg = Config.fromfile(CONFIG)
    shown = copy.deepcopy(cfg)
    tiny_stand_in(cfg, data_root='unused')
    # Keep the README's datasets; take the stand-in's frame size only.
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        pipeline = loader.dataset.pipeline
        loader.dataset = copy.deepcopy(shown[f'{split}_dataloader'].dataset)
        loader.dataset.pipeline = pipeline
    # A random model writes captions to the length limit: keep them short.
    cfg.model.head.generation_cfg.update(max_new_tokens=3, min_length=0)
    cfg.work_dir = str(tmp_path)
    cfg.launcher = 'none'
    runner = build_runner(cfg)
    runner.train()
    assert type(runner.train_dataloader.dataset).__name__ == (
        'CSVCaptionDataset'
    )
    assert runner.iter == 1
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 1 and torch.isfinite(torch.tensor(losses)).all()
    validation = runner.val_dataloader.dataset
    assert type(validation).__name__ == 'CSVCaptionDataset'
    assert len(validation) == 2
    assert 'val/caption/CIDEr' in runner.message_hub.log_scalars


@pytest.mark.parametrize(
    'rows, header, message',
    [
        (
            [('clip0.mp4', 'a pan')],
            ('video', 'text'),
            "row 2 has no 'caption' field",
        ),
        (
            [('clip0.mp4', 'a pan'), ('clip1.mp4', ' ')],
            ('video', 'caption'),
            'row 3: caption is empty',
        ),
        (
            [('clip0.mp4', 'a pan'), ('clip1.mp4',)],
            ('video', 'caption'),
            'row 3: "caption" must be a string or a non-empty list of '
            'strings',
        ),
        (
            [('clip0.mp4', 'a pan', 'a'), ('clip0.mp4', 'a pot', 'b')],
            ('video', 'caption', 'video_id'),
            "row 3 gives the file 'clip0.mp4' the video id 'b', but row 2 "
            "gave it 'a'",
        ),
        ([], ('video', 'caption'), 'holds no records'),
        (
            # An unquoted comma: "onions" and " then fries them" would be
            # two fields, the caption cut at the comma.
            [('clip0.mp4', 'a pan'), 'clip0.mp4,onions, then fries them'],
            ('video', 'caption'),
            'line 3: 3 fields where the header (video,caption) has 2; a '
            'field holding a comma must be quoted ("...", as spreadsheets '
            'write it)',
        ),
    ],
)
def test_malformed_csv_names_file_and_row(
    workspace, tmp_path, rows, header, message
):
    Config.fromfile(CONFIG)  # registers CSVCaptionDataset
    path = write_csv(tmp_path / 'bad.csv', rows, header)
    with pytest.raises(AnnotationError) as info:
        DATASETS.build(dict(type='CSVCaptionDataset', ann_file=path))
    assert str(info.value) == f'{path}: {message}'


def test_unreadable_video_names_file_and_row(workspace, tmp_path):
    cfg = Config.fromfile(CONFIG)
    path = write_csv(
        tmp_path / 'missing.csv',
        [('clip0.mp4', 'a pan'), ('gone.mp4', 'a pot')],
    )
    dataset = DATASETS.build(
        dict(
            cfg.train_dataloader.dataset,
            ann_file=path,
            data_root=None,
            data_prefix=dict(video=str(workspace / 'data/youcook2/videos')),
        )
    )
    with pytest.raises(VideoReadError, match=f'{re.escape(path)}: row 3 '):
        dataset[1]
