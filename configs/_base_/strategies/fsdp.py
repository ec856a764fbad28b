# PyTorch FSDP through MMEngine's FlexibleRunner, for models whose weights,
# gradients and optimizer state do not fit one GPU next to the activations:
#   _base_ = [..., '../_base_/strategies/fsdp.py']
# Start it like any run (tools/dist_train.sh, tools/slurm_train.sh). Without
# a GPU, tools/train.py adds model_wrapper.device_id='cpu' (gloo).
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        # Frozen and trained weights share FSDP's flat parameters: only
        # with the original parameters kept does each keep requires_grad.
        use_orig_params=True,
    ),
    # One checkpoint file gathered on rank 0 (offloaded to CPU), as the
    # Runner writes it: tools/test.py and load_from read it without FSDP.
    # 'local' writes a directory of per-rank shards instead.
    state_dict_cfg='full',
)
