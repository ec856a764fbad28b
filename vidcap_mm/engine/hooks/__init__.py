from .scst_reward_hook import SCSTReward, SCSTRewardHook, collect_references

__all__ = ['SCSTRewardHook', 'SCSTReward', 'collect_references']
