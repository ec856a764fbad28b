"""How tools/train.py turns its arguments into the config."""

import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import REPO


@pytest.fixture(scope='module')
def train_tool():
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
