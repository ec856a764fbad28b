# BLIP-2 with OPT-2.7B (`Salesforce/blip2-opt-2.7b`) as the seed runs it:
# the ViT frozen in float16, the LLM frozen in bfloat16; the Q-Former and
# its projection train in float32. OPT reads [32 visual tokens ; caption]
# with an empty prompt, and '\n' ends a caption.
model = dict(
    type='Blip2VideoCaptioner',
    pretrained='Salesforce/blip2-opt-2.7b',
    backbone=dict(type='Blip2VisionBackbone', dtype='float16'),
    neck=dict(type='QFormerFusionNeck', fusion='concat'),
    head=dict(
        type='LLMCaptionHead',
        prompt='',
        end_of_caption='\n',
        dtype='bfloat16',
        max_caption_tokens=32,
        generation_cfg=dict(num_beams=5, max_new_tokens=32, min_length=5),
    ),
)
