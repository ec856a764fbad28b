"""``optim_wrapper.accumulative_counts``: accumulated small batches give
the update of one large batch when every caption has as many tokens."""

import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from tests.helpers import build_captioner, samples_for

# Six words each: the same number of caption tokens in every record.
EQUAL = [
    'a red circle on green background',
    'a blue square on red background',
    'a green circle on blue background',
    'a red square on green background',
    'a blue circle on red background',
    'a green square on blue background',
    'a red circle on blue background',
    'a blue square on green background',
]
# The same clips, captions of 2 to 9 words.
UNEQUAL = [
    'a circle',
    'a blue square on red background',
    'a green circle',
    'a red square on green background of the video',
    'a blue circle on red background',
    'a square',
    'a red circle on blue background',
    'short description of a blue square on green background',
]
OPTIMIZERS = dict(
    sgd=dict(type='SGD', lr=0.5),
    # A first AdamW step moves each weight by about lr * sign(grad): eps
    # keeps weights whose gradient is near zero from amplifying rounding.
    adamw=dict(type='AdamW', lr=1e-3, eps=1e-4, weight_decay=0.05),
)


def batch(captions, start, size):
    generator = torch.Generator().manual_seed(0)
    clips = [
        torch.randint(
            0, 256, (4, 3, 32, 32), dtype=torch.uint8, generator=generator
        )
        for _ in captions
    ]
    ids = [f'v{i}' for i in range(len(captions))]
    stop = start + size
    return dict(
        inputs=clips[start:stop],
        data_samples=samples_for(ids[start:stop], captions[start:stop]),
    )


def trained(model, optimizer, captions, batch_size, counts):
    """Trainable weights after one optimizer step over all captions."""
    model = copy.deepcopy(model)
    # What the Runner builds from a config's optim_wrapper.
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=optimizer,
            accumulative_counts=counts,
        ),
    )
    wrapper.initialize_count_status(model, 0, counts)
    for start in range(0, len(captions), batch_size):
        model.train_step(batch(captions, start, batch_size), wrapper)
    assert wrapper.optimizer.state or optimizer['type'] == 'SGD'
    return {
        name: param.detach().clone()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


@pytest.fixture(scope='module')
def captioner():
    model = build_captioner(
        'opt', backbone=dict(frozen=False), head=dict(frozen=False)
    )
    # Dropout off (eval mode) in both runs: the same function of the weights.
    return model.eval()


def max_difference(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.mark.parametrize('optimizer', sorted(OPTIMIZERS))
def test_four_steps_of_two_equal_one_step_of_eight(captioner, optimizer):
    tokenizer = captioner.head.tokenizer
    lengths = {len(tokenizer(c)['input_ids']) for c in EQUAL}
    assert len(lengths) == 1, lengths
    initial = {
        name: param.detach().clone()
        for name, param in captioner.named_parameters()
        if param.requires_grad
    }
    cfg = OPTIMIZERS[optimizer]
    accumulated = trained(captioner, cfg, EQUAL, batch_size=2, counts=4)
    large = trained(captioner, cfg, EQUAL, batch_size=8, counts=1)
    assert max_difference(initial, large) > 1e-4
    assert max_difference(accumulated, large) < 1e-6


def test_unequal_caption_lengths_weigh_batches_not_tokens(captioner):
    """The loss is the mean over a batch's caption tokens: accumulation
    averages four batch means, so a token of a short-caption batch weighs
    more than in the large batch."""
    cfg = OPTIMIZERS['sgd']
    accumulated = trained(captioner, cfg, UNEQUAL, batch_size=2, counts=4)
    large = trained(captioner, cfg, UNEQUAL, batch_size=8, counts=1)
    assert max_difference(accumulated, large) > 1e-4
