# MSVD, BLIP-2 Flan-T5-XL + LoRA, cross-entropy: the seed's
# caption_msvd_flant5xl_ft. 16 frames, 64 clips per GPU on 8 GPUs, lr 5e-5
# -> 1e-5 over 15000 iterations, validation every 1000.
_base_ = [
    './_base_/models/blip2_flant5xl_lora.py',
    './_base_/datasets/msvd.py',
    './_base_/schedules/adamw_warmup_cosine_iters.py',
    './_base_/default_runtime.py',
]
lr, min_lr, max_iters = 5e-5, 1e-5, 15000
train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=1e-8 / lr),
    dict(_base_.param_scheduler[1], eta_min=min_lr, end=max_iters),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1000))
log_processor = dict(by_epoch=False)
