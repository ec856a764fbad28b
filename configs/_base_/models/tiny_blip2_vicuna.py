# A tiny, randomly initialised BLIP-2 with a Llama language model (stands in
# for `pretrained='checkpoints/blip2-vicuna-7b'`, the seed's Vicuna model): a
# Q-Former that reads no text, an empty prompt and the seed's Vicuna
# tokenizer, whose BOS is '</s>'.
_base_ = ['./tiny_blip2_opt.py']
model = dict(
    blip2_config=dict(
        text_config=dict(
            _delete_=True,
            model_type='llama',
            vocab_size=128,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=4,
            max_position_embeddings=128,
            bos_token_id=1,
            eos_token_id=2,
            pad_token_id=3,
        ),
    ),
    tokenizer=dict(style='vicuna'),
    head=dict(prompt='', end_of_caption=None),
)
