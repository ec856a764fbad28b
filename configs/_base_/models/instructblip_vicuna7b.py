# InstructBLIP with Vicuna-7B (`Salesforce/instructblip-vicuna-7b`, its
# LLM tokenizer at the top and the Q-Former's BERT tokenizer in the
# `qformer_tokenizer` folder): our alternative to the seed's Vicuna model
# (blip2_vicuna7b.py, a Q-Former that reads no text), not the seed's. The
# ViT frozen in float16 (its final norm trains in float32), the LLM frozen
# in bfloat16; the Q-Former and its projection train in float32. The
# Q-Former reads the instruction too, and the LLM reads [32 visual tokens ;
# instruction ; caption]. Use it in a recipe in place of blip2_vicuna7b.py
# (and `load_from = None`: the seed's LAVIS checkpoint has no Q-Former text
# weights).
# InstructBLIP's short-caption instruction, said of a video.
instruction = 'A short video description:'
model = dict(
    type='Blip2VideoCaptioner',
    pretrained='Salesforce/instructblip-vicuna-7b',
    # LAVIS's freeze_vit freezes the ViT but not its final norm (ln_vision,
    # a LayerNorm with PyTorch's eps 1e-5; transformers gives it 1e-6).
    backbone=dict(
        type='Blip2VisionBackbone',
        dtype='float16',
        train_final_norm=True,
        final_norm_eps=1e-5,
    ),
    neck=dict(
        type='QFormerFusionNeck', fusion='concat', instruction=instruction
    ),
    head=dict(
        type='LLMCaptionHead',
        prompt=instruction,
        dtype='bfloat16',
        max_caption_tokens=32,
        generation_cfg=dict(num_beams=5, max_new_tokens=32, min_length=5),
    ),
)
