# The demo's SCST with a reward of CIDEr-D plus BLEU-4 (weights 1 and 5:
# BLEU-4 is in [0, 1] where CIDEr-D is in [0, 10]), as self-critical.pytorch
# offers.
_base_ = ['../tiny_opt_synthetic_scst.py']
custom_hooks = [
    dict(
        type='SCSTRewardHook',
        terms=[
            dict(type='CiderDRewardTerm'),
            dict(type='Bleu4RewardTerm', weight=5.0),
        ],
    )
]
