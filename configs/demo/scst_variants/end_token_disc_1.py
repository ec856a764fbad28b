# end_token.py with the discriminability reward (weight 1).
_base_ = ['./end_token.py']
model = dict(
    objective=dict(
        type='SCSTObjective', num_candidates=5, discriminability_weight=1.0
    )
)
