"""A contrastive loss between a clip's visual tokens and its caption."""

from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch import nn


@MODELS.register_module()
class CaptionContrastiveLoss(nn.Module):
    """Image-text contrastive loss (ITC) for captioners trained from scratch.

    BLIP-2 learns to see with contrastive and generative losses in its
    first stage, before any LLM is attached. A captioner whose ViT and
    Q-Former start from random weights (the CPU demo's tiny BLIP-2) has
    only the LLM's caption loss, and that loss teaches colours and
    backgrounds but not shapes: on the synthetic clips the tiny model named
    the right shape of a third of the one-shape test clips after 4,000
    steps, as by guessing; with this loss added (the demo config) it names
    all 72 right after 2,304 steps. This matches what CLIP (Radford et al.,
    2021) measured: predicting a caption's words learns image features
    several times slower than contrasting images with their captions.

    The loss: each clip's visual tokens are averaged and projected, each
    caption is embedded as the mean of learnt token embeddings (the LLM's
    tokenizer, no special tokens) and projected; both are L2-normalised
    and their cosine similarities, divided by ``temperature``, are scored
    with a symmetric cross-entropy over the batch (clip to caption and
    caption to clip), as in CLIP, each clip's own caption its target. Two
    clips with the same caption string are not pushed apart: their
    captions embed identically, so either clip scores both captions alike
    (a target spread evenly over equal captions would give exactly the
    same loss and gradient). The text side
    is a bag of words rather than BLIP-2's Q-Former text encoder: enough
    to tell captions apart and cheap, and it keeps the loss independent of
    the LLM. A model from a pretrained BLIP-2 checkpoint does not need it
    (its ViT and Q-Former already see); it is off unless configured
    (``contrastive_loss`` of :class:`~vidcap_mm.models.Blip2VideoCaptioner`).

    Args:
        tokenizer: The LLM's tokenizer (set by the captioner).
        visual_dim (int): Width of the visual tokens, the LLM's hidden size
            (set by the captioner).
        embed_dim (int): Width of the shared embedding space. Defaults
            to 64.
        temperature (float): Divides the cosine similarities. Defaults to
            0.1.
        loss_weight (float): Multiplies the loss. Defaults to 1.0.
    """

    def __init__(
        self,
        tokenizer,
        visual_dim: int,
        embed_dim: int = 64,
        temperature: float = 0.1,
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(
                f'CaptionContrastiveLoss: temperature must be > 0, got '
                f'{temperature}'
            )
        self.tokenizer = tokenizer
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.word_embedding = nn.EmbeddingBag(
            len(tokenizer), embed_dim, mode='mean'
        )
        self.text_projection = nn.Linear(embed_dim, embed_dim)
        self.visual_projection = nn.Linear(visual_dim, embed_dim)

    def embed_captions(self, captions: Sequence[str]) -> torch.Tensor:
        """``(B, embed_dim)`` unit-length caption embeddings."""
        token_ids = self.tokenizer(
            list(captions), add_special_tokens=False
        ).input_ids
        empty = [c for c, ids in zip(captions, token_ids) if not ids]
        if empty:
            raise ValueError(
                f'CaptionContrastiveLoss: captions without any token: '
                f'{empty!r}'
            )
        device = self.word_embedding.weight.device
        flat = torch.tensor(
            [i for ids in token_ids for i in ids], device=device
        )
        lengths = torch.tensor([len(ids) for ids in token_ids])
        offsets = torch.cumsum(lengths, 0) - lengths
        bags = self.word_embedding(flat, offsets.to(device))
        return F.normalize(self.text_projection(bags), dim=-1)

    def embed_visual(self, visual_embeds: torch.Tensor) -> torch.Tensor:
        """``(B, embed_dim)`` unit-length embeddings of ``(B, L, D)``."""
        pooled = visual_embeds.float().mean(dim=1)
        return F.normalize(self.visual_projection(pooled), dim=-1)

    def forward(
        self, visual_embeds: torch.Tensor, captions: Sequence[str]
    ) -> Dict[str, torch.Tensor]:
        """The loss of a batch.

        Args:
            visual_embeds (torch.Tensor): ``(B, L, D)`` from the neck.
            captions (Sequence[str]): The B captions, one per clip.

        Returns:
            dict: ``loss_contrastive``, already weighted.
        """
        if len(captions) != visual_embeds.shape[0]:
            raise ValueError(
                f'CaptionContrastiveLoss: {visual_embeds.shape[0]} clips but '
                f'{len(captions)} captions'
            )
        logits = (
            self.embed_visual(visual_embeds)
            @ self.embed_captions(captions).T
            / self.temperature
        )
        # Plain CLIP targets, also where captions repeat: equal strings
        # embed identically, so their columns (and rows) are equal and a
        # target spread over them gives the same loss and gradient.
        targets = torch.arange(len(captions), device=logits.device)
        loss = (
            F.cross_entropy(logits, targets)
            + F.cross_entropy(logits.T, targets)
        ) / 2
        return dict(loss_contrastive=self.loss_weight * loss)
