# VATEX (English), BLIP-2 Flan-T5-XL + LoRA, cross-entropy: the seed's
# caption_vatex_flant5xl_ft. 8 frames, 64 clips per GPU on 8 GPUs, lr 5e-5
# -> 1e-5 over 20 epochs, validation every epoch.
_base_ = [
    './_base_/models/blip2_flant5xl_lora.py',
    './_base_/datasets/vatex.py',
    './_base_/schedules/adamw_warmup_cosine_epochs.py',
    './_base_/default_runtime.py',
]
lr, min_lr, max_epochs = 5e-5, 1e-5, 20
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], eta_min=min_lr, end=max_epochs),
]
