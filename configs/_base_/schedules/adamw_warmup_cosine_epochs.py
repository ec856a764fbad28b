# The seed's optimisation: AdamW (weight decay 0.05), linear warm-up from
# ~0 then cosine decay to `min_lr`. Leaf configs set lr, min_lr, epochs and
# warm-up length.
lr = 5e-5
min_lr = 1e-5
max_epochs = 10
warmup_iters = 1000

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1
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
        start_factor=1e-3,
        by_epoch=False,
        begin=0,
        end=warmup_iters,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=min_lr,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
# The seed's lr was set for 8 GPUs x 64 clips: `--auto-scale-lr` scales it
# by the real total batch over this one. Leaf configs that set another lr for
# another batch (SCST: 2 clips per GPU) set their base_batch_size too.
auto_scale_lr = dict(enable=False, base_batch_size=512)
