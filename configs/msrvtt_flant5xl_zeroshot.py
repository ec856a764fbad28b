# Zero-shot MSR-VTT captioning with the pretrained image BLIP-2 Flan-T5-XL,
# untrained (the paper's 50.8 CIDEr on the validation split): 8 frames
# through the seed's concatenating Q-Former, prompt 'a video of', beam
# search with 5 beams. Only the evaluation parts, scored on val:
# `python tools/test.py configs/msrvtt_flant5xl_zeroshot.py` (no checkpoint).
_base_ = [
    './_base_/models/blip2_flant5xl.py',
    './_base_/datasets/msrvtt.py',
    './_base_/default_runtime.py',
]
train_dataloader = None
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
test_dataloader = dict(dataset=dict(split='val'))
# The seed's seed: 42 + the process's rank.
randomness = dict(seed=42, diff_rank_seed=True)
