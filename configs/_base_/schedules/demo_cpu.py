# A short, fast schedule for the tiny CPU demo models: 24 epochs of 96
# steps on the demo's 256 clips (3 captions each). The models start from
# random weights: with 36 steps an epoch they named the background but
# barely the shapes, and at half the steps and lr not even the background.
_base_ = ['./adamw_warmup_cosine_epochs.py']
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-4,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
# lr 5e-3 was tuned for one process with the demo's batch of 8 clips.
auto_scale_lr = dict(enable=False, base_batch_size=8)
randomness = dict(seed=0)
