# end_token.py with the discriminability reward (weight 3).
_base_ = ['./end_token.py']
model = dict(
    objective=dict(
        type='SCSTObjective', num_candidates=5, discriminability_weight=3.0
    )
)
