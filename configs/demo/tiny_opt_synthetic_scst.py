# SCST, the seed's second stage, for the tiny OPT captioner: it starts from
# the best cross-entropy checkpoint of `tiny_opt_synthetic.py` (train that
# first) and optimises CIDEr-D of its beam-search captions.
_base_ = ['./tiny_opt_synthetic.py']

# The block that switches cross-entropy to SCST: the objective on the model,
# the hook that builds its CIDEr-D reward from the training references, the
# starting checkpoint and SCST's own schedule (lr 1e-4, a tenth of cross-
# entropy's: at 5e-4, scst_variants/lr_5e-4.py, a quarter of the test
# captions came out cut before their last word over 3 seeds; see README,
# "Which reward to pick").
# (The cross-entropy config's contrastive loss stays on, added to SCST's.)
model = dict(objective=dict(type='SCSTObjective', num_candidates=5))
custom_hooks = [dict(type='SCSTRewardHook')]
load_from = 'work_dirs/tiny_opt_synthetic/best_synthetic_accuracy_*.pth'
# One epoch over the clips, 8 at a time, each with all its references (an
# SCST step beam-searches 5 captions per clip; this keeps the demo inside
# its time budget).
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
train_dataloader = dict(batch_size=8, dataset=dict(train_samples='per_video'))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    )
]
