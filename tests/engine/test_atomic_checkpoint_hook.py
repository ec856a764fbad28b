"""Checkpoints are written atomically; the previous best goes only after the
new one is complete (AtomicCheckpointHook)."""

import os
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from vidcap_mm.engine.hooks import AtomicCheckpointHook, AtomicLocalBackend


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs)
        if mode == 'loss':
            return dict(loss=self.linear(inputs).pow(2).mean())
        return self.linear(inputs)


class CrashHalfway(Exception):
    pass


@pytest.fixture
def crash_when_writing(monkeypatch):
    """Make the atomic backend die while writing files whose name starts
    with a prefix: the bytes are written, the process dies before the
    rename."""

    def arm(prefix):
        write = AtomicLocalBackend._write_atomically

        def half_then_crash(data, filepath, mode):
            if osp.basename(filepath).startswith(prefix):

                def crashing_replace(src, dst):
                    raise CrashHalfway(dst)

                monkeypatch.setattr(os, 'replace', crashing_replace)
                try:
                    return write(data, filepath, mode)
                finally:
                    monkeypatch.undo()
            return write(data, filepath, mode)

        monkeypatch.setattr(
            AtomicLocalBackend,
            '_write_atomically',
            staticmethod(half_then_crash),
        )

    return arm


def toy_runner(work_dir, max_epochs=2):
    data = [dict(inputs=torch.randn(2)) for _ in range(4)]
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate'),
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=AtomicCheckpointHook(
                interval=1, save_best='acc', rule='greater'
            ),
            logger=dict(type='LoggerHook', interval=1),
        ),
        default_scope='mmaction',
        # Runners of one second would share MMEngine's message hub (and
        # the best checkpoint it remembers) under the default name.
        experiment_name=f'atomic_{osp.basename(work_dir)}_{max_epochs}',
    )


def checkpoint_hook(runner):
    return next(h for h in runner.hooks if isinstance(h, AtomicCheckpointHook))


def loadable(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def test_backend_write_is_atomic(tmp_path):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'complete old file')

    def failing_fsync(fd):
        raise OSError('disk full')

    backend = AtomicLocalBackend()
    original = os.fsync
    os.fsync = failing_fsync
    try:
        with pytest.raises(OSError, match='disk full'):
            backend.put(b'x' * 1000, str(target))
    finally:
        os.fsync = original
    assert target.read_bytes() == b'complete old file'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left
    backend.put(b'new', str(target))
    assert target.read_bytes() == b'new'


def test_crash_while_writing_a_new_best_keeps_the_previous_best(
    tmp_path, crash_when_writing
):
    runner = toy_runner(tmp_path)
    runner.train()
    hook = checkpoint_hook(runner)
    hook._save_best_checkpoint(runner, dict(acc=0.5))
    first_best = hook.best_ckpt_path
    assert osp.basename(first_best) == 'best_acc_epoch_2.pth'
    loadable(first_best)

    runner.train_loop._epoch = 3  # a later, better validation
    crash_when_writing('best_')
    with pytest.raises(CrashHalfway):
        hook._save_best_checkpoint(runner, dict(acc=0.9))
    assert hook.best_ckpt_path == first_best
    loadable(first_best)
    names = sorted(os.listdir(tmp_path))
    assert 'best_acc_epoch_3.pth' not in names
    assert not [n for n in names if n.endswith('.tmp')]


def test_new_best_replaces_the_previous_one_once_written(tmp_path):
    runner = toy_runner(tmp_path)
    runner.train()
    hook = checkpoint_hook(runner)
    hook._save_best_checkpoint(runner, dict(acc=0.5))
    first_best = hook.best_ckpt_path
    runner.train_loop._epoch = 3
    hook._save_best_checkpoint(runner, dict(acc=0.4))  # not better
    assert hook.best_ckpt_path == first_best and osp.isfile(first_best)
    hook._save_best_checkpoint(runner, dict(acc=0.9))
    assert osp.basename(hook.best_ckpt_path) == 'best_acc_epoch_3.pth'
    assert not osp.exists(first_best)
    loadable(hook.best_ckpt_path)


def test_crash_while_saving_leaves_last_checkpoint_complete(
    tmp_path, crash_when_writing
):
    crash_when_writing('epoch_2')
    with pytest.raises(CrashHalfway):
        toy_runner(tmp_path).train()
    latest = find_latest_checkpoint(str(tmp_path))
    assert osp.basename(latest) == 'epoch_1.pth'
    assert not osp.exists(tmp_path / 'epoch_2.pth')
    loadable(latest)
    # --resume picks it up and finishes the run.
    runner = toy_runner(tmp_path)
    runner._resume = True
    runner.train()
    assert runner.epoch == 2
    assert osp.basename(find_latest_checkpoint(str(tmp_path))) == 'epoch_2.pth'
