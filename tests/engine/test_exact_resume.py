"""``--resume`` continues bit-identically: the iterations after a resume
have the losses of an uninterrupted run, with random frame sampling,
random caption choice and dropout all active (RandomStateHook,
EpochSeededSampler)."""

import pytest

from tests.engine.tiny_runs import tiny_run_cfg, train
from vidcap_mm.datasets.synthetic import generate_synthetic_clips


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp('resume_clips')
    generate_synthetic_clips(
        str(root), num_train=8, num_val=4, num_test=4, num_frames=8, size=32
    )
    return str(root)


def resumed_losses(tmp_path, clips, stop_after, num_workers, **options):
    """Losses of an uninterrupted run, and of one stopped after
    ``stop_after`` iterations and resumed, by iteration."""
    # One random caption of the video per sample: the caption draw is
    # random too. 8 clips, batch 4: two iterations per epoch.
    options.setdefault('train_dataloader', {})['dataset'] = dict(
        train_samples='per_video'
    )

    def cfg(name, **extra):
        return tiny_run_cfg(
            tmp_path / name, clips, num_workers, **options, **extra
        )

    _, full = train(cfg('straight'))
    train(cfg('interrupted'), stop_after=stop_after)
    _, resumed = train(cfg('interrupted', resume=True))
    return full, resumed


def test_epoch_based_resume_with_persistent_workers(tmp_path, clips):
    full, resumed = resumed_losses(
        tmp_path,
        clips,
        stop_after=2,  # the end of epoch 1
        num_workers=2,
        train_cfg=dict(max_epochs=3, val_interval=1),
    )
    assert len(full) == len(resumed) == 6
    assert resumed[2:] == full[2:]


def test_iteration_based_resume_across_epochs(tmp_path, clips):
    schedule = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=2),
        dict(
            type='CosineAnnealingLR', by_epoch=False, begin=0, end=6, T_max=6
        ),
    ]
    full, resumed = resumed_losses(
        tmp_path,
        clips,
        stop_after=3,  # mid-epoch: iteration 3 of 2-iteration epochs
        num_workers=0,
        train_cfg=dict(
            _delete_=True,
            type='IterBasedTrainLoop',
            max_iters=6,
            val_interval=3,
        ),
        param_scheduler=schedule,
        default_hooks=dict(checkpoint=dict(by_epoch=False, interval=1)),
        log_processor=dict(by_epoch=False),
    )
    assert len(full) == len(resumed) == 6
    assert resumed[3:] == full[3:]
