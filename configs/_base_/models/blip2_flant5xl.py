# BLIP-2 with Flan-T5-XL (`Salesforce/blip2-flan-t5-xl`, a model id or a
# local directory) as the seed runs it: the ViT frozen in float16 (its final
# norm trains in float32), the LLM frozen in bfloat16 (T5 overflows in
# float16); the Q-Former and its projection train in float32. The caption
# is the decoder's target, after the encoder reads [32 visual tokens ;
# 'a video of'].
model = dict(
    type='Blip2VideoCaptioner',
    pretrained='Salesforce/blip2-flan-t5-xl',
    # LAVIS's freeze_vit freezes the ViT but not its final norm (ln_vision,
    # a LayerNorm with PyTorch's eps 1e-5; transformers gives it 1e-6).
    backbone=dict(
        type='Blip2VisionBackbone',
        dtype='float16',
        train_final_norm=True,
        final_norm_eps=1e-5,
    ),
    neck=dict(type='QFormerFusionNeck', fusion='concat'),
    head=dict(
        type='LLMCaptionHead',
        prompt='a video of',
        dtype='bfloat16',
        # LAVIS's max_txt_len 32 holds the caption's tokens and T5's '</s>'.
        max_caption_tokens=31,
        generation_cfg=dict(num_beams=5, max_new_tokens=32, min_length=5),
    ),
)
