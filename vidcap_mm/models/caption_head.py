"""The language model that writes the caption: prompt, loss, generation."""

import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from .vision_backbone import freeze, resolve_dtype

IGNORE_INDEX = -100


@MODELS.register_module()
class LLMCaptionHead(BaseModule):
    """The LLM of a BLIP-2 model as a caption head.

    Decoder-only LLMs (OPT, Vicuna / Llama) read
    ``[visual tokens ; prompt ; caption + end]`` and the loss covers the
    caption and its end only. Encoder-decoder LLMs (Flan-T5) read
    ``[visual tokens ; prompt]`` in the encoder and the caption is the
    decoder's target. Padding, prompt and visual positions are ignored
    (label ``-100``).

    The end of a caption is ``end_of_caption`` when given (OPT: ``'\\n'``,
    one token, also the generation's stop token), otherwise the tokenizer's
    end-of-sequence token.

    Args:
        blip2 (PreTrainedModel): The transformers model whose
            ``language_model`` this head wraps (the captioner passes it in).
        tokenizer (PreTrainedTokenizerBase): The LLM's tokenizer (the
            captioner passes it in).
        prompt (str): Text after the visual tokens (T5: ``'a video of'``;
            OPT: ``''``).
        end_of_caption (str, optional): A one-token caption terminator.
        max_caption_tokens (int): Captions are truncated to this many
            tokens (before the end token) for the loss.
        generation_cfg (dict, optional): Keyword arguments for
            ``generate`` (the seed's evaluation: ``num_beams=5,
            max_new_tokens=32, min_length=5``).
        frozen (bool): No gradient to the LLM's own weights and, without
            LoRA, eval mode through ``train()``. Defaults to True.
        lora (dict, optional): A ``peft.LoraConfig`` as a dict (seed:
            ``r=8, lora_alpha=16, lora_dropout=0.05,
            target_modules=['q', 'v']`` on T5). With LoRA the LLM follows
            ``train()`` so that the adapters' dropout is active.
        dtype (str, optional): Cast the LLM, e.g. ``'bfloat16'`` on GPU.
    """

    def __init__(
        self,
        blip2: nn.Module,
        tokenizer,
        prompt: str = '',
        end_of_caption: Optional[str] = None,
        max_caption_tokens: int = 32,
        generation_cfg: Optional[dict] = None,
        frozen: bool = True,
        lora: Optional[dict] = None,
        dtype: Optional[str] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        language_model = blip2.language_model
        self.is_encoder_decoder = language_model.config.is_encoder_decoder
        # A placeholder id for visual positions in ``generate``'s input ids
        # (transformers' BLIP-2 uses the same), so that length-based
        # generation settings count them as transformers does.
        self.visual_token_id = blip2.config.image_token_index
        if self.visual_token_id is None:
            self.visual_token_id = tokenizer.pad_token_id
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.prompt_ids = tokenizer(prompt).input_ids
        self.max_caption_tokens = max_caption_tokens
        self.end_of_caption = end_of_caption
        if end_of_caption is None:
            self.end_token_id = tokenizer.eos_token_id
        else:
            end_ids = tokenizer(
                end_of_caption, add_special_tokens=False
            ).input_ids
            if len(end_ids) != 1:
                raise ValueError(
                    f'end_of_caption={end_of_caption!r} is {len(end_ids)} '
                    'tokens for this tokenizer; it must be exactly one.'
                )
            self.end_token_id = end_ids[0]
        num_embeddings = language_model.get_input_embeddings().num_embeddings
        if len(tokenizer) > num_embeddings:
            raise ValueError(
                f'The tokenizer has {len(tokenizer)} tokens but the language '
                f'model only {num_embeddings} embeddings: they do not belong '
                'together.'
            )
        if lora is not None and not frozen:
            raise ValueError(
                'lora= trains adapters on a frozen LLM (peft freezes the '
                'base weights); drop frozen=False or lora=.'
            )
        self.generation_cfg = dict(
            num_beams=5, max_new_tokens=32, min_length=5
        )
        self.generation_cfg.update(generation_cfg or {})

        if dtype is not None:
            language_model.to(resolve_dtype(dtype))
        self.frozen = frozen
        if frozen:
            freeze(language_model)
        self.uses_lora = lora is not None
        if self.uses_lora:
            from peft import LoraConfig, get_peft_model

            language_model = get_peft_model(language_model, LoraConfig(**lora))
        self.language_model = language_model

    def train(self, mode: bool = True) -> 'LLMCaptionHead':
        super().train(mode)
        if self.frozen and not self.uses_lora:
            self.language_model.eval()
        return self

    @property
    def _device(self) -> torch.device:
        return self.language_model.get_input_embeddings().weight.device

    @property
    def _embed_dtype(self) -> torch.dtype:
        return self.language_model.get_input_embeddings().weight.dtype

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.language_model.get_input_embeddings()(ids)

    def _prompt_batch(self, batch: int) -> torch.Tensor:
        ids = torch.tensor(self.prompt_ids, device=self._device)
        return ids.unsqueeze(0).expand(batch, -1)

    def _caption_ids(self, captions: Sequence[str]) -> List[List[int]]:
        """Caption token ids, truncated, each ending with the end token."""
        ids = self.tokenizer(
            list(captions), add_special_tokens=False
        ).input_ids
        return [
            c[: self.max_caption_tokens] + [self.end_token_id] for c in ids
        ]

    def _pad(self, sequences: List[List[int]], value: int) -> torch.Tensor:
        length = max(len(s) for s in sequences)
        padded = [s + [value] * (length - len(s)) for s in sequences]
        return torch.tensor(padded, dtype=torch.long, device=self._device)

    def text_inputs(self, captions: Sequence[str]) -> Dict[str, torch.Tensor]:
        """Token ids and labels of the text part (after the visual tokens).

        Args:
            captions (Sequence[str]): Ground-truth captions.

        Returns:
            dict: See :meth:`target_inputs`.
        """
        return self.target_inputs(self._caption_ids(captions))

    def target_inputs(
        self, targets: Sequence[Sequence[int]]
    ) -> Dict[str, torch.Tensor]:
        """Token ids and labels of the text part for given target ids.

        Args:
            targets (Sequence[Sequence[int]]): The caption token ids to
                score, each with its end token when it has one (captions
                from :meth:`_caption_ids` always do; generated ones that
                hit the length limit do not).

        Returns:
            dict: For a decoder-only LLM ``input_ids`` (prompt + target,
            right-padded), ``attention_mask`` and ``labels`` (``-100`` on
            prompt and padding). For an encoder-decoder LLM ``input_ids``
            (the prompt, the encoder's text), ``labels`` (the target,
            ``-100`` on padding) and ``decoder_attention_mask``.
        """
        targets = [list(t) for t in targets]
        prompt = self._prompt_batch(len(targets))
        if self.is_encoder_decoder:
            labels = self._pad(targets, IGNORE_INDEX)
            return dict(
                input_ids=prompt,
                labels=labels,
                decoder_attention_mask=(labels != IGNORE_INDEX).long(),
            )
        num_prompt = len(self.prompt_ids)
        return dict(
            input_ids=self._pad(
                [self.prompt_ids + t for t in targets],
                self.tokenizer.pad_token_id,
            ),
            attention_mask=self._pad(
                [[1] * (num_prompt + len(t)) for t in targets], 0
            ),
            labels=self._pad(
                [[IGNORE_INDEX] * num_prompt + t for t in targets],
                IGNORE_INDEX,
            ),
        )

    def _teacher_forced(
        self, visual_embeds: torch.Tensor, text: Dict[str, torch.Tensor]
    ):
        """One teacher-forced LLM pass over ``[visual ; text]``.

        Returns:
            ModelOutput: transformers' output, with ``loss`` (mean over the
            labelled tokens) and ``logits``.
        """
        visual_embeds = visual_embeds.to(self._embed_dtype)
        visual_mask = torch.ones(
            visual_embeds.shape[:2], dtype=torch.long, device=self._device
        )
        inputs_embeds = torch.cat(
            [visual_embeds, self._embed(text['input_ids'])], dim=1
        )
        if self.is_encoder_decoder:
            return self.language_model(
                inputs_embeds=inputs_embeds,
                attention_mask=torch.cat(
                    [visual_mask, torch.ones_like(text['input_ids'])], dim=1
                ),
                decoder_attention_mask=text['decoder_attention_mask'],
                labels=text['labels'],
            )
        return self.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=torch.cat(
                [visual_mask, text['attention_mask']], dim=1
            ),
            labels=torch.cat(
                [torch.full_like(visual_mask, IGNORE_INDEX), text['labels']],
                dim=1,
            ),
        )

    def loss(
        self, visual_embeds: torch.Tensor, data_samples: Sequence
    ) -> Dict[str, torch.Tensor]:
        """Cross-entropy of the ground-truth captions.

        Args:
            visual_embeds (torch.Tensor): ``(B, L, llm_hidden)`` from the
                neck.
            data_samples (Sequence[ActionDataSample]): Each with
                ``gt_caption``.

        Returns:
            dict: ``loss_caption``, the mean over caption tokens.
        """
        text = self.text_inputs([s.gt_caption for s in data_samples])
        output = self._teacher_forced(visual_embeds, text)
        return dict(loss_caption=output.loss)

    def sequence_log_probs(
        self,
        visual_embeds: torch.Tensor,
        targets: Sequence[Sequence[int]],
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities of whole token sequences, with gradient.

        One teacher-forced pass over all sequences (``generate``'s scores
        carry no gradient). Every target token counts, the end token
        included; the prompt does not.

        Args:
            visual_embeds (torch.Tensor): ``(N, L, llm_hidden)``, one row per
                target.
            targets (Sequence[Sequence[int]]): N token id lists, e.g. from
                :meth:`generated_targets`.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: The sum of each sequence's
            token log-probabilities (float32, ``(N,)``) and its number of
            tokens (``(N,)``).
        """
        if len(targets) != visual_embeds.size(0):
            raise ValueError(
                f'{len(targets)} target sequences for '
                f'{visual_embeds.size(0)} rows of visual tokens.'
            )
        text = self.target_inputs(targets)
        logits = self._teacher_forced(visual_embeds, text).logits
        labels = text['labels']
        if not self.is_encoder_decoder:
            # Position p predicts token p + 1: the logits that predict the
            # text tokens start at the last visual position.
            logits = logits[:, visual_embeds.size(1) - 1 : -1]
        # In float32 whatever the LLM's precision: bf16 log-probabilities
        # of long captions lose most of their digits.
        token_log_probs = -F.cross_entropy(
            logits.float().flatten(0, 1),
            labels.flatten(),
            ignore_index=IGNORE_INDEX,
            reduction='none',
        ).view_as(labels)
        lengths = (labels != IGNORE_INDEX).sum(dim=1)
        return token_log_probs.sum(dim=1), lengths

    def generate(
        self, visual_embeds: torch.Tensor, **overrides
    ) -> torch.Tensor:
        """Generate caption token ids.

        Args:
            visual_embeds (torch.Tensor): ``(B, L, llm_hidden)``.
            **overrides: Replace entries of ``generation_cfg``.

        Returns:
            torch.Tensor: ``(B * num_return_sequences, S)`` generated ids,
            without the visual and prompt positions (an encoder-decoder
            LLM's rows start with the decoder start token, as
            transformers returns them); the sequences of one clip are
            consecutive rows.
        """
        visual_embeds = visual_embeds.to(self._embed_dtype)
        batch, num_visual = visual_embeds.shape[:2]
        prompt = self._prompt_batch(batch)
        kwargs = dict(
            eos_token_id=self.end_token_id,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        kwargs.update(copy.deepcopy(self.generation_cfg))
        kwargs.update(overrides)
        inputs_embeds = torch.cat([visual_embeds, self._embed(prompt)], dim=1)
        attention_mask = torch.ones(
            inputs_embeds.shape[:2], dtype=torch.long, device=self._device
        )
        if self.is_encoder_decoder:
            return self.language_model.generate(
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                **kwargs,
            )
        input_ids = torch.cat(
            [
                torch.full(
                    (batch, num_visual),
                    self.visual_token_id,
                    dtype=torch.long,
                    device=self._device,
                ),
                prompt,
            ],
            dim=1,
        )
        output = self.language_model.generate(
            input_ids=input_ids,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            **kwargs,
        )
        return output[:, input_ids.size(1) :]

    def decode(self, token_ids: torch.Tensor) -> List[str]:
        """Token ids to caption strings, cut at the end of the caption."""
        texts = self.tokenizer.batch_decode(
            token_ids, skip_special_tokens=True
        )
        if self.end_of_caption is not None:
            texts = [t.split(self.end_of_caption)[0] for t in texts]
        return [t.strip() for t in texts]

    def generated_targets(self, token_ids: torch.Tensor) -> List[List[int]]:
        """The ids of generated captions as targets to score.

        Each row of :meth:`generate`'s output is cut after its first end
        token (kept: its probability is part of the caption's); a row
        without one reached the length limit and is kept whole. For an
        encoder-decoder LLM the leading decoder start token is dropped.

        Args:
            token_ids (torch.Tensor): ``(N, S)`` from :meth:`generate`.

        Returns:
            list[list[int]]: N target id lists, each at least one token
            long (an empty caption is its end token alone).
        """
        if self.is_encoder_decoder:
            token_ids = token_ids[:, 1:]
        targets = []
        for row in token_ids.tolist():
            if self.end_token_id in row:
                row = row[: row.index(self.end_token_id) + 1]
            targets.append(row)
        return targets

    def predict(
        self, visual_embeds: torch.Tensor, data_samples: Sequence
    ) -> Sequence:
        """Caption each clip; sets ``pred_caption`` on its data sample."""
        captions = self.decode(self.generate(visual_embeds))
        for sample, caption in zip(data_samples, captions):
            sample.pred_caption = caption
        return data_samples
