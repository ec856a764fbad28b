# end_token.py with the cross-entropy of the clips' training captions added
# at weight 1 (xe_weight): SCST for the phrasing, the anchor for the content
# that continued cross-entropy still learns.
_base_ = ['./end_token.py']
model = dict(
    objective=dict(type='SCSTObjective', num_candidates=5, xe_weight=1.0)
)
