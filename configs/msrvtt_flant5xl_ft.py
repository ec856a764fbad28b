# MSR-VTT, BLIP-2 Flan-T5-XL + LoRA, cross-entropy: the seed's
# caption_msrvtt_flant5xl_ft. 8 frames, 64 clips per GPU on 8 GPUs, lr 5e-5
# -> 1e-5 over 15000 iterations, validation every 500.
_base_ = [
    './_base_/models/blip2_flant5xl_lora.py',
    './_base_/datasets/msrvtt.py',
    './_base_/schedules/adamw_warmup_cosine_iters.py',
    './_base_/default_runtime.py',
]
lr, min_lr, max_iters = 5e-5, 1e-5, 15000
optim_wrapper = dict(optimizer=dict(lr=lr))
# LAVIS's inner epochs of 500 iterations: one lr each after the warm-up,
# validation and a checkpoint after each.
iters_per_epoch = 500
train_cfg = dict(max_iters=max_iters, val_interval=iters_per_epoch)
param_scheduler = [
    dict(
        _base_.param_scheduler[0],
        eta_min=min_lr,
        iters_per_epoch=iters_per_epoch,
        end=max_iters,
    ),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=iters_per_epoch))
log_processor = dict(by_epoch=False)
