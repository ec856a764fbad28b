# sampled_end_token_disc_1.py for 3 epochs (the schedule stretched).
_base_ = ['./sampled_end_token_disc_1.py']
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    )
]
