# end_token_disc_1.py with 5 sampled captions per clip and a
# leave-one-out baseline (sampled_loo.py) instead of 5 beams and their mean.
_base_ = ['./end_token_disc_1.py']
model = dict(
    objective=dict(
        type='SCSTObjective',
        num_candidates=5,
        candidates='sample',
        baseline='leave_one_out',
        discriminability_weight=1.0,
    )
)
