"""The video captioner: BLIP-2 backbone, fusion neck and caption head."""

from typing import Dict, List, Optional, Sequence, Union

import torch
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.model import BaseModel

from .blip2_loading import load_blip2, load_tokenizer


@MODELS.register_module()
class Blip2VideoCaptioner(BaseModel):
    """A pretrained image BLIP-2 used as a video captioner.

    ``extract_feat`` runs the vision backbone on every frame and fuses the
    frames' tokens in the neck; the head's LLM writes the caption. The three
    parts are built from config dicts like an MMAction2 recognizer's, and
    each wraps sub-modules of ONE transformers model, loaded here once:
    ``pretrained`` (a model id or a directory) or ``blip2_config`` (a random
    model, for tests and the demo).

    This is an MMEngine ``BaseModel`` rather than MMAction2's
    ``BaseRecognizer``: the latter builds a classification head, averages
    clip scores and handles backbones from other libraries, none of which a
    captioner uses; the backbone / neck / head split and the three-mode
    ``forward`` are kept.

    Args:
        backbone (dict): Config of the vision backbone
            (``Blip2VisionBackbone``).
        neck (dict): Config of the fusion neck (``QFormerFusionNeck``).
        head (dict): Config of the caption head (``LLMCaptionHead``).
        pretrained (str, optional): A BLIP-2 / InstructBLIP model id or
            directory for ``from_pretrained``.
        blip2_config (dict, optional): ``Blip2Config`` keyword arguments (add
            ``model_type='instructblip'`` for InstructBLIP) for a randomly
            initialised model.
        tokenizer (str | dict, optional): The LLM's tokenizer: None loads it
            from ``pretrained``; a string is a model id or directory; a dict
            holds the arguments of ``build_word_tokenizer``.
        qformer_tokenizer (str | dict, optional): InstructBLIP only: the
            Q-Former's tokenizer, likewise (None: the ``qformer_tokenizer``
            folder of ``pretrained``).
        attn_implementation (str | dict, optional): transformers'
            attention implementation for the whole model (``'sdpa'``,
            ``'eager'``, ``'flash_attention_2'`` where installed) or per
            sub-config; None: transformers' default (sdpa).
        objective (dict, optional): The training objective: None (default)
            for the head's cross-entropy, or e.g.
            ``dict(type='SCSTObjective')`` for self-critical training
            (:class:`~vidcap_mm.models.SCSTObjective`). Only ``mode='loss'``
            changes.
        contrastive_loss (dict, optional): An image-text contrastive loss
            added to the objective's in ``mode='loss'``, e.g.
            ``dict(type='CaptionContrastiveLoss')``
            (:class:`~vidcap_mm.models.CaptionContrastiveLoss`), for a
            model whose ViT and Q-Former start from random weights. None
            (default): none.
        data_preprocessor (dict, optional): Defaults to
            :class:`~vidcap_mm.models.CaptionerDataPreprocessor`: MMAction2's
            ``ActionDataPreprocessor`` with the CLIP mean and std,
            ``format_shape='NCHW'`` (``(B, T, 3, H, W)`` batches) and
            non-blocking copies.
    """

    def __init__(
        self,
        backbone: dict,
        neck: dict,
        head: dict,
        pretrained: Optional[str] = None,
        blip2_config: Optional[dict] = None,
        tokenizer: Union[None, str, dict] = None,
        qformer_tokenizer: Union[None, str, dict] = None,
        attn_implementation: Union[None, str, dict] = None,
        objective: Optional[dict] = None,
        contrastive_loss: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='CaptionerDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built from mmaction's registry so that it resolves without a
            # default scope (outside a Runner) too.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg
        )
        # The LLM (most of the weights) loads straight in its dtype.
        blip2 = load_blip2(
            pretrained,
            blip2_config,
            llm_dtype=head.get('dtype') if pretrained is not None else None,
            attn_implementation=attn_implementation,
        )
        neck_args = dict(blip2=blip2)
        if blip2.config.model_type == 'instructblip':
            neck_args['qformer_tokenizer'] = load_tokenizer(
                qformer_tokenizer, pretrained, subfolder='qformer_tokenizer'
            )
        self.backbone = MODELS.build(backbone, default_args=dict(blip2=blip2))
        self.neck = MODELS.build(neck, default_args=neck_args)
        llm_tokenizer = load_tokenizer(tokenizer, pretrained)
        self.head = MODELS.build(
            head, default_args=dict(blip2=blip2, tokenizer=llm_tokenizer)
        )
        self.objective = None if objective is None else MODELS.build(objective)
        self.contrastive_loss = None
        if contrastive_loss is not None:
            self.contrastive_loss = MODELS.build(
                contrastive_loss,
                default_args=dict(
                    tokenizer=llm_tokenizer,
                    visual_dim=blip2.config.text_config.hidden_size,
                ),
            )

    def init_weights(self) -> None:
        """Keep the weights loaded at construction.

        The parts hold transformers modules whose own ``init_weights``
        would re-initialise them, so MMEngine's recursive call must not
        reach them: weights come from ``pretrained`` / ``blip2_config``.
        """
        MMLogger.get_current_instance().debug(
            'Blip2VideoCaptioner: weights were set at construction; '
            'init_weights does nothing.'
        )

    def extract_feat(
        self, inputs: torch.Tensor, data_samples: Optional[Sequence] = None
    ) -> torch.Tensor:
        """Visual tokens for the LLM.

        Args:
            inputs (torch.Tensor): ``(B, T, 3, H, W)`` normalised clips.
            data_samples (Sequence, optional): Their data samples, which key
                the backbone's ``feature_cache`` when one is set.

        Returns:
            torch.Tensor: ``(B, L, llm_hidden)``.
        """
        return self.neck(self.backbone(inputs, data_samples))

    def loss(
        self, inputs: torch.Tensor, data_samples: Sequence
    ) -> Dict[str, torch.Tensor]:
        """The training objective's losses (cross-entropy by default),
        plus the contrastive loss where one is set."""
        visual_embeds = self.extract_feat(inputs, data_samples)
        if self.objective is None:
            losses = self.head.loss(visual_embeds, data_samples)
        else:
            losses = self.objective.loss(
                self.head,
                visual_embeds,
                data_samples,
                retrieval=self.contrastive_loss,
            )
        if self.contrastive_loss is not None:
            captions = [s.gt_caption for s in data_samples]
            losses.update(self.contrastive_loss(visual_embeds, captions))
        return losses

    def predict(self, inputs: torch.Tensor, data_samples: Sequence) -> List:
        visual_embeds = self.extract_feat(inputs, data_samples)
        return list(self.head.predict(visual_embeds, data_samples))

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[Sequence] = None,
        mode: str = 'tensor',
    ):
        """``loss``: a dict of losses; ``predict``: data samples with
        ``pred_caption``; ``tensor``: the LLM's visual input tokens."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        raise RuntimeError(
            f'Invalid mode {mode!r}; expected "loss", '
            '"predict" or "tensor".'
        )
