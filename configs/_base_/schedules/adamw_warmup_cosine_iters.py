# The seed's iteration-based optimisation: AdamW (weight decay 0.05), a
# linear warm-up over 1000 iterations from 1e-8, then cosine decay to
# `min_lr` at `max_iters`; validation every 1000 iterations. Leaf configs
# set lr, min_lr and max_iters (and the warm-up's start_factor = 1e-8 / lr),
# and, since bases may not share keys, checkpoint every 1000 iterations and
# log by iteration themselves (default_hooks, log_processor).
lr = 5e-5
min_lr = 1e-5
max_iters = 15000
warmup_iters = 1000
warmup_start_lr = 1e-8

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=None,
)

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
# The seed's lr was set for 8 GPUs x 64 clips (see
# adamw_warmup_cosine_epochs.py).
auto_scale_lr = dict(enable=False, base_batch_size=512)
