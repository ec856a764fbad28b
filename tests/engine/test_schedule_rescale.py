"""A run length changed on the command line stretches the schedule that
ended at the old one (``rescale_schedule``), or warns."""

import copy
import logging
import os.path as osp

import pytest
from mmengine.config import Config

from tests.helpers import REPO
from vidcap_mm.engine import schedule_rescaling
from vidcap_mm.engine.schedule_rescaling import rescale_schedule

SCHEDULES = osp.join(REPO, 'configs', '_base_', 'schedules')


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(
        schedule_rescaling,
        'print_log',
        lambda msg, logger=None, level=logging.INFO: messages.append(
            (level, msg)
        ),
    )
    return messages


def rescaled(options, cfg=None, schedule=None, train_cfg=None):
    """``cfg`` (or a config of ``schedule`` and ``train_cfg``) after
    ``--cfg-options options``."""
    if cfg is None:
        cfg = Config(dict(train_cfg=train_cfg, param_scheduler=schedule))
    old_train_cfg = copy.deepcopy(cfg.train_cfg)
    cfg.merge_from_dict(options)
    rescale_schedule(cfg, old_train_cfg, options)
    return cfg.param_scheduler


def cosine(**kwargs):
    return dict(type='CosineAnnealingLR', eta_min=0.0, **kwargs)


def warm_up(end, by_epoch=True):
    return dict(
        type='LinearLR', start_factor=0.1, by_epoch=by_epoch, begin=0, end=end
    )


EPOCHS_12 = dict(type='EpochBasedTrainLoop', max_epochs=12)


def test_demo_schedule_ends_with_the_shorter_run(logged):
    cfg = Config.fromfile(osp.join(SCHEDULES, 'demo_cpu.py'))
    schedule = rescaled({'train_cfg.max_epochs': 2}, cfg)
    # The decay keeps its share of the run: epochs 9-12 of 12 -> 1.5-2.
    assert schedule[1].begin == pytest.approx(1.5)
    assert schedule[1].end == 2 and 'T_max' not in schedule[1]
    assert schedule[0] == warm_up(20, by_epoch=False)  # iterations: kept
    assert logged == [
        (
            logging.INFO,
            'train_cfg.max_epochs 12 -> 2 on the command line: '
            'param_scheduler.0 (LinearLR) kept (not in epochs); '
            'param_scheduler.1 (CosineAnnealingLR) begin 9 -> 1.5, '
            'end 12 -> 2',
        )
    ]


def test_seed_schedule_lengthened():
    cfg = Config.fromfile(osp.join(SCHEDULES, 'adamw_warmup_cosine_epochs.py'))
    schedule = rescaled({'train_cfg.max_epochs': 15}, cfg)
    # One LAVIS schedule: its cosine counts the new run's epochs.
    assert [entry.get('end') for entry in schedule] == [15]


def test_seed_iteration_schedule_lengthened():
    # LAVIS's runner_iter: max_epoch = max_iters // iters_per_inner_epoch.
    cfg = Config.fromfile(osp.join(SCHEDULES, 'adamw_warmup_cosine_iters.py'))
    schedule = rescaled({'train_cfg.max_iters': 20000}, cfg)
    assert [entry.get('end') for entry in schedule] == [20000]


def test_warm_up_in_epochs_is_kept_and_the_rest_stretched(logged):
    schedule = [
        warm_up(1),
        cosine(begin=1, end=12, T_max=11, convert_to_iter_based=True),
    ]
    shorter = rescaled({'train_cfg.max_epochs': 6}, None, schedule, EPOCHS_12)
    assert shorter[0] == warm_up(1)
    assert (shorter[1].begin, shorter[1].end, shorter[1].T_max) == (1, 6, 5)
    assert logged[0][1].endswith(
        'param_scheduler.0 (LinearLR) kept (warm-up); '
        'param_scheduler.1 (CosineAnnealingLR) end 12 -> 6, T_max 11 -> 5'
    )
    longer = rescaled({'train_cfg.max_epochs': 23}, None, schedule, EPOCHS_12)
    assert (longer[1].begin, longer[1].end, longer[1].T_max) == (1, 23, 22)


def test_later_begin_is_scaled_proportionally():
    converted = [cosine(begin=3, end=12, convert_to_iter_based=True)]
    schedule = rescaled(
        {'train_cfg.max_epochs': 6}, None, converted, EPOCHS_12
    )
    assert (schedule[0].begin, schedule[0].end) == (1.5, 6)
    # Stepped once per epoch, a begin must be a whole epoch (1.5 -> 2).
    by_epoch = [cosine(begin=3, end=12)]
    schedule = rescaled({'train_cfg.max_epochs': 6}, None, by_epoch, EPOCHS_12)
    assert (schedule[0].begin, schedule[0].end) == (2, 6)


def test_iteration_based_chain(logged):
    train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000)
    schedule = [
        warm_up(100, by_epoch=False),
        dict(
            type='ConstantLR', factor=0.5, by_epoch=False, begin=100, end=400
        ),
        cosine(by_epoch=False, begin=400, end=1000, T_max=600),
    ]
    schedule = rescaled(
        {'train_cfg.max_iters': 550}, None, schedule, train_cfg
    )
    assert schedule[0] == warm_up(100, by_epoch=False)
    assert (schedule[1].begin, schedule[1].end) == (100, 250)
    assert (schedule[2].begin, schedule[2].end, schedule[2].T_max) == (
        250,
        550,
        300,
    )
    assert [level for level, _ in logged] == [logging.INFO]


@pytest.mark.parametrize(
    'schedule, new, warning, overrun',
    [
        (
            [cosine(begin=0, end=8)],
            6,
            'no param_scheduler entry ends at 12 epochs',
            'param_scheduler.0 (CosineAnnealingLR) ends at 8 epochs',
        ),
        (
            [warm_up(2), cosine(begin=0, end=12)],
            2,
            'the run ends within the warm-up (2 epochs)',
            'param_scheduler.1 (CosineAnnealingLR) ends at 12 epochs',
        ),
        (
            [dict(type='MultiStepLR', milestones=[8, 11], begin=0, end=12)],
            6,
            'param_scheduler.0 (MultiStepLR) also counts milestones',
            'param_scheduler.0 (MultiStepLR) ends at 12 epochs',
        ),
    ],
)
def test_unclear_schedules_are_kept_with_a_warning(
    schedule, new, warning, overrun, logged
):
    before = copy.deepcopy(schedule)
    after = rescaled({'train_cfg.max_epochs': new}, None, schedule, EPOCHS_12)
    assert after == before
    change = f'train_cfg.max_epochs 12 -> {new} on the command line: '
    assert logged == [
        (logging.WARNING, f'{change}{warning}: the schedule is not rescaled'),
        (logging.WARNING, f'{change}{overrun}, after the run ({new})'),
    ]


def test_iterations_that_begin_later_in_an_epoch_run_are_warned_about(logged):
    schedule = [
        cosine(begin=0, end=12),
        dict(type='ConstantLR', factor=0.5, by_epoch=False, begin=500),
    ]
    after = rescaled({'train_cfg.max_epochs': 6}, None, schedule, EPOCHS_12)
    assert after[0].end == 6 and after[1].begin == 500
    assert logged[-1] == (
        logging.WARNING,
        'train_cfg.max_epochs 12 -> 6 on the command line: '
        'param_scheduler.1 (ConstantLR) is not counted in epochs and begins '
        'at 500: not rescaled, check it',
    )


@pytest.mark.parametrize('end', [4, 12])
def test_schedule_set_on_the_command_line_too_is_kept(end, logged):
    schedule = [cosine(begin=0, end=12)]
    after = rescaled(
        {'train_cfg.max_epochs': 6, 'param_scheduler.0.end': end},
        None,
        schedule,
        EPOCHS_12,
    )
    assert after[0].end == end
    assert logged == [
        (
            logging.INFO,
            'train_cfg.max_epochs 12 -> 6 on the command line; '
            'param_scheduler, set there too, is kept',
        )
    ]


def test_same_length_changes_nothing(logged):
    schedule = [cosine(begin=0, end=12)]
    after = rescaled({'train_cfg.max_epochs': 12}, None, schedule, EPOCHS_12)
    assert after == [cosine(begin=0, end=12)] and logged == []
