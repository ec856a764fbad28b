# A tiny random BLIP-2 with a T5 language model (standing in for Flan-T5-XL)
# learns to caption synthetic clips on CPU in a few minutes.
_base_ = [
    '../_base_/models/tiny_blip2_t5.py',
    '../_base_/datasets/synthetic_clips.py',
    '../_base_/schedules/demo_cpu.py',
    '../_base_/default_runtime.py',
]
# Nothing is pretrained here, so the ViT and the LLM learn too; runs from a
# real checkpoint keep both frozen (the parts' default).
model = dict(
    # The synthetic clips' own 64 x 64 frames (synthetic_clips.py).
    blip2_config=dict(vision_config=dict(image_size=64)),
    backbone=dict(frozen=False),
    head=dict(
        frozen=False,
        generation_cfg=dict(num_beams=3, max_new_tokens=12, min_length=0),
    ),
)
