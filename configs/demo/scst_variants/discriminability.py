# The demo's SCST with a reward for content: each caption's reward also
# counts the log-probability that the captioner's contrastive model picks
# its own clip among the batch's clips (Luo et al. 2018).
_base_ = ['../tiny_opt_synthetic_scst.py']
model = dict(
    objective=dict(
        type='SCSTObjective', num_candidates=5, discriminability_weight=1.0
    )
)
