# A tiny, randomly initialised BLIP-2 with a T5 language model (stands in for
# Flan-T5-XL: `pretrained='Salesforce/blip2-flan-t5-xl'`).
_base_ = ['./tiny_blip2_opt.py']
model = dict(
    blip2_config=dict(
        text_config=dict(
            _delete_=True,
            model_type='t5',
            vocab_size=128,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=4,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    ),
    tokenizer=dict(style='t5'),
    head=dict(prompt='a video of', end_of_caption=None),
)
