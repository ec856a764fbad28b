# The demo's SCST at lr 5e-4, the demo's learning rate before the SCST
# study (README, "Which reward to pick") chose 1e-4.
_base_ = ['../tiny_opt_synthetic_scst.py']
optim_wrapper = dict(optimizer=dict(lr=5e-4))
