# The demo's SCST with half of cross-entropy's loss on the clips' training
# captions added (an anchor to the references).
_base_ = ['../tiny_opt_synthetic_scst.py']
model = dict(
    objective=dict(type='SCSTObjective', num_candidates=5, xe_weight=0.5)
)
