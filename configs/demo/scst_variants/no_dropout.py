# The demo's SCST without dropout in the Q-Former and the LLM, so that the
# candidates are written and re-scored by the same network.
_base_ = ['../tiny_opt_synthetic_scst.py']
model = dict(
    blip2_config=dict(
        qformer_config=dict(
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
        ),
        text_config=dict(dropout=0.0, attention_dropout=0.0),
    )
)
