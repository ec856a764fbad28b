"""Checkpoints that hold what training changes, loaded strictly over the
pretrained weights."""

from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from vidcap_mm.models.trainable_weights import (
    architecture_signature,
    merge_trainable_state,
    trainable_keys,
)

from .runner_model import runner_model


@HOOKS.register_module()
class TrainableWeightsHook(Hook):
    """Save only the trained part of the model, and load checkpoints
    strictly over the weights the config builds.

    BLIP-2 keeps its ViT and LLM frozen: saving them makes each checkpoint
    of OPT-2.7B about 9 GB where the Q-Former, its projection, LoRA
    adapters and their optimizer state take about 1.3 GB. MMEngine saves
    ``model.state_dict()`` whole and loads with ``strict=False``, so a
    checkpoint of another model loads with a warning and the run goes on
    with random weights. This hook:

    - before a checkpoint is written, keeps in its ``state_dict`` only the
      trainable parameters (and LoRA adapters, which are trainable) and the
      buffers of their modules, records ``meta['saved_weights'] =
      'trainable'`` (``save_frozen=True`` keeps everything, ``'all'``) and
      the whole model's ``architecture_signature`` in
      ``meta['architecture']``;
    - when any checkpoint is loaded (``load_from``, ``--resume``,
      ``tools/test.py``), puts it over the model the config built through
      :func:`~vidcap_mm.models.trainable_weights.merge_trainable_state`:
      a missing trainable key, a key the model lacks, a shape mismatch or
      another architecture raises
      :class:`~vidcap_mm.models.CheckpointMismatchError` naming the config,
      the checkpoint and the first keys of each kind; ``strict=False`` only
      warns (to load a part on purpose). The keys the checkpoint lacks are
      the model's own tensors, so that MMEngine reports nothing missing.

    Args:
        save_frozen (bool): Save the frozen weights as well. Defaults to
            False.
        strict (bool): Fail on a mismatch instead of warning. Defaults to
            True.
        max_keys (int): Keys of each kind named in a message. Defaults to 5.
    """

    priority = 'VERY_HIGH'

    def __init__(
        self, save_frozen: bool = False, strict: bool = True, max_keys: int = 5
    ) -> None:
        self.save_frozen = save_frozen
        self.strict = strict
        self.max_keys = max_keys

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint['state_dict']  # the whole model's
        checkpoint['meta']['architecture'] = architecture_signature(state)
        if self.save_frozen:
            checkpoint['meta']['saved_weights'] = 'all'
            return
        keep = trainable_keys(runner_model(runner))
        checkpoint['state_dict'] = type(state)(
            (k, v) for k, v in state.items() if k in keep
        )
        checkpoint['meta']['saved_weights'] = 'trainable'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        name = runner.cfg.get('load_from')
        source = repr(name) if name else '(the latest in the work directory)'
        checkpoint['state_dict'] = merge_trainable_state(
            runner_model(runner),
            checkpoint,
            self.strict,
            source=source,
            config=runner.cfg.filename,
            max_keys=self.max_keys,
        )
