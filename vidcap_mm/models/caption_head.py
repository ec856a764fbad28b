"""The language model that writes the caption: prompt, loss, generation."""

import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from .precision import resolve_dtype, run_in_dtype
from .vision_backbone import freeze

IGNORE_INDEX = -100


def seed_min_length(kwargs: dict) -> None:
    """Make a decoder-only LLM's ``min_length`` count new tokens, in place.

    transformers counts ``min_length`` over ``input_ids``, which here
    include the visual and prompt positions (so that ``generate`` keeps
    them out of its output): ``min_length=5`` would do nothing. The seed
    (LAVIS) passes only embeddings, so its ``min_length`` is a number of
    new tokens: ``min_new_tokens``. An explicit ``min_new_tokens`` wins.
    """
    min_length = kwargs.pop('min_length', None)
    if min_length and kwargs.get('min_new_tokens') is None:
        kwargs['min_new_tokens'] = min_length


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
        truncate_with_end (bool): The end token counts in
            ``max_caption_tokens``: caption + end are cut to that many, so
            a caption that long loses its end, as LAVIS's tokenizer call
            does for OPT and Vicuna (``caption + end`` truncated as one
            text). Defaults to False (the end is always kept).
        generation_cfg (dict, optional): Keyword arguments for
            ``generate`` (the seed's evaluation: ``num_beams=5,
            max_new_tokens=32, min_length=5``). ``min_length`` counts as
            in the seed: for a decoder-only LLM the new tokens (LAVIS
            passes only embeddings to ``generate``, so the visual and
            prompt positions do not count; here it becomes
            ``min_new_tokens``), for T5 the decoder's tokens including its
            start token (at least ``min_length - 1`` new tokens), as
            transformers counts them.
        frozen (bool): No gradient to the LLM's own weights and, without
            LoRA and with ``eval_when_frozen``, eval mode through
            ``train()``. Defaults to True.
        eval_when_frozen (bool): A frozen LLM without LoRA stays in eval
            mode (no dropout) while the rest trains. False: it follows
            ``train()``, its dropout active, as LAVIS leaves its frozen LLMs
            (the seed's OPT recipes: OPT's dropout 0.1; with LoRA the LLM
            follows ``train()`` either way). Defaults to True.
        lora (dict, optional): A ``peft.LoraConfig`` as a dict (seed:
            ``r=8, lora_alpha=16, lora_dropout=0.05,
            target_modules=['q', 'v']`` on T5). With LoRA the LLM follows
            ``train()`` so that the adapters' dropout is active.
        dtype (str, optional): Cast the LLM, e.g. ``'bfloat16'`` on GPU;
            it then runs under an autocast of that dtype whatever encloses
            it (:func:`~.precision.run_in_dtype`), so that ``--amp`` in
            another dtype never casts its weights again.
        bos_as_target (bool): Decoder-only LLMs with an empty prompt: the
            beginning-of-sequence token, the prompt's only token, is also a
            target of the cross-entropy (predicted from the last visual
            token), as in the seed's loss, which masks a prompt only when
            it is not empty. Defaults to False (the prompt is never a
            target).
        gradient_checkpointing (bool): Recompute the LLM's layer
            activations in backward (transformers' gradient checkpointing;
            it acts in training mode, so with LoRA or an LLM that is not
            frozen). Defaults to False.
    """

    def __init__(
        self,
        blip2: nn.Module,
        tokenizer,
        prompt: str = '',
        end_of_caption: Optional[str] = None,
        max_caption_tokens: int = 32,
        truncate_with_end: bool = False,
        generation_cfg: Optional[dict] = None,
        frozen: bool = True,
        eval_when_frozen: bool = True,
        lora: Optional[dict] = None,
        dtype: Optional[str] = None,
        bos_as_target: bool = False,
        gradient_checkpointing: bool = False,
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
        # On the LLM's device with the module: no host-to-device copy of
        # the prompt per step.
        self.register_buffer(
            '_prompt_ids', torch.tensor(self.prompt_ids), persistent=False
        )
        if bos_as_target and (self.is_encoder_decoder or prompt):
            kind = (
                'an encoder-decoder'
                if self.is_encoder_decoder
                else 'a decoder-only'
            )
            raise ValueError(
                'bos_as_target=True is for a decoder-only LLM with an empty '
                f'prompt; this head has prompt={prompt!r} and {kind} LLM.'
            )
        self.bos_as_target = bos_as_target
        self.max_caption_tokens = max_caption_tokens
        self.truncate_with_end = truncate_with_end
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

        self.compute_dtype = resolve_dtype(dtype)
        if self.compute_dtype is not None:
            language_model.to(self.compute_dtype)
        if gradient_checkpointing:
            if frozen and lora is None and eval_when_frozen:
                raise ValueError(
                    'gradient_checkpointing=True acts on an LLM in training '
                    'mode; a frozen LLM without LoRA stays in eval mode. '
                    'Add lora=, or set frozen=False or eval_when_frozen=False.'
                )
            # Non-reentrant: works when the LLM's inputs need gradient but
            # its (frozen) weights do not.
            language_model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs=dict(use_reentrant=False)
            )
        self.frozen = frozen
        self.eval_when_frozen = eval_when_frozen
        if frozen:
            freeze(language_model)
        self.uses_lora = lora is not None
        if self.uses_lora:
            from peft import LoraConfig, get_peft_model

            language_model = get_peft_model(language_model, LoraConfig(**lora))
        self.language_model = language_model

    def train(self, mode: bool = True) -> 'LLMCaptionHead':
        super().train(mode)
        if self.frozen and self.eval_when_frozen and not self.uses_lora:
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
        return self._prompt_ids.unsqueeze(0).expand(batch, -1)

    def _caption_ids(self, captions: Sequence[str]) -> List[List[int]]:
        """Caption token ids, truncated, each ending with the end token
        (unless ``truncate_with_end`` cut it)."""
        ids = self.tokenizer(
            list(captions), add_special_tokens=False
        ).input_ids
        limit, end = self.max_caption_tokens, [self.end_token_id]
        if self.truncate_with_end:
            return [(c + end)[:limit] for c in ids]
        return [c[:limit] + end for c in ids]

    def _pad(self, sequences: List[List[int]], value: int) -> torch.Tensor:
        """Right-pad to one length; on the LLM's device without a host
        synchronisation (pinned memory, non-blocking copy)."""
        length = max(len(s) for s in sequences)
        padded = [s + [value] * (length - len(s)) for s in sequences]
        ids = torch.tensor(padded, dtype=torch.long)
        device = self._device
        if device.type == 'cuda':
            ids = ids.pin_memory()
        return ids.to(device, non_blocking=True)

    def text_inputs(self, captions: Sequence[str]) -> Dict[str, torch.Tensor]:
        """Token ids and labels of the text part (after the visual tokens).

        Args:
            captions (Sequence[str]): Ground-truth captions.

        Returns:
            dict: See :meth:`target_inputs`.
        """
        return self.target_inputs(
            self._caption_ids(captions), bos_as_target=self.bos_as_target
        )

    def target_inputs(
        self, targets: Sequence[Sequence[int]], bos_as_target: bool = False
    ) -> Dict[str, torch.Tensor]:
        """Token ids and labels of the text part for given target ids.

        Args:
            targets (Sequence[Sequence[int]]): The caption token ids to
                score, each with its end token when it has one (captions
                from :meth:`_caption_ids` do unless ``truncate_with_end``
                cut it; generated ones that hit the length limit do not).
            bos_as_target (bool): Decoder-only, empty prompt: label the
                prompt's beginning-of-sequence token too (see the class).

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
        num_masked = 0 if bos_as_target else num_prompt
        return dict(
            input_ids=self._pad(
                [self.prompt_ids + t for t in targets],
                self.tokenizer.pad_token_id,
            ),
            attention_mask=self._pad(
                [[1] * (num_prompt + len(t)) for t in targets], 0
            ),
            labels=self._pad(
                [
                    [IGNORE_INDEX] * num_masked
                    + self.prompt_ids[num_masked:]
                    + t
                    for t in targets
                ],
                IGNORE_INDEX,
            ),
        )

    def _teacher_forced(
        self, visual_embeds: torch.Tensor, text: Dict[str, torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """One teacher-forced LLM pass over ``[visual ; text]``.

        A decoder-only LLM computes logits only where they predict a text
        token (``logits_to_keep``), not over the visual positions: the
        full-vocabulary logits of 32 visual tokens per clip are most of
        the loss's memory for a short caption.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: The loss (mean over the
            labelled tokens, computed in float32 as transformers does) and
            the logits, ``(B, S, vocab)`` with ``logits[:, i]`` predicting
            ``text['labels'][:, i]``.
        """
        visual_embeds = visual_embeds.to(self._embed_dtype)
        visual_mask = torch.ones(
            visual_embeds.shape[:2], dtype=torch.long, device=self._device
        )
        labels = text['labels']
        with run_in_dtype(self.compute_dtype, self._device.type):
            inputs_embeds = torch.cat(
                [visual_embeds, self._embed(text['input_ids'])], dim=1
            )
            if self.is_encoder_decoder:
                logits = self.language_model(
                    inputs_embeds=inputs_embeds,
                    attention_mask=torch.cat(
                        [visual_mask, torch.ones_like(text['input_ids'])],
                        dim=1,
                    ),
                    decoder_input_ids=(
                        self.language_model.prepare_decoder_input_ids_from_labels(
                            labels=labels
                        )
                    ),
                    decoder_attention_mask=text['decoder_attention_mask'],
                ).logits
            else:
                # Position p predicts token p + 1: the text's tokens are
                # predicted from the last visual position on.
                logits = self.language_model(
                    inputs_embeds=inputs_embeds,
                    attention_mask=torch.cat(
                        [visual_mask, text['attention_mask']], dim=1
                    ),
                    logits_to_keep=labels.size(1) + 1,
                ).logits[:, :-1]
        loss = F.cross_entropy(
            logits.float().flatten(0, 1),
            labels.flatten(),
            ignore_index=IGNORE_INDEX,
        )
        return loss, logits

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
        loss, _ = self._teacher_forced(visual_embeds, text)
        return dict(loss_caption=loss)

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
        _, logits = self._teacher_forced(visual_embeds, text)
        labels = text['labels']
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
        inputs = dict(
            inputs_embeds=inputs_embeds,
            attention_mask=torch.ones(
                inputs_embeds.shape[:2], dtype=torch.long, device=self._device
            ),
        )
        if not self.is_encoder_decoder:
            seed_min_length(kwargs)
            inputs['input_ids'] = torch.cat(
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
        with run_in_dtype(self.compute_dtype, self._device.type):
            output = self.language_model.generate(**inputs, **kwargs)
        if self.is_encoder_decoder:
            return output
        return output[:, inputs['input_ids'].size(1) :]

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
