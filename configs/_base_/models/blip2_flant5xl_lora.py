# BLIP-2 Flan-T5-XL with the seed's LoRA adapters on the frozen LLM (peft:
# r 8, alpha 16, dropout 0.05, on T5's attention `q` and `v`): every
# Flan-T5-XL recipe of the seed trains them with the Q-Former.
_base_ = ['./blip2_flant5xl.py']
model = dict(
    head=dict(
        lora=dict(
            r=8, lora_alpha=16, lora_dropout=0.05, target_modules=['q', 'v']
        )
    )
)
