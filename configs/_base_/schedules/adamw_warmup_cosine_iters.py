# The seed's iteration-based optimisation: AdamW (weight decay 0.05), a
# linear warm-up over 1000 iterations from 1e-8, then cosine decay to
# `min_lr` at `max_iters`; validation every 1000 iterations. Leaf configs
# set lr, min_lr and max_iters (and the warm-up's start_factor = 1e-8 / lr),
# and, since bases may not share keys, checkpoint every 1000 iterations and
# log by iteration themselves (default_hooks, log_processor).
# The optimizer, loops and auto_scale_lr come from the epoch-based base.
_base_ = ['./adamw_warmup_cosine_epochs.py']
lr = 5e-5
min_lr = 1e-5
max_iters = 15000
warmup_iters = 1000
warmup_start_lr = 1e-8

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=1000,
)
optim_wrapper = dict(optimizer=dict(lr=lr))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=warmup_start_lr / lr,
        by_epoch=False,
        begin=0,
        end=warmup_iters,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=min_lr,
        by_epoch=False,
        begin=0,
        end=max_iters,
    ),
]
