# The seed's optimisation, as LAVIS runs it: AdamW (weight decay 0.05) over
# two parameter groups (no decay for parameters with < 2 dimensions or
# 'bias' / 'ln' / 'bn' in their name: LavisParamGroupsConstructor), and
# LAVIS's linear_warmup_cosine_lr (LavisWarmupCosineLR): a linear warm-up
# from 1e-8 over the first 1000 iterations of epoch 0 only, then from epoch
# 1 one cosine value per epoch, down to `min_lr`. Leaf configs set lr,
# min_lr and max_epochs.
lr = 5e-5
min_lr = 1e-5
max_epochs = 10

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    constructor='LavisParamGroupsConstructor',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=None,
)

param_scheduler = [
    dict(
        type='LavisWarmupCosineLR',
        eta_min=min_lr,
        warmup_start_lr=1e-8,
        warmup_iters=1000,
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
# The seed's seed: 42 + the process's rank.
randomness = dict(seed=42, diff_rank_seed=True)
