# MSR-VTT, InstructBLIP Vicuna-7B, cross-entropy: the seed's
# caption_msrvtt_vicuna7b_ft. 8 frames, 16 clips per GPU on 8 GPUs, lr 1e-5
# -> 0 over 20 epochs, validation every epoch.
_base_ = [
    './_base_/models/instructblip_vicuna7b.py',
    './_base_/datasets/msrvtt.py',
    './_base_/schedules/adamw_warmup_cosine_epochs.py',
    './_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=16)
lr, min_lr, max_epochs = 1e-5, 0.0, 20
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], eta_min=min_lr, end=max_epochs),
]
auto_scale_lr = dict(base_batch_size=128)  # 8 GPUs x 16 clips
