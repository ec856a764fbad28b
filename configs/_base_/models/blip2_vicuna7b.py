# BLIP-2 with Vicuna-7B as the seed runs it (LAVIS Blip2VicunaInstruct with
# `qformer_text_input: False` and `prompt: ""`): a Q-Former that reads no
# text, an empty prompt, so that the LLM reads [32 visual tokens ; '</s>' ;
# caption ; '</s>'] (LAVIS sets Vicuna's BOS to '</s>'). The ViT is frozen
# in float16 (its final norm trains in float32), the LLM frozen in
# bfloat16; the Q-Former and its projection train in float32.
#
# The hub has no such model: assemble its directory (config, weights and
# the LLM tokenizer, BOS '</s>') from InstructBLIP's ViT, query tokens,
# Q-Former less its text parts, projection and LLM with
#   python tools/model_converters/instructblip_to_blip2.py \
#       Salesforce/instructblip-vicuna-7b checkpoints/blip2-vicuna-7b
# The seed's own weights (ViT norm, Q-Former, query tokens, projection)
# then come from its LAVIS checkpoint, converted for this model (the
# recipe's `load_from`) with
#   python tools/model_converters/lavis_to_vidcap.py \
#       blip2_pretrained_vicuna7b.pth \
#       checkpoints/blip2_pretrained_vicuna7b_vidcap.pth \
#       --config configs/msrvtt_vicuna7b_ft.py
model = dict(
    type='Blip2VideoCaptioner',
    pretrained='checkpoints/blip2-vicuna-7b',
    # LAVIS's freeze_vit freezes the ViT but not its final norm (ln_vision,
    # a LayerNorm with PyTorch's eps 1e-5; transformers gives it 1e-6).
    backbone=dict(
        type='Blip2VisionBackbone',
        dtype='float16',
        train_final_norm=True,
        final_norm_eps=1e-5,
    ),
    # LAVIS's Blip2VicunaInstruct trains on all frames in one Q-Former pass
    # but captions (generate) with one pass per frame, the projected tokens
    # averaged over the frames.
    neck=dict(
        type='QFormerFusionNeck', fusion='concat', eval_fusion='frame_mean'
    ),
    head=dict(
        type='LLMCaptionHead',
        prompt='',
        dtype='bfloat16',
        # max_output_txt_len 32 holds BOS + caption + '</s>', cut as one
        # text: a caption of 31 tokens or more loses its '</s>'.
        max_caption_tokens=31,
        truncate_with_end=True,
        # Its generate's defaults: repetition penalty 1.5, length penalty 1.
        generation_cfg=dict(
            num_beams=5,
            max_new_tokens=32,
            min_length=5,
            repetition_penalty=1.5,
        ),
    ),
)
