"""Self-critical sequence training (SCST): the seed's second stage."""

import copy
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmaction.registry import MODELS

#: ``reward(captions, data_samples) -> array``: one reward per caption,
#: ``captions[i]`` written for the video of ``data_samples[i]``.
RewardFn = Callable[[List[str], Sequence], np.ndarray]


class SCSTError(FloatingPointError):
    """A non-finite reward or loss: the run stops rather than learn from it."""


@MODELS.register_module()
class SCSTObjective:
    """The SCST training objective of a captioner (instead of cross-entropy).

    Set as ``objective=`` on :class:`~vidcap_mm.models.Blip2VideoCaptioner`;
    it replaces the caption head's cross-entropy in ``mode='loss'`` and
    nothing else (validation and test still caption with the head's
    ``generation_cfg``). It is an object of the captioner rather than of the
    head because it needs the visual tokens once for two uses, and the
    captioner is where they are made: the visual tokens (ViT + Q-Former)
    are computed once per step; generation runs on a detached copy without
    gradient, the re-scoring pass on the same tensor with gradient. One
    step:

    1. ``k = num_candidates`` captions per clip from the head's
       ``generate``: beam search returning all k beams (the seed: 5 beams,
       at most 32 new tokens, no minimum length) or k samples
       (``candidates='sample'``, temperature / top-k / top-p in
       ``generation_cfg``).
    2. A reward per caption from the reward function, which
       :class:`~vidcap_mm.engine.hooks.SCSTRewardHook` hands over before
       training (a weighted sum of reward terms, CIDEr-D by default; the
       model never imports the evaluation package). The reward sees every
       caption; an empty one (end token first) then gets 0.
    3. A baseline per caption: ``'beam_mean'`` (the seed: the mean reward of
       the clip's k captions), ``'greedy'`` (the reward of the clip's greedy
       caption, Rennie et al. 2017) or ``'leave_one_out'`` (the mean of the
       clip's other k - 1).
    4. Each caption's score from ONE teacher-forced pass over all B*k
       captions, with gradient: its mean token log-probability (``'mean'``,
       the seed's sum / length; the end token counts) or the sum
       (``'sum'``).
    5. ``loss_scst = mean(-score * (reward - baseline))`` over the B*k
       captions.

    Advantages are computed from pairwise reward differences, so captions
    whose rewards equal their baseline's get exactly zero advantage (and
    contribute exactly zero gradient). A non-finite reward or loss raises
    :class:`SCSTError` naming the iteration and the captions. Besides the
    loss, the returned dict logs ``reward_mean``, ``baseline_mean``,
    ``advantage_std``, ``caption_length`` (mean words per caption),
    ``empty_share`` (share of empty captions) and, for a reward of several
    terms, each term's mean as ``reward_<name>``.

    Args:
        num_candidates (int): Captions per clip, k. Defaults to 5.
        candidates (str): ``'beam'`` or ``'sample'``. Defaults to ``'beam'``.
        baseline (str): ``'beam_mean'``, ``'greedy'`` or
            ``'leave_one_out'``. Defaults to ``'beam_mean'``.
        score (str): ``'mean'`` or ``'sum'`` of token log-probabilities.
            Defaults to ``'mean'``.
        generation_cfg (dict, optional): Keyword arguments for ``generate``
            over the head's ``generation_cfg`` (its evaluation settings),
            with ``max_new_tokens=32, min_length=0`` by default (and for
            sampling ``temperature=1.0, top_k=0, top_p=1.0``: plain
            sampling). ``num_beams``, ``num_return_sequences`` and
            ``do_sample`` follow from ``candidates`` and
            ``num_candidates``.
        xe_weight (float): Adds ``xe_weight`` times the head's
            cross-entropy of the clips' training captions, logged as
            ``loss_xe`` (an anchor to the references; the seed has none).
            Defaults to 0.
        discriminability_weight (float): Adds to each caption's reward
            ``discriminability_weight`` times the log-probability that the
            captioner's contrastive model retrieves the caption's own clip
            among the batch's clips (Luo et al. 2018's discriminability
            objective): a reward for naming what tells the clip apart,
            logged as ``reward_discriminability``. Needs the captioner's
            ``contrastive_loss``. The seed has none. Defaults to 0.
    """

    CANDIDATES = ('beam', 'sample')
    BASELINES = ('beam_mean', 'greedy', 'leave_one_out')
    SCORES = ('mean', 'sum')

    def __init__(
        self,
        num_candidates: int = 5,
        candidates: str = 'beam',
        baseline: str = 'beam_mean',
        score: str = 'mean',
        generation_cfg: Optional[dict] = None,
        xe_weight: float = 0.0,
        discriminability_weight: float = 0.0,
    ) -> None:
        for name, value, allowed in (
            ('candidates', candidates, self.CANDIDATES),
            ('baseline', baseline, self.BASELINES),
            ('score', score, self.SCORES),
        ):
            if value not in allowed:
                raise ValueError(
                    f'SCSTObjective: unknown {name} {value!r}; expected one '
                    f'of {allowed}.'
                )
        if num_candidates < 1 or (baseline != 'greedy' and num_candidates < 2):
            raise ValueError(
                f'SCSTObjective: num_candidates={num_candidates}; the '
                f"{baseline!r} baseline compares a clip's captions with "
                'each other and needs at least 2.'
            )
        generation_keys = {
            'num_beams',
            'num_return_sequences',
            'do_sample',
        } & set(generation_cfg or {})
        if generation_keys:
            raise ValueError(
                f'SCSTObjective: {sorted(generation_keys)} follow from '
                '`candidates` and `num_candidates`; remove them from '
                'generation_cfg.'
            )
        self.num_candidates = num_candidates
        self.candidates = candidates
        self.baseline = baseline
        self.score = score
        self.generation_cfg = dict(max_new_tokens=32, min_length=0)
        if candidates == 'sample':
            self.generation_cfg.update(temperature=1.0, top_k=0, top_p=1.0)
        self.generation_cfg.update(generation_cfg or {})
        for name, value in (
            ('xe_weight', xe_weight),
            ('discriminability_weight', discriminability_weight),
        ):
            if not value >= 0:
                raise ValueError(
                    f'SCSTObjective: {name} must be >= 0, got {value!r}.'
                )
        self.xe_weight = float(xe_weight)
        self.discriminability_weight = float(discriminability_weight)
        self.reward: Optional[RewardFn] = None
        #: The runner's iteration, for messages (set by the reward hook).
        self.iteration: Optional[int] = None

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_candidates='
            f'{self.num_candidates}, candidates={self.candidates!r}, '
            f'baseline={self.baseline!r}, score={self.score!r}, '
            f'generation_cfg={self.generation_cfg}, '
            f'xe_weight={self.xe_weight}, '
            f'discriminability_weight={self.discriminability_weight})'
        )

    def set_reward(self, reward: RewardFn) -> None:
        """Hand over the reward function (the reward hook does, once)."""
        self.reward = reward

    # The steps ---------------------------------------------------------

    def candidate_kwargs(self) -> dict:
        """``generate`` keyword arguments for the k captions per clip."""
        kwargs = copy.deepcopy(self.generation_cfg)
        k = self.num_candidates
        if self.candidates == 'beam':
            kwargs.update(num_beams=k, num_return_sequences=k, do_sample=False)
        else:
            kwargs.update(num_beams=1, num_return_sequences=k, do_sample=True)
        return kwargs

    def greedy_kwargs(self) -> dict:
        """``generate`` keyword arguments for the greedy baseline caption."""
        kwargs = {
            k: v
            for k, v in self.generation_cfg.items()
            if k not in ('temperature', 'top_k', 'top_p')
        }
        kwargs.update(num_beams=1, num_return_sequences=1, do_sample=False)
        return kwargs

    def rewards(
        self, captions: List[str], data_samples: Sequence
    ) -> np.ndarray:
        """Rewards of captions (``captions[i]`` for ``data_samples[i]``).

        The reward sees every caption, empty ones too (a reward with batch
        document frequencies, the seed's, counts them as documents); an
        empty caption's reward is then set to 0."""
        if self.reward is None:
            raise RuntimeError(
                'SCSTObjective has no reward function: add '
                "dict(type='SCSTRewardHook') to custom_hooks (it builds the "
                "CIDEr-D reward from the training set's references before "
                'training), or call set_reward().'
            )
        rewards = np.asarray(
            self.reward(list(captions), list(data_samples)), dtype=np.float64
        )
        if rewards.shape != (len(captions),):
            raise ValueError(
                f'The SCST reward returned shape {rewards.shape} for '
                f'{len(captions)} captions; expected one value each.'
            )
        rewards = np.where([bool(c) for c in captions], rewards, 0.0)
        bad = ~np.isfinite(rewards)
        if bad.any():
            self._fail(
                'reward',
                [
                    (captions[i], data_samples[i], rewards[i])
                    for i in np.flatnonzero(bad)
                ],
            )
        return rewards

    def reward_term_means(self) -> Dict[str, float]:
        """Each reward term's mean over the last scored captions, when the
        reward has terms (:class:`~vidcap_mm.evaluation.SCSTReward`)."""
        return dict(getattr(self.reward, 'last_means', None) or {})

    @staticmethod
    def discriminability(
        retrieval, visual_embeds: torch.Tensor, captions: List[str]
    ) -> np.ndarray:
        """Log-probability of retrieving each caption's own clip.

        Args:
            retrieval (CaptionContrastiveLoss): Embeds clips and captions
                (``embed_visual``, ``embed_captions``, ``temperature``).
            visual_embeds (torch.Tensor): ``(B, L, D)``, the batch's clips.
            captions (list[str]): ``B * n`` captions, the n of clip b at
                rows ``b*n ... b*n + n - 1``.

        Returns:
            np.ndarray: ``(B * n,)`` values <= 0; 0 for an empty caption.
        """
        batch = visual_embeds.size(0)
        n = len(captions) // batch
        values = np.zeros(len(captions), dtype=np.float64)
        written = [i for i, c in enumerate(captions) if c]
        if not written:
            return values
        with torch.no_grad():
            clips = retrieval.embed_visual(visual_embeds)
            text = retrieval.embed_captions([captions[i] for i in written])
            log_probs = torch.log_softmax(
                text @ clips.T / retrieval.temperature, dim=1
            )
            own = torch.tensor([i // n for i in written], device=clips.device)
            picked = log_probs.gather(1, own[:, None])[:, 0]
        values[written] = picked.double().cpu().numpy()
        return values

    def advantages(
        self, rewards: np.ndarray, greedy_rewards: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """Reward minus baseline, per caption.

        Args:
            rewards (np.ndarray): ``(B, k)``, the k captions of each clip.
            greedy_rewards (np.ndarray, optional): ``(B,)``, the reward of
                each clip's greedy caption (``baseline='greedy'``).

        Returns:
            np.ndarray: ``(B, k)`` advantages.
        """
        if self.baseline == 'greedy':
            if greedy_rewards is None:
                raise ValueError('The greedy baseline needs greedy_rewards.')
            return rewards - greedy_rewards[:, None]
        # r_i - mean_j r_j = mean_j (r_i - r_j): exactly 0 where all rewards
        # of a clip are equal (the mean itself can round away from them).
        differences = rewards[:, :, None] - rewards[:, None, :]
        if self.baseline == 'beam_mean':
            return differences.mean(axis=2)
        k = rewards.shape[1]
        return differences.sum(axis=2) / (k - 1)

    def policy_loss(
        self,
        head,
        visual_embeds: torch.Tensor,
        targets: List[List[int]],
        advantages: np.ndarray,
    ) -> tuple:
        """``mean(-score * advantage)`` over the B*k captions.

        Args:
            head (LLMCaptionHead): The caption head.
            visual_embeds (torch.Tensor): ``(B, L, llm_hidden)`` with
                gradient, one row per clip.
            targets (list[list[int]]): B*k caption token ids, the k of clip
                b at rows ``b*k ... b*k + k - 1``.
            advantages (np.ndarray): ``(B, k)``.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: The scalar loss and the
            ``(B*k,)`` scores.
        """
        k = len(targets) // visual_embeds.size(0)
        log_prob_sum, lengths = head.sequence_log_probs(
            visual_embeds.repeat_interleave(k, dim=0), targets
        )
        score = log_prob_sum
        if self.score == 'mean':
            score = log_prob_sum / lengths.clamp(min=1)
        advantage = torch.as_tensor(
            advantages.reshape(-1), dtype=score.dtype, device=score.device
        )
        return -(score * advantage).mean(), score

    def loss(
        self,
        head,
        visual_embeds: torch.Tensor,
        data_samples: Sequence,
        retrieval=None,
    ) -> Dict[str, torch.Tensor]:
        """One SCST step's loss and statistics.

        Args:
            head (LLMCaptionHead): The caption head (generation, decoding,
                re-scoring).
            visual_embeds (torch.Tensor): ``(B, L, llm_hidden)`` from the
                neck, with gradient.
            data_samples (Sequence[ActionDataSample]): The B clips' samples
                (handed to the reward: video ids, the record's caption).
            retrieval (CaptionContrastiveLoss, optional): The captioner's
                contrastive model, for ``discriminability_weight``.

        Returns:
            dict: ``loss_scst`` and the logged statistics.
        """
        if self.discriminability_weight and retrieval is None:
            raise ValueError(
                'SCSTObjective: discriminability_weight scores captions with '
                "the captioner's contrastive model; set the captioner's "
                "contrastive_loss=dict(type='CaptionContrastiveLoss') (with "
                'loss_weight=0 to keep only its scoring) or set the weight '
                'to 0.'
            )
        batch, k = visual_embeds.size(0), self.num_candidates
        frozen = visual_embeds.detach()
        with torch.no_grad():
            token_ids = head.generate(frozen, **self.candidate_kwargs())
        captions = head.decode(token_ids)
        per_caption = [s for s in data_samples for _ in range(k)]
        rewards = self.rewards(captions, per_caption)
        term_means = self.reward_term_means()
        if self.discriminability_weight:
            discriminability = self.discriminability(
                retrieval, frozen, captions
            )
            term_means['discriminability'] = float(discriminability.mean())
            rewards = rewards + self.discriminability_weight * discriminability
        rewards = rewards.reshape(batch, k)
        greedy_rewards = None
        if self.baseline == 'greedy':
            with torch.no_grad():
                greedy_ids = head.generate(frozen, **self.greedy_kwargs())
            greedy_captions = head.decode(greedy_ids)
            greedy_rewards = self.rewards(greedy_captions, list(data_samples))
            if self.discriminability_weight:
                greedy_rewards = (
                    greedy_rewards
                    + self.discriminability_weight
                    * self.discriminability(retrieval, frozen, greedy_captions)
                )
        advantages = self.advantages(rewards, greedy_rewards)
        loss, scores = self.policy_loss(
            head, visual_embeds, head.generated_targets(token_ids), advantages
        )
        if not torch.isfinite(loss):
            bad = (~torch.isfinite(scores.detach())).cpu().numpy()
            rows = np.flatnonzero(bad) if bad.any() else range(len(captions))
            self._fail(
                'loss',
                [(captions[i], per_caption[i], rewards.flat[i]) for i in rows],
                value=loss.item(),
            )
        words = np.array([len(c.split()) for c in captions], np.float64)
        stats = dict(
            reward_mean=rewards.mean(),
            baseline_mean=(rewards - advantages).mean(),
            advantage_std=advantages.std(),
            caption_length=words.mean(),
            empty_share=(words == 0).mean(),
        )
        if len(term_means) > 1 or self.discriminability_weight:
            stats.update({f'reward_{n}': v for n, v in term_means.items()})
        out = dict(loss_scst=loss)
        if self.xe_weight:
            out['loss_xe'] = (
                self.xe_weight
                * head.loss(visual_embeds, data_samples)['loss_caption']
            )
        for name, value in stats.items():
            out[name] = torch.tensor(float(value), device=loss.device)
        return out

    def _fail(self, what: str, rows: list, value=None) -> None:
        where = (
            f'iteration {self.iteration}'
            if self.iteration is not None
            else 'this step'
        )
        lines = [
            f'  video {sample.metainfo.get("video_id", "?")!r}: '
            f'{caption!r} (reward {reward:.6g})'
            for caption, sample, reward in rows[:10]
        ]
        more = f'\n  ... and {len(rows) - 10} more' if len(rows) > 10 else ''
        detail = '' if value is None else f' ({value})'
        raise SCSTError(
            f'SCST: non-finite {what}{detail} at {where}; stopping rather '
            'than training on it. Captions involved:\n'
            + '\n'.join(lines)
            + more
        )
