# The demo's SCST with the end of a caption scored as a word of every
# caption and reference (against captions cut before their last word).
_base_ = ['../tiny_opt_synthetic_scst.py']
custom_hooks = [
    dict(
        type='SCSTRewardHook',
        terms=[dict(type='CiderDRewardTerm', end_token=True)],
    )
]
