# The demo's SCST with the seed's reward as its code computes it: each beam
# against the one training caption the step drew for its clip, with the
# seed's swapped scorer call (document frequencies from the step's beams).
_base_ = ['../tiny_opt_synthetic_scst.py']
custom_hooks = [
    dict(
        type='SCSTRewardHook',
        terms=[dict(type='CiderDRewardTerm', mode='seed')],
    )
]
