# BLIP-2 with OPT-6.7B (`Salesforce/blip2-opt-6.7b`): OPT-2.7B's settings.
_base_ = ['./blip2_opt2.7b.py']
model = dict(pretrained='Salesforce/blip2-opt-6.7b')
