# MSR-VTT, BLIP-2 Vicuna-7B, cross-entropy: the seed's
# caption_msrvtt_vicuna7b_ft. A Q-Former that reads no text and an empty
# prompt, from the seed's blip2_pretrained_vicuna7b.pth (see the model base
# for the two conversions it needs). 8 frames, 16 clips per GPU on 8 GPUs,
# lr 1e-5 -> 0 over 20 epochs, validation every epoch. InstructBLIP
# (instructblip_vicuna7b.py) is our alternative.
_base_ = [
    './_base_/models/blip2_vicuna7b.py',
    './_base_/datasets/msrvtt.py',
    './_base_/schedules/adamw_warmup_cosine_epochs.py',
    './_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
test_dataloader = dict(batch_size=16)
lr, min_lr, max_epochs = 1e-5, 0.0, 20
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], eta_min=min_lr, end=max_epochs),
]
auto_scale_lr = dict(base_batch_size=128)  # 8 GPUs x 16 clips
# The seed's blip2_pretrained_vicuna7b.pth, converted with
# tools/model_converters/lavis_to_vidcap.py (see the model base).
load_from = 'checkpoints/blip2_pretrained_vicuna7b_vidcap.pth'
