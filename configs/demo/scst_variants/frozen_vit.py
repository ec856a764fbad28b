# The demo's SCST with the ViT frozen, as real recipes keep it. The demo's
# ViT comes from its XE run, not from a pretrained checkpoint, so its
# checkpoints keep the frozen weights too.
_base_ = ['../tiny_opt_synthetic_scst.py']
model = dict(backbone=dict(frozen=True))
default_hooks = dict(trainable_weights=dict(save_frozen=True))
