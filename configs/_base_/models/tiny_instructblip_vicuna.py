# A tiny, randomly initialised InstructBLIP with a Llama language model
# (stands in for `pretrained='Salesforce/instructblip-vicuna-7b'`). The
# Q-Former reads the instruction too.
_base_ = ['./tiny_blip2_vicuna.py']
instruction = 'a short description of the video'
model = dict(
    blip2_config=dict(
        model_type='instructblip',
        qformer_config=dict(vocab_size=128, pad_token_id=0),
    ),
    qformer_tokenizer=dict(style='bert', words=_base_.tokenizer_words),
    neck=dict(instruction=instruction),
    head=dict(prompt=instruction),
)
