# A tiny, randomly initialised BLIP-2 with an OPT language model: the same
# code path as the real checkpoints, small enough to train on CPU in minutes.
# Replace `blip2_config` + `tokenizer` by `pretrained='Salesforce/blip2-opt-
# 2.7b'` (or a local directory) for the real model.
tiny_vision = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    image_size=32,
    patch_size=8,
    # transformers' default (1e-10) suits a ViT that is always loaded from a
    # checkpoint; a random one needs real weights to see anything.
    initializer_range=0.02,
)
tiny_qformer = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    encoder_hidden_size=32,
    cross_attention_frequency=1,
)
# The offline word-level tokenizer's words: those of the synthetic clips'
# captions (`vidcap_mm.datasets.synthetic.SYNTHETIC_VOCABULARY`, which a test
# holds this list to), in that order, so that token ids stay the same.
tokenizer_words = [
    'a', 'and', 'are', 'background', 'black', 'blue', 'circle', 'gray',
    'green', 'is', 'on', 'over', 'red', 'square', 'there', 'triangle',
    'white', 'with', 'yellow',
]  # fmt: skip
model = dict(
    type='Blip2VideoCaptioner',
    blip2_config=dict(
        vision_config=tiny_vision,
        qformer_config=tiny_qformer,
        text_config=dict(
            model_type='opt',
            vocab_size=128,
            hidden_size=32,
            word_embed_proj_dim=32,
            ffn_dim=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=128,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=1,
        ),
        num_query_tokens=8,
        image_token_index=127,
    ),
    tokenizer=dict(style='opt', words=tokenizer_words),
    backbone=dict(type='Blip2VisionBackbone'),
    neck=dict(type='QFormerFusionNeck', fusion='concat'),
    head=dict(
        type='LLMCaptionHead',
        prompt='',
        end_of_caption='\n',
        max_caption_tokens=32,
        generation_cfg=dict(num_beams=5, max_new_tokens=32, min_length=5),
    ),
)
