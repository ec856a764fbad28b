"""A training step makes no host-device synchronisation (needs a GPU).

Run where a GPU is present; elsewhere it is skipped for that reason only.
``torch.cuda.set_sync_debug_mode`` reports every operation that waits for
the GPU (``.item()``, a blocking copy, a data-dependent shape); each one
stalls the queue of kernels the CPU runs ahead to fill.
"""

import traceback
import warnings

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from tests.helpers import build_captioner, caption_samples

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA GPU'
)

CAPTIONS = ['a red circle on a blue background', 'a green square']


def synchronisations(step):
    """Run ``step`` and return the stack of every synchronising call."""
    stacks = []

    def record(message, category, *args, **kwargs):
        if 'synchroniz' in str(message):
            stacks.append(''.join(traceback.format_stack(limit=12)[:-1]))

    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings():
        warnings.simplefilter('always')
        warnings.showwarning = record
        torch.cuda.set_sync_debug_mode('warn')
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return stacks


@pytest.mark.parametrize(
    'kind, parts',
    [
        ('t5', dict(head=dict(dtype='bfloat16'))),
        ('opt', dict(head=dict(dtype='bfloat16'))),
        (
            't5',
            dict(
                head=dict(
                    dtype='bfloat16',
                    lora=dict(r=4, lora_alpha=8, target_modules=['q', 'v']),
                )
            ),
        ),
    ],
)
def test_train_step_does_not_synchronise(kind, parts):
    torch.manual_seed(0)
    captioner = build_captioner(kind, **parts).cuda().train()
    wrapper = build_optim_wrapper(
        captioner,
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4)),
    )
    frames = torch.randint(0, 256, (2, 2, 3, 32, 32), dtype=torch.uint8)
    data = dict(
        inputs=list(frames.pin_memory()),
        data_samples=caption_samples(CAPTIONS),
    )
    captioner.train_step(data, wrapper)  # optimizer state, allocator
    torch.cuda.synchronize()
    stacks = synchronisations(lambda: captioner.train_step(data, wrapper))
    assert not stacks, '\n\n'.join(stacks)
