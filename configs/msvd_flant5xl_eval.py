# Scores a trained MSVD BLIP-2 Flan-T5-XL + LoRA captioner on the test
# split: the seed's caption_msvd_flant5xl_eval (16 frames, beam search with
# 5 beams, at most 32 new tokens, at least 5). Only the evaluation parts:
# `python tools/test.py configs/msvd_flant5xl_eval.py CHECKPOINT`.
_base_ = [
    './_base_/models/blip2_flant5xl_lora.py',
    './_base_/datasets/msvd.py',
    './_base_/default_runtime.py',
]
train_dataloader = None
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# The run it scores by default; tools/test.py's CHECKPOINT replaces it.
# The seed's YAML scores its MSVD XE run (the checkpoint its SCST YAML
# starts from).
load_from = 'work_dirs/msvd_flant5xl_ft/best_caption_CIDEr_plus_BLEU_4_*.pth'
# The seed's seed: 42 + the process's rank.
randomness = dict(seed=42, diff_rank_seed=True)
