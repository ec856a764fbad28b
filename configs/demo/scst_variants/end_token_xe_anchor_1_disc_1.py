# end_token_xe_anchor_1.py with the discriminability reward (weight 1).
_base_ = ['./end_token_xe_anchor_1.py']
model = dict(objective=dict(discriminability_weight=1.0))
