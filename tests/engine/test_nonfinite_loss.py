"""NonFiniteStepHook: a run stops at the first NaN / infinite loss or
gradient, or skips such steps without touching weights or optimizer state."""

import copy
import glob
import itertools
import math
import os
import os.path as osp
import pickle
import time
import warnings
from unittest import mock

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmaction.registry import HOOKS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.optim import AmpOptimWrapper, LinearLR, OptimWrapper
from mmengine.runner import Runner
from torch import nn

from tests.evaluation.test_caption_metric_dist import _free_port
from tests.helpers import REPO
from vidcap_mm.datasets.synthetic import generate_synthetic_clips
from vidcap_mm.engine import NonFiniteStepGuard, NonFiniteTrainingError
from vidcap_mm.engine.distributed import cpu_model_wrapper_cfg
from vidcap_mm.engine.hooks import non_finite_step_hook

BATCH = 2
RUNS = itertools.count()
NUM_SAMPLES = 8  # 4 iterations an epoch


class InfiniteGradient(torch.autograd.Function):
    """The identity whose backward returns infinity: a finite loss with an
    infinite gradient."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return torch.full_like(grad, float('inf'))


class FaultyModel(BaseModel):
    """A linear model whose batches can ask (``fault`` in a data sample's
    metainfo) for a NaN loss or an infinite gradient."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        # Frozen: no gradient, never checked or named.
        self.frozen = nn.Linear(2, 1).requires_grad_(False)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs)) + self.frozen.bias
        if mode != 'loss':
            return out
        faults = {s.metainfo.get('fault') for s in data_samples}
        if 'inf_grad' in faults:
            out = InfiniteGradient.apply(out)
        loss_main = out.pow(2).mean()
        if 'nan_loss' in faults:
            loss_main = loss_main * float('nan')
        return dict(loss_main=loss_main, loss_aux=0.5 * out.abs().mean())


def dataset(faults=None, size=NUM_SAMPLES):
    """Samples ``video<i>``; ``faults`` maps a sample index to its fault."""
    faults = faults or {}
    items = []
    for i in range(size):
        meta = dict(video_id=f'video{i}')
        if i in faults:
            meta['fault'] = faults[i]
        items.append(
            dict(
                inputs=torch.tensor([float(i), 1.0]),
                data_samples=ActionDataSample(metainfo=meta),
            )
        )
    return items


class Snapshots(Hook):
    """Weights and optimizer state before and after every iteration."""

    def __init__(self):
        self.before, self.after = {}, {}

    @staticmethod
    def _state(runner):
        model = runner.model
        model = getattr(model, 'module', model)
        return copy.deepcopy(
            dict(
                model=model.state_dict(),
                optimizer=runner.optim_wrapper.optimizer.state_dict(),
                grads=[p.grad for p in model.parameters()],
            )
        )

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before[runner.iter + 1] = self._state(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, **kw):
        self.after[runner.iter + 1] = self._state(runner)


def assert_identical(a, b):
    """Equal bit for bit (nested dicts / lists of tensors)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_identical(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_identical(x, y)
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    else:
        assert a == b


def toy_runner(tmp_path, faults=None, hook=None, snapshots=None, **kwargs):
    optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.1))
    optim_wrapper.update(kwargs.pop('optim_wrapper', {}))
    max_epochs = kwargs.pop('max_epochs', 1)
    return Runner(
        model=FaultyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=dataset(faults),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=BATCH,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate'),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=optim_wrapper,
        default_hooks=dict(
            non_finite=dict(type='NonFiniteStepHook', **(hook or {})),
            # Checkpoints at every iteration: none may follow a bad step.
            checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1),
        ),
        custom_hooks=[snapshots] if snapshots else None,
        default_scope='mmaction',
        randomness=dict(seed=0),
        # Runners of one name share their message hub (and its counts).
        experiment_name=f'nonfinite_{next(RUNS)}',
        **kwargs,
    )


def checkpoints(work_dir):
    return sorted(osp.basename(p) for p in glob.glob(f'{work_dir}/*.pth'))


def test_stops_on_nan_loss_naming_iteration_losses_lr_and_videos(tmp_path):
    # Iteration 3 of the epoch reads samples 4 and 5.
    snapshots = Snapshots()
    runner = toy_runner(tmp_path, {5: 'nan_loss'}, snapshots=snapshots)
    with pytest.raises(NonFiniteTrainingError) as error:
        runner.train()
    message = str(error.value)
    assert 'non-finite loss at iteration 3 (epoch 1, batch 3/4)' in message
    assert 'logged values: loss=nan, loss_main=nan, loss_aux=' in message
    assert 'learning rate: lr=0.1\n' in message
    assert "videos in the batch: 'video4', 'video5'" in message
    assert 'skip=True' in message
    # The step was not taken, and no checkpoint follows it.
    assert_identical(runner.model.state_dict(), snapshots.before[3]['model'])
    assert checkpoints(tmp_path) == ['iter_1.pth', 'iter_2.pth']


def test_stops_on_infinite_gradient_with_finite_loss(tmp_path):
    snapshots = Snapshots()
    runner = toy_runner(tmp_path, {2: 'inf_grad'}, snapshots=snapshots)
    with pytest.raises(NonFiniteTrainingError) as error:
        runner.train()
    message = str(error.value)
    assert 'non-finite gradient at iteration 2 (epoch 1, batch 2/4)' in message
    assert 'non-finite loss' not in message
    loss = float(message.split('logged values: loss=')[1].split(',')[0])
    assert math.isfinite(loss)
    # Only trainable tensors are checked and named.
    assert (
        'non-finite gradients in 2 of 2 trainable tensors: linear.weight, '
        'linear.bias' in message
    )
    assert "videos in the batch: 'video2', 'video3'" in message
    assert_identical(runner.model.state_dict(), snapshots.before[2]['model'])


def test_skip_leaves_weights_and_optimizer_state_identical(
    tmp_path, monkeypatch
):
    warnings = []
    monkeypatch.setattr(
        non_finite_step_hook,
        'print_log',
        lambda msg, **kwargs: warnings.append(msg),
    )
    snapshots = Snapshots()
    runner = toy_runner(
        tmp_path, {4: 'nan_loss'}, hook=dict(skip=True), snapshots=snapshots
    )
    runner.train()
    bad = snapshots.before[3], snapshots.after[3]
    # Adam has state (moments, step count) from iterations 1-2.
    assert bad[0]['optimizer']['state']
    assert_identical(bad[0]['model'], bad[1]['model'])
    assert_identical(bad[0]['optimizer'], bad[1]['optimizer'])
    assert bad[1]['grads'] == [None, None, None, None]
    # It goes on: the next step updates the weights.
    assert not torch.equal(
        snapshots.after[4]['model']['linear.weight'],
        snapshots.before[4]['model']['linear.weight'],
    )
    assert runner.message_hub.get_scalar('train/skipped_steps').current() == 1
    (warning,) = warnings
    assert warning.startswith(
        'NonFiniteStepHook: non-finite loss at iteration 3 (epoch 1, batch '
        '3/4): optimizer step skipped (1 skipped so far, 1 in a row; the run '
        'stops at 10 in a row).'
    )
    assert "videos in the batch: 'video4', 'video5'" in warning
    # What the logger writes: the count itself, not a windowed mean.
    tag, line = runner.log_processor.get_log_after_iter(runner, 3, 'train')
    assert tag['skipped_steps'] == 1 and 'skipped_steps: 1' in line


def test_stops_after_consecutive_skips(tmp_path, monkeypatch):
    monkeypatch.setattr(non_finite_step_hook, 'print_log', mock.Mock())
    faults = {i: 'nan_loss' for i in range(2, NUM_SAMPLES)}
    runner = toy_runner(
        tmp_path, faults, hook=dict(skip=True, max_consecutive_skips=3)
    )
    with pytest.raises(NonFiniteTrainingError) as error:
        runner.train()
    message = str(error.value)
    assert message.startswith(
        'NonFiniteStepHook: 3 optimizer steps in a row were skipped '
        '(iterations 2-4): training has diverged; stopping. The last one: '
        'non-finite loss at iteration 4 (epoch 1, batch 4/4): optimizer step '
        'skipped (3 skipped so far, 3 in a row; the run stops at 3 in a row).'
    )
    assert "'video6', 'video7'" in message
    # Skipped steps left the weights as they were: their checkpoints are
    # sound; none is written at the step that stops the run.
    assert checkpoints(tmp_path) == ['iter_1.pth', 'iter_2.pth', 'iter_3.pth']


def test_a_taken_step_resets_the_consecutive_count(tmp_path, monkeypatch):
    monkeypatch.setattr(non_finite_step_hook, 'print_log', mock.Mock())
    # Bad, good, bad, good, ... over 2 epochs: never 2 in a row.
    faults = {i: 'nan_loss' for i in range(NUM_SAMPLES) if i % 4 == 0}
    runner = toy_runner(
        tmp_path,
        faults,
        hook=dict(skip=True, max_consecutive_skips=2),
        max_epochs=2,
    )
    runner.train()
    assert runner.message_hub.get_scalar('train/skipped_steps').current() == 4


def test_accumulated_update_is_skipped_whole(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(
        non_finite_step_hook,
        'print_log',
        lambda msg, **kwargs: warnings.append(msg),
    )
    snapshots = Snapshots()
    # Windows of 2 iterations: the first micro-batch of the second window
    # (iteration 3) has a NaN loss.
    runner = toy_runner(
        tmp_path,
        {4: 'nan_loss'},
        hook=dict(skip=True),
        snapshots=snapshots,
        optim_wrapper=dict(accumulative_counts=2),
    )
    runner.train()
    assert_identical(snapshots.before[3]['model'], snapshots.after[4]['model'])
    assert_identical(
        snapshots.before[3]['optimizer'], snapshots.after[4]['optimizer']
    )
    assert snapshots.after[4]['grads'] == [None, None, None, None]
    # The first window was applied.
    assert not torch.equal(
        snapshots.before[1]['model']['linear.weight'],
        snapshots.after[2]['model']['linear.weight'],
    )
    assert len(warnings) == 2
    assert warnings[0].startswith(
        'NonFiniteStepHook: non-finite loss at iteration 3 (epoch 1, batch '
        '3/4): the update at the end of this accumulation window will be '
        'skipped.'
    )
    assert warnings[1].startswith(
        'NonFiniteStepHook: a non-finite loss earlier in this accumulation '
        'window at iteration 4 (epoch 1, batch 4/4): optimizer step skipped '
        '(1 skipped so far'
    )


def test_accumulation_stops_at_the_bad_micro_batch(tmp_path):
    runner = toy_runner(
        tmp_path, {4: 'nan_loss'}, optim_wrapper=dict(accumulative_counts=2)
    )
    with pytest.raises(NonFiniteTrainingError, match='at iteration 3 '):
        runner.train()


def test_skip_count_carries_over_a_resume(tmp_path, monkeypatch):
    warn = mock.Mock()
    monkeypatch.setattr(non_finite_step_hook, 'print_log', warn)
    runner = toy_runner(tmp_path, {0: 'nan_loss'}, hook=dict(skip=True))
    runner.train()
    assert warn.call_count == 1
    warn.reset_mock()
    resumed = toy_runner(
        tmp_path,
        {0: 'nan_loss'},
        hook=dict(skip=True),
        max_epochs=2,
        resume=True,
    )
    resumed.train()
    assert resumed.iter > runner.iter and warn.call_count >= 1
    skipped = resumed.message_hub.get_scalar('train/skipped_steps').current()
    assert skipped == 1 + warn.call_count


def test_guard_checks_gradients_in_one_reduction_and_is_cheap():
    model = FaultyModel()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    guard = NonFiniteStepGuard(wrapper)
    loss = model([torch.ones(2)], [ActionDataSample()], mode='loss')
    wrapper.backward(loss['loss_main'])
    with mock.patch.object(
        torch, '_foreach_norm', wraps=torch._foreach_norm
    ) as norm:
        assert not guard._grads_nonfinite()
    norm.assert_called_once()
    (grads, order), _ = norm.call_args
    assert order == float('inf') and len(grads) == 2


def test_guard_keeps_the_schedulers_step_counter_and_can_be_removed():
    model = FaultyModel()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    scheduler = LinearLR(wrapper, by_epoch=False)
    counting_step = wrapper.step
    guard = NonFiniteStepGuard(wrapper)
    wrapper.update_params(
        model([torch.ones(2)], [ActionDataSample()], mode='loss')['loss_main']
    )
    assert wrapper._global_step == 0
    with warnings.catch_warnings():
        # "optimizer.step() has been overridden after ... scheduler
        # initialization" if the counter's mark were lost.
        warnings.simplefilter('error')
        scheduler.step()
    guard.remove()
    assert wrapper.step is counting_step
    assert 'backward' not in vars(wrapper)


def test_amp_wrapper_leaves_infinite_gradients_to_its_loss_scaler():
    """AmpOptimWrapper's GradScaler skips steps with infinite gradients
    itself; the guard only adds the loss check."""
    model = FaultyModel()
    with (
        mock.patch(
            'mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available',
            return_value=True,
        ),
        pytest.warns(UserWarning, match='CUDA is not available'),
    ):
        wrapper = AmpOptimWrapper(
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)
        )
    guard = NonFiniteStepGuard(wrapper)
    assert not guard.check_grads
    scaler_step = mock.Mock()
    guard._step = scaler_step
    grad_fault = [ActionDataSample(metainfo=dict(fault='inf_grad'))]
    wrapper.update_params(
        model([torch.ones(2)], grad_fault, mode='loss')['loss_main']
    )
    scaler_step.assert_called_once()
    assert guard.pop_report().skipped == 0
    loss_fault = [ActionDataSample(metainfo=dict(fault='nan_loss'))]
    wrapper.update_params(
        model([torch.ones(2)], loss_fault, mode='loss')['loss_main']
    )
    scaler_step.assert_called_once()
    assert guard.pop_report().skipped == 1


def _run_rank(rank, port, out_dir, skip):
    # What torchrun sets; the Runner reads it to build DDP.
    os.environ['LOCAL_RANK'] = str(rank)
    torch_dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2
    )
    try:
        snapshots = Snapshots()
        # DefaultSampler gives rank 1 the odd samples: only its batch of
        # iteration 2 (samples 5 and 7) has a NaN loss.
        runner = toy_runner(
            osp.join(out_dir, str(rank)),
            {5: 'nan_loss'},
            hook=dict(skip=skip),
            snapshots=snapshots,
            launcher='pytorch',
            cfg=dict(model_wrapper_cfg=cpu_model_wrapper_cfg()),
        )
        result = dict(error=None)
        try:
            runner.train()
        except NonFiniteTrainingError as error:
            result['error'] = str(error)
        result['before'] = snapshots.before[2]['model']
        result['after'] = snapshots.after.get(2, {}).get('model')
        result['final'] = runner.model.module.state_dict()
        with open(osp.join(out_dir, f'rank{rank}.pkl'), 'wb') as f:
            pickle.dump(result, f)
    finally:
        torch_dist.destroy_process_group()


def run_two_processes(out_dir, skip):
    context = mp.start_processes(
        _run_rank,
        args=(_free_port(), str(out_dir), skip),
        nprocs=2,
        join=False,
        start_method='fork',
    )
    deadline = time.monotonic() + 120
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.terminate()
            pytest.fail('two-process training did not finish in 120 s')
    results = []
    for rank in range(2):
        with open(osp.join(out_dir, f'rank{rank}.pkl'), 'rb') as f:
            results.append(pickle.load(f))
    return results


def test_ddp_processes_take_the_same_decision(tmp_path):
    skipped = run_two_processes(tmp_path / 'skip', skip=True)
    for result in skipped:
        assert result['error'] is None
        assert_identical(result['before'], result['after'])
    assert_identical(skipped[0]['final'], skipped[1]['final'])

    stopped = run_two_processes(tmp_path / 'stop', skip=False)
    for rank, result in enumerate(stopped):
        assert result['error'].startswith(
            'NonFiniteStepHook: non-finite loss on process(es) 1 at '
            'iteration 2 (epoch 1, batch 2/2)'
        )
        assert f'videos in the batch of process {rank}:' in result['error']
        assert_identical(result['before'], result['final'])


def test_tiny_captioner_with_huge_lr_stops_without_a_best_checkpoint(
    tmp_path,
):
    """The issue's run: the demo config at lr 1e6 trained to NaN and saved
    a "best" checkpoint of it."""
    data_root = str(tmp_path / 'clips')
    generate_synthetic_clips(
        data_root, num_train=8, num_val=4, num_test=4, num_frames=8, size=32
    )
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'demo', 'tiny_opt_synthetic.py')
    )
    options = {'optim_wrapper.optimizer.lr': 1e6, 'train_cfg.max_epochs': 4}
    for split, loader in (
        ('train', 'train_dataloader'),
        ('val', 'val_dataloader'),
    ):
        options[f'{loader}.dataset.ann_file'] = (
            f'{data_root}/annotations/{split}.json'
        )
        options[f'{loader}.dataset.data_prefix.video'] = f'{data_root}/videos'
        options[f'{loader}.num_workers'] = 0
        options[f'{loader}.persistent_workers'] = False
        options[f'{loader}.batch_size'] = 2
    options['train_cfg.val_interval'] = 1
    cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(NonFiniteTrainingError, match='non-finite') as error:
        runner.train()
    assert "videos in the batch: '" in str(error.value)
    assert not glob.glob(f'{cfg.work_dir}/best_*.pth')


def test_default_runtime_switches_it_on():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'default_runtime.py')
    )
    hooks = [h['type'] for h in cfg.default_hooks.values()]
    assert 'NonFiniteStepHook' in hooks
    assert (
        HOOKS.get('NonFiniteStepHook')
        is non_finite_step_hook.NonFiniteStepHook
    )
