# The demo's SCST with 5 sampled captions per clip and a leave-one-out
# baseline ("new self-critical", Luo 2020) instead of 5 beams and their mean.
_base_ = ['../tiny_opt_synthetic_scst.py']
model = dict(
    objective=dict(
        type='SCSTObjective',
        num_candidates=5,
        candidates='sample',
        baseline='leave_one_out',
    )
)
