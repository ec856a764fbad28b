# MSR-VTT, BLIP-2 OPT-6.7B, cross-entropy: the seed's
# caption_msrvtt_opt6.7b_ft. 8 frames, 64 clips per GPU on 8 GPUs, lr 1e-6
# -> 0 over 30 epochs, validation every epoch.
_base_ = [
    './_base_/models/blip2_opt6.7b.py',
    './_base_/datasets/msrvtt.py',
    './_base_/schedules/adamw_warmup_cosine_epochs.py',
    './_base_/default_runtime.py',
]
lr, min_lr, max_epochs = 1e-6, 0.0, 30
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], eta_min=min_lr, end=max_epochs),
]
