# MSR-VTT, BLIP-2 Flan-T5-XL + LoRA, SCST from the best checkpoint of
# msrvtt_flant5xl_ft.py (train that first): the seed's
# caption_msrvtt_flant5xl_scst. 16 frames, 2 clips per GPU on 8 GPUs, lr
# 1e-5 -> 1e-6 over 20000 iterations.
_base_ = ['./msrvtt_flant5xl_ft.py']
num_frames = 16
train_pipeline = [
    dict(step, num_frames=num_frames) if 'num_frames' in step else step
    for step in _base_.train_pipeline
]
test_pipeline = [
    dict(step, num_frames=num_frames) if 'num_frames' in step else step
    for step in _base_.test_pipeline
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
# The seed evaluates SCST runs in batches of 2 too.
val_dataloader = dict(batch_size=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=2, dataset=dict(pipeline=test_pipeline))

# The block that switches cross-entropy to SCST (see README, SCST).
# The seed's T5 SCST generates with max_length=32, which for T5 counts the
# decoder's start token: at most 31 new tokens.
model = dict(
    objective=dict(
        type='SCSTObjective',
        num_candidates=5,
        generation_cfg=dict(max_new_tokens=31),
    )
)
# The seed's reward as its code computes it (each beam against the training
# record's own caption, its swapped scorer call). Ours, against all
# references of the video with the corpus's document frequencies, is
# `terms=[dict(type='CiderDRewardTerm')]` (README, SCST: which to pick).
custom_hooks = [
    dict(
        type='SCSTRewardHook',
        terms=[dict(type='CiderDRewardTerm', mode='seed')],
    )
]
load_from = 'work_dirs/msrvtt_flant5xl_ft/best_caption_CIDEr_plus_BLEU_4_*.pth'
lr, min_lr, max_iters = 1e-5, 1e-6, 20000
optim_wrapper = dict(optimizer=dict(lr=lr))
# LAVIS's inner epochs of 1000 iterations: one lr each after the warm-up,
# validation and a checkpoint after each.
iters_per_epoch = 1000
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
auto_scale_lr = dict(base_batch_size=16)  # 8 GPUs x 2 clips
