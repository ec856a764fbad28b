# A tiny, randomly initialised InstructBLIP with a Llama language model
# (stands in for `pretrained='Salesforce/instructblip-vicuna-7b'`). The
# Q-Former reads the instruction too.
_base_ = ['./tiny_blip2_opt.py']
instruction = 'a short description of the video'
model = dict(
    blip2_config=dict(
        model_type='instructblip',
        qformer_config=dict(vocab_size=128, pad_token_id=0),
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
    tokenizer=dict(style='llama'),
    qformer_tokenizer=dict(style='bert', words=_base_.tokenizer_words),
    neck=dict(instruction=instruction),
    head=dict(prompt=instruction, end_of_caption=None),
)
