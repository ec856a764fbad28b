# The seed's iteration-based optimisation (LAVIS's runner_iter): the
# epoch-based base's optimizer, with LAVIS's schedule counted in "inner
# epochs" of `iters_per_epoch` iterations (LAVIS's iters_per_inner_epoch):
# warm-up over the first 1000 iterations from 1e-8, stopping where inner
# epoch 0 ends, then one cosine value per inner epoch down to `min_lr`,
# validation and a checkpoint after every inner epoch. Leaf configs set lr,
# min_lr, max_iters and iters_per_epoch, and, since bases may not share
# keys, checkpoint by iteration and log by iteration themselves
# (default_hooks, log_processor).
_base_ = ['./adamw_warmup_cosine_epochs.py']
lr = 5e-5
min_lr = 1e-5
max_iters = 15000
iters_per_epoch = 1000

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=iters_per_epoch,
)
optim_wrapper = dict(optimizer=dict(lr=lr))

param_scheduler = [
    dict(
        type='LavisWarmupCosineLR',
        eta_min=min_lr,
        warmup_start_lr=1e-8,
        warmup_iters=1000,
        iters_per_epoch=iters_per_epoch,
        by_epoch=False,
        begin=0,
        end=max_iters,
    ),
]
