"""Q-Former fusion of the frames' visual tokens into LLM input tokens."""

from typing import Optional

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import nn
from torch.utils.checkpoint import checkpoint

from .precision import autocast_dtype, resolve_dtype, run_in_dtype

# The Q-Former's cross-attention key and value projections (BLIP-2 and
# InstructBLIP name them alike).
_CROSS_ATTENTION_KV = (
    'crossattention.attention.key',
    'crossattention.attention.value',
)


@MODELS.register_module()
class QFormerFusionNeck(BaseModule):
    """Query tokens, Q-Former and projection of a BLIP-2 model.

    Two ways to fuse the frames:

    - ``'concat'`` (default, the seed's method): the patch tokens of all T
      frames are concatenated, ``(B, T*N, D)``, and the Q-Former's queries
      cross-attend to all of them in ONE pass, so the LLM receives
      ``num_query_tokens`` tokens whatever T is. There is no temporal
      embedding: frame order is invisible. With T = 1 this is image BLIP-2.
    - ``'per_frame'`` (transformers' InstructBLIP-Video): one Q-Former pass
      per frame and the T outputs concatenated: ``T * num_query_tokens``
      tokens to the LLM.
    - ``'frame_mean'``: one Q-Former pass per frame, projected, and the
      mean over the T frames: ``num_query_tokens`` tokens. The seed's
      Vicuna model captions this way (LAVIS ``Blip2VicunaInstruct.generate``)
      while it trains on ``'concat'``: ``eval_fusion`` gives that.

    For an InstructBLIP model the Q-Former also reads the instruction text,
    tokenized once here with the Q-Former's own tokenizer.

    Args:
        blip2 (PreTrainedModel): The transformers BLIP-2 / InstructBLIP
            model whose ``query_tokens``, ``qformer`` and
            ``language_projection`` this neck wraps.
        fusion (str): ``'concat'``, ``'per_frame'`` or ``'frame_mean'``.
        eval_fusion (str, optional): The fusion in eval mode (validation,
            test, captioning your videos), when it is not ``fusion``.
            Defaults to None (``fusion`` always).
        instruction (str, optional): InstructBLIP only: the text the Q-Former
            reads (the same prompt the LLM gets).
        qformer_tokenizer (PreTrainedTokenizerBase, optional): InstructBLIP
            only: the Q-Former's tokenizer (the captioner passes it in).
        compute_dtype (str, optional): The precision the Q-Former computes
            in; its weights stay float32 (they train). None (default):
            float32 as in transformers, or the dtype of an enclosing
            autocast (``--amp``). ``'bfloat16'`` / ``'float16'``: under an
            autocast of that dtype, with or without ``--amp``. Either way
            the frame tokens, the largest tensor of the step, are cast once
            and that one copy is what the cross-attention keeps for
            backward (cast inside autocast, every key and value projection
            of every cross-attention layer would keep its own).
        gradient_checkpointing (bool): Recompute the Q-Former's activations
            in backward instead of keeping them (less memory, one more
            Q-Former forward per step). Defaults to False.
    """

    FUSIONS = ('concat', 'per_frame', 'frame_mean')

    def __init__(
        self,
        blip2: nn.Module,
        fusion: str = 'concat',
        eval_fusion: Optional[str] = None,
        instruction: Optional[str] = None,
        qformer_tokenizer=None,
        compute_dtype: Optional[str] = None,
        gradient_checkpointing: bool = False,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        for given in (fusion, eval_fusion):
            if given is not None and given not in self.FUSIONS:
                raise ValueError(
                    f'Unknown fusion {given!r}; expected one of '
                    f'{self.FUSIONS}.'
                )
        self.fusion = fusion
        self.eval_fusion = eval_fusion
        self.compute_dtype = resolve_dtype(compute_dtype)
        self.gradient_checkpointing = gradient_checkpointing
        self.query_tokens = blip2.query_tokens
        self.qformer = blip2.qformer
        self.language_projection = blip2.language_projection
        self.reads_instruction = blip2.config.model_type == 'instructblip'
        # transformers' Q-Former casts the frame tokens to float32 (its
        # weights' dtype) before the cross-attention; under autocast every
        # key and value projection would then cast that copy back to half
        # precision and keep its own copy for backward (12 for BLIP-2).
        # The projections get the tokens as the neck cast them instead:
        # the same values (half -> float32 -> half is exact), one copy.
        self._frame_tokens = None
        for name, module in self.qformer.named_modules():
            if name.endswith(_CROSS_ATTENTION_KV):
                module.register_forward_pre_hook(self._use_cast_frame_tokens)
        if self.reads_instruction:
            if instruction is None or qformer_tokenizer is None:
                raise ValueError(
                    'An InstructBLIP Q-Former reads the instruction: give '
                    'the neck `instruction=` and the captioner a '
                    '`qformer_tokenizer`.'
                )
            ids = qformer_tokenizer(instruction, return_tensors='pt').input_ids
            self.register_buffer('instruction_ids', ids, persistent=False)
        elif instruction is not None:
            raise ValueError(
                '`instruction` is for InstructBLIP models; a '
                'BLIP-2 Q-Former reads no text.'
            )

    @property
    def num_query_tokens(self) -> int:
        return self.query_tokens.size(1)

    @property
    def active_fusion(self) -> str:
        """The fusion of the current mode."""
        if not self.training and self.eval_fusion is not None:
            return self.eval_fusion
        return self.fusion

    def num_output_tokens(self, num_frames: int) -> int:
        """How many tokens the LLM receives for a clip of ``num_frames``
        in the current mode."""
        if self.active_fusion == 'per_frame':
            return num_frames * self.num_query_tokens
        return self.num_query_tokens

    def forward(self, frame_tokens: torch.Tensor) -> torch.Tensor:
        """Fuse frame tokens into LLM input embeddings.

        Args:
            frame_tokens (torch.Tensor): ``(B, T, N, D)`` from the backbone.

        Returns:
            torch.Tensor: ``(B, L, llm_hidden)`` with ``L`` given by
            :meth:`num_output_tokens`.
        """
        batch, frames, num_tokens, dim = frame_tokens.shape
        fusion = self.active_fusion
        if fusion == 'concat':
            visual = frame_tokens.reshape(batch, frames * num_tokens, dim)
        else:
            visual = frame_tokens.reshape(batch * frames, num_tokens, dim)
        device_type = visual.device.type
        dtype = (
            self.compute_dtype
            or autocast_dtype(device_type)
            or self.query_tokens.dtype
        )
        visual = visual.to(dtype)
        with run_in_dtype(self.compute_dtype, device_type):
            if self.gradient_checkpointing and torch.is_grad_enabled():
                query_output = checkpoint(
                    self._query, visual, use_reentrant=False
                )
            else:
                query_output = self._query(visual)
        embeds = self.language_projection(
            query_output.to(self.language_projection.weight.dtype)
        )
        if fusion == 'frame_mean':
            return embeds.unflatten(0, (batch, frames)).mean(dim=1)
        return embeds.reshape(batch, -1, embeds.size(-1))

    def _query(self, visual: torch.Tensor) -> torch.Tensor:
        """The Q-Former's query outputs for ``(B', N', D)`` visual tokens."""
        batch = visual.size(0)
        inputs = dict(
            query_embeds=self.query_tokens.expand(batch, -1, -1),
            encoder_hidden_states=visual,
            encoder_attention_mask=torch.ones(
                visual.shape[:-1], dtype=torch.long, device=visual.device
            ),
        )
        if self.reads_instruction:
            text_ids = self.instruction_ids.expand(batch, -1)
            inputs.update(
                input_ids=text_ids,
                attention_mask=torch.ones(
                    batch,
                    self.num_query_tokens + text_ids.size(1),
                    dtype=torch.long,
                    device=visual.device,
                ),
            )
        self._frame_tokens = visual
        try:
            hidden = self.qformer(**inputs).last_hidden_state
        finally:
            self._frame_tokens = None
        # InstructBLIP's output continues with the instruction's positions.
        return hidden[:, : self.num_query_tokens]

    def _use_cast_frame_tokens(self, module: nn.Module, args: tuple):
        """Forward pre-hook of a cross-attention key / value projection:
        the frame tokens in the neck's compute dtype instead of
        transformers' float32 copy of them."""
        tokens = self._frame_tokens
        if (
            tokens is not None
            and args[0].dtype != tokens.dtype
            and args[0].shape == tokens.shape
        ):
            return (tokens, *args[1:])
        return None
