# SCST, the seed's second stage, for the tiny OPT captioner: it starts from
# the best cross-entropy checkpoint of `tiny_opt_synthetic.py` (train that
# first) and optimises CIDEr-D of its beam-search captions.
_base_ = ['./tiny_opt_synthetic.py']

# The block that switches cross-entropy to SCST: the objective on the model,
# the hook that builds its CIDEr-D reward from the training references, the
# starting checkpoint and SCST's own schedule (lr a tenth of cross-entropy's:
# at 1e-4 a model that names one shape for every clip did not move, at 1e-3
# BLEU-4 fell on another seed).
model = dict(objective=dict(type='SCSTObjective', num_candidates=5))
custom_hooks = [dict(type='SCSTRewardHook')]
load_from = 'work_dirs/tiny_opt_synthetic/best_caption_CIDEr_plus_BLEU_4_*.pth'
# Three epochs keep the demo inside its time budget (an SCST step beam-
# searches 5 captions per clip).
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
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
