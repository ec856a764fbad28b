# end_token.py without the contrastive loss in the SCST stage (its
# weight 0: the XE checkpoint holds its weights).
_base_ = ['./end_token.py']
model = dict(contrastive_loss=dict(loss_weight=0.0))
