# BLIP-2 with OPT-2.7B (`Salesforce/blip2-opt-2.7b`) as the seed runs it:
# the ViT frozen in float16 (its final norm trains in float32), the LLM
# frozen in bfloat16; the Q-Former and its projection train in float32.
# OPT reads [32 visual tokens ; caption] with an empty prompt, and '\n'
# ends a caption.
model = dict(
    type='Blip2VideoCaptioner',
    pretrained='Salesforce/blip2-opt-2.7b',
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
        prompt='',
        end_of_caption='\n',
        # The seed's loss: with an empty prompt, BOS is a target too.
        bos_as_target=True,
        # LAVIS leaves its frozen OPT in train mode: dropout 0.1 active.
        eval_when_frozen=False,
        dtype='bfloat16',
        # LAVIS's max_txt_len 32 holds BOS + caption + '\n', cut as one
        # text: a caption of 31 tokens or more loses its '\n'.
        max_caption_tokens=31,
        truncate_with_end=True,
        generation_cfg=dict(num_beams=5, max_new_tokens=32, min_length=5),
    ),
)
