default_scope = 'mmaction'
custom_imports = dict(imports=['vidcap_mm'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # The seed keeps the checkpoint with the best CIDEr + BLEU-4 on val.
    # Written atomically; the previous best goes once the new one is saved.
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='caption/CIDEr_plus_BLEU_4',
        rule='greater',
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
    # Checkpoints hold the trained part only and load strictly over the
    # pretrained weights; save_frozen=True saves the whole model.
    trainable_weights=dict(type='TrainableWeightsHook'),
    # Random states in checkpoints: --resume continues bit-identically.
    random_state=dict(type='RandomStateHook'),
    # A NaN / inf loss or gradient stops the run before the step is applied
    # (skip=True skips such steps, up to max_consecutive_skips in a row).
    non_finite=dict(type='NonFiniteStepHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='CaptionVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
