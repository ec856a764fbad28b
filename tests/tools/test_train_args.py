"""How tools/train.py turns its arguments into the config."""

import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import REPO, load_script
from vidcap_mm.engine.launch import build_runner


@pytest.fixture(scope='module')
def train_tool():
    return load_script(osp.join(REPO, 'tools', 'train.py'))


def test_resume_with_a_checkpoint_path(train_tool):
    cfg = Config(dict(work_dir='w', load_from='xe.pth', resume=False))
    train_tool.resolve_resume(cfg, 'w/epoch_2.pth')
    assert cfg.resume and cfg.load_from == 'w/epoch_2.pth'


def test_auto_resume_finds_the_latest_checkpoint(train_tool, tmp_path):
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    cfg = Config(dict(work_dir=str(tmp_path), load_from='xe.pth'))
    train_tool.resolve_resume(cfg, 'auto')
    assert cfg.resume and cfg.load_from == str(tmp_path / 'epoch_3.pth')


def test_auto_resume_without_checkpoint_keeps_the_starting_weights(
    train_tool, tmp_path, monkeypatch
):
    """An SCST run resumed before its first checkpoint starts again from
    its cross-entropy checkpoint, not from random weights."""
    logged = []
    monkeypatch.setattr(
        train_tool, 'print_log', lambda msg, **kwargs: logged.append(msg)
    )
    cfg = Config(dict(work_dir=str(tmp_path), load_from='xe/best.pth'))
    train_tool.resolve_resume(cfg, 'auto')
    assert not cfg.resume and cfg.load_from == 'xe/best.pth'
    assert len(logged) == 1
    assert 'starting the run from load_from=xe/best.pth' in logged[0]


CONFIG = osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')


def merged(train_tool, *argv, cfg=None):
    """The demo config (or ``cfg``) after ``tools/train.py CONFIG argv``."""
    args = train_tool.parse_args([CONFIG, *argv])
    if cfg is None:
        cfg = Config.fromfile(CONFIG)
    return train_tool.merge_args(cfg, args)


def test_seed_flags_override_the_configs_randomness(train_tool):
    assert merged(train_tool).randomness == dict(seed=0)
    assert merged(train_tool, '--seed', '3').randomness == dict(seed=3)
    assert merged(
        train_tool, '--deterministic', '--diff-rank-seed'
    ).randomness == dict(seed=0, deterministic=True, diff_rank_seed=True)
    bare = merged(train_tool, '--seed', '5', cfg=Config(dict()))
    assert bare.randomness == dict(seed=5)
    assert 'randomness' not in merged(train_tool, cfg=Config(dict()))


def test_shorter_run_on_the_command_line_shortens_the_schedule(train_tool):
    cfg = merged(train_tool, '--cfg-options', 'train_cfg.max_epochs=2')
    assert cfg.train_cfg.max_epochs == 2
    assert [entry.end for entry in cfg.param_scheduler] == [20, 2]


def test_run_length_variable_on_the_command_line_is_warned_about(
    train_tool, monkeypatch
):
    logged = []
    monkeypatch.setattr(
        train_tool, 'print_log', lambda msg, **kwargs: logged.append(msg)
    )
    cfg = merged(train_tool, '--cfg-options', 'max_epochs=2')
    assert cfg.train_cfg.max_epochs == 12
    assert logged == [
        '--cfg-options max_epochs=2 sets a variable that nothing reads any '
        'more; the run length is train_cfg.max_epochs.'
    ]


def test_auto_scale_lr_needs_a_base_batch_size(train_tool):
    cfg = merged(train_tool, '--auto-scale-lr')
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=32)
    assert merged(train_tool).auto_scale_lr.enable is False

    with pytest.raises(ValueError) as error:
        merged(train_tool, '--auto-scale-lr', cfg=Config(dict()))
    assert (
        'has no auto_scale_lr.base_batch_size. Add auto_scale_lr = dict('
        'enable=False, base_batch_size=N)' in str(error.value)
    )
    given = merged(
        train_tool,
        '--auto-scale-lr',
        '--cfg-options',
        'auto_scale_lr.base_batch_size=16',
        cfg=Config(dict()),
    )
    assert given.auto_scale_lr == dict(enable=True, base_batch_size=16)


@pytest.mark.parametrize(
    'flag, lr', [((), 1e-3), (('--auto-scale-lr',), 2.5e-4)]
)
def test_auto_scale_lr_scales_the_optimizer(train_tool, tmp_path, flag, lr):
    """Batch 8 on one process against the demo's base batch of 32: a
    quarter of its lr 1e-3."""
    cfg = merged(
        train_tool,
        *flag,
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        'train_dataloader.batch_size=8',
    )
    runner = build_runner(cfg)
    # Runner.train()'s steps before it builds the schedulers (building the
    # train loop would need the data).
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    groups = runner.optim_wrapper.param_groups
    assert {group['lr'] for group in groups} == {lr}
