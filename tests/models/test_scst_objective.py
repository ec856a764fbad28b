"""SCST: the maths of one step, exact, on tiny random captioners."""

import math

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from tests.helpers import build_captioner, samples_for, scst_captioner
from vidcap_mm.models import SCSTError, SCSTObjective

LORA = dict(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=['q', 'v'])
CANDIDATES = ['a red circle', 'a blue circle', 'a blue square', 'a red square']


def caption_targets(head, captions, end=True):
    """Token ids of captions as the head scores them (end token last)."""
    ids = head.tokenizer(list(captions), add_special_tokens=False).input_ids
    return [c + [head.end_token_id] if end else c for c in ids]


def hand_log_prob(head, visual, target):
    """Sum of a target's token log-probabilities, one token at a time from
    the LLM's raw logits (independent of the head's batched pass)."""
    visual = visual.unsqueeze(0)
    prompt = torch.tensor([head.prompt_ids])
    if head.is_encoder_decoder:
        model = head.language_model
        start = model.config.decoder_start_token_id
        decoder_ids = torch.tensor([[start] + target[:-1]])
        embeds = torch.cat([visual, head._embed(prompt)], dim=1)
        logits = model(
            inputs_embeds=embeds, decoder_input_ids=decoder_ids
        ).logits[0]
        rows = range(len(target))
    else:
        ids = torch.tensor([head.prompt_ids + target])
        embeds = torch.cat([visual, head._embed(ids)], dim=1)
        logits = head.language_model(inputs_embeds=embeds).logits[0]
        first = visual.size(1) + len(head.prompt_ids) - 1
        rows = range(first, first + len(target))
    total = 0
    for row, token in zip(rows, target):
        total = total + logits[row].float().log_softmax(-1)[token]
    return total


class FixedGeneration:
    """Stands in for the head's ``generate``: returns the token ids of the
    given captions (per call), as ``generate`` lays them out."""

    def __init__(self, head, *calls):
        self.head = head
        self.calls = list(calls)

    def __call__(self, visual_embeds, **kwargs):
        captions = self.calls.pop(0)
        rows = caption_targets(self.head, captions)
        width = max(len(r) for r in rows)
        pad = self.head.tokenizer.pad_token_id
        rows = [r + [pad] * (width - len(r)) for r in rows]
        if self.head.is_encoder_decoder:
            start = self.head.language_model.config.decoder_start_token_id
            rows = [[start] + r for r in rows]
        return torch.tensor(rows)


def trainable(module):
    return [p for p in module.parameters() if p.requires_grad]


# Log-probabilities ----------------------------------------------------


def test_sequence_log_probs_equal_token_by_token_sums(llm_kind):
    captioner = build_captioner(llm_kind).eval()
    head = captioner.head
    targets = caption_targets(head, CANDIDATES)
    targets[1] = targets[1][:-1]  # one hit the length limit: no end token
    with torch.no_grad():
        visual = captioner.extract_feat(torch.randn(4, 2, 3, 32, 32))
        sums, lengths = head.sequence_log_probs(visual, targets)
        expected = [
            hand_log_prob(head, visual[i], t) for i, t in enumerate(targets)
        ]
    assert lengths.tolist() == [len(t) for t in targets]
    for ours, ref in zip(sums.tolist(), expected):
        assert abs(ours - ref.item()) < 1e-5


def test_generated_targets_cut_after_the_end_token(llm_kind):
    head = build_captioner(llm_kind).head
    generated = FixedGeneration(head, ['a red circle', 'a', ''])(None)
    targets = head.generated_targets(generated)
    assert targets == caption_targets(head, ['a red circle', 'a', ''])
    assert targets[2] == [head.end_token_id]  # empty: the end token alone
    # A row without an end token reached the length limit: kept whole.
    words = caption_targets(head, ['a red circle'], end=False)[0]
    row = words
    if head.is_encoder_decoder:
        row = [head.language_model.config.decoder_start_token_id] + words
    assert head.generated_targets(torch.tensor([row])) == [words]


# The policy gradient --------------------------------------------------


@pytest.mark.parametrize('score', ['mean', 'sum'])
def test_gradient_equals_direct_autograd(llm_kind, score):
    """grad(loss) == -mean_i (r_i - b_i) * grad(score_i), each score_i from
    its own pass."""
    captioner = scst_captioner(llm_kind, score=score).eval()
    head = captioner.head
    params = trainable(captioner)
    video = torch.randn(2, 2, 3, 32, 32)
    targets = caption_targets(head, CANDIDATES)
    advantages = np.array([[0.8, -0.3], [-1.5, 0.25]])

    loss, _ = captioner.objective.policy_loss(
        head, captioner.extract_feat(video), targets, advantages
    )
    grads = torch.autograd.grad(loss, params, allow_unused=True)

    expected = [torch.zeros_like(p) for p in params]
    for i, target in enumerate(targets):
        visual = captioner.extract_feat(video)[i // 2]
        value = hand_log_prob(head, visual, target)
        if score == 'mean':
            value = value / len(target)
        parts = torch.autograd.grad(value, params, allow_unused=True)
        for acc, part in zip(expected, parts):
            if part is not None:
                acc -= advantages.flat[i] * part / len(targets)
    checked = 0
    for ours, ref in zip(grads, expected):
        ours = torch.zeros_like(ref) if ours is None else ours
        # float32 sums in another order: about 1e-6 of gradients near 1.
        torch.testing.assert_close(ours, ref, atol=2e-5, rtol=1e-4)
        checked += int(ref.abs().sum() > 0)
    assert checked > 5


def test_equal_rewards_give_exactly_zero_gradient():
    captioner = scst_captioner('t5').eval()
    objective = captioner.objective
    rewards = np.array([[0.1, 0.1], [0.7, 0.7]])  # means round off 0.1
    advantages = objective.advantages(rewards)
    assert (advantages == 0).all()
    loss, _ = objective.policy_loss(
        captioner.head,
        captioner.extract_feat(torch.randn(2, 2, 3, 32, 32)),
        caption_targets(captioner.head, CANDIDATES),
        advantages,
    )
    loss.backward()
    grads = [p.grad for p in trainable(captioner) if p.grad is not None]
    assert grads and all((g == 0).all() for g in grads)


def test_identical_candidates_give_zero_advantage_and_gradient():
    """k samples with top_k=1 are the same caption: the beam-mean
    baseline equals each reward, so nothing is learnt."""
    captioner = scst_captioner(
        'opt',
        num_candidates=3,
        candidates='sample',
        generation_cfg=dict(top_k=1),
    ).train()
    seen = []

    def reward(captions, samples):
        seen.append(list(captions))
        return np.array([0.1 * len(c) for c in captions])

    captioner.objective.set_reward(reward)
    out = captioner(
        torch.randn(2, 2, 3, 32, 32),
        samples_for(['v0', 'v1'], ['a red circle', 'a blue square']),
        mode='loss',
    )
    (captions,) = seen
    assert len(captions) == 6 and all(captions)
    assert captions[:3] == [captions[0]] * 3
    assert captions[3:] == [captions[3]] * 3
    assert out['advantage_std'].item() == 0
    out['loss_scst'].backward()
    grads = [p.grad for p in trainable(captioner) if p.grad is not None]
    assert grads and all((g == 0).all() for g in grads)


def test_a_step_raises_the_best_candidates_log_prob():
    captioner = scst_captioner('opt').eval()
    head, objective = captioner.head, captioner.objective
    video = torch.randn(2, 2, 3, 32, 32)
    targets = caption_targets(head, CANDIDATES)
    advantages = objective.advantages(np.array([[3.0, 1.0], [0.5, 2.5]]))

    def scores():
        with torch.no_grad():
            sums, lengths = head.sequence_log_probs(
                captioner.extract_feat(video).repeat_interleave(2, 0),
                targets,
            )
        return (sums / lengths).tolist()

    before = scores()
    optimizer = torch.optim.SGD(trainable(captioner), lr=0.05)
    loss, _ = objective.policy_loss(
        head, captioner.extract_feat(video), targets, advantages
    )
    loss.backward()
    optimizer.step()
    after = scores()
    # The better caption of each clip (0 and 3) rises, the worse falls.
    assert after[0] > before[0] and after[3] > before[3]
    assert after[1] < before[1] and after[2] < before[2]


# Baselines and the whole step on a worked example ----------------------


def test_baselines_on_a_worked_example():
    rewards = np.array([[7.5, 1.25, 4.0]])
    greedy = np.array([5.0])

    def advantages(baseline):
        objective = SCSTObjective(num_candidates=3, baseline=baseline)
        return objective.advantages(rewards, greedy).ravel().tolist()

    assert advantages('beam_mean') == pytest.approx(
        [7.5 - 12.75 / 3, 1.25 - 12.75 / 3, 4.0 - 12.75 / 3]
    )
    # Each minus the mean of the other two.
    assert advantages('leave_one_out') == pytest.approx(
        [7.5 - 2.625, 1.25 - 5.75, 4.0 - 4.375]
    )
    assert advantages('greedy') == pytest.approx([2.5, -3.75, -1.0])


def record_reward():
    """CIDEr-D against each record's own caption, document frequencies
    from the step's records, as the reward hook builds it."""
    from vidcap_mm.evaluation import CiderDRewardTerm, SCSTReward

    return SCSTReward([(CiderDRewardTerm(mode='record'), 1.0)])


def test_record_mode_step_reproduces_a_hand_computed_example():
    """Two clips, references 'a red circle' and 'a blue square', two
    candidates each. Batch df over the 4 reference documents: 'a' is in
    all (idf 0), every other n-gram of the references in 2 (idf log 2).

    - 'a red circle' vs 'a red circle': n = 1..3 vectors identical (cosine
      1), no 4-grams (0), same length: 10 * (1 + 1 + 1 + 0) / 4 = 7.5.
    - 'a blue circle' vs 'a red circle': unigrams share 'circle' only,
      (log 2)^2 / (sqrt(2) log 2)^2 = 0.5; no common bigram or trigram:
      10 * 0.5 / 4 = 1.25. Symmetrically 'a red square' scores 1.25.

    Beam-mean baseline 4.375, advantages +-3.125; score = mean token
    log-probability; loss = mean(-score * advantage).
    """
    captioner = scst_captioner('opt').eval()
    head = captioner.head
    captioner.objective.set_reward(record_reward())
    head.generate = FixedGeneration(head, CANDIDATES)
    samples = samples_for(['v0', 'v1'], ['a red circle', 'a blue square'])
    video = torch.randn(2, 2, 3, 32, 32)

    out = captioner(video, samples, mode='loss')

    assert out['reward_mean'].item() == pytest.approx((7.5 + 1.25) / 2)
    assert out['baseline_mean'].item() == pytest.approx(4.375)
    assert out['advantage_std'].item() == pytest.approx(3.125)
    with torch.no_grad():
        visual = captioner.extract_feat(video)
        scores = [
            hand_log_prob(head, visual[i // 2], t) / len(t)
            for i, t in enumerate(caption_targets(head, CANDIDATES))
        ]
    advantages = [3.125, -3.125, 3.125, -3.125]
    expected = -sum(s * a for s, a in zip(scores, advantages)) / 4
    assert out['loss_scst'].item() == pytest.approx(expected.item(), abs=1e-6)


def test_greedy_baseline_step_scores_the_greedy_caption():
    captioner = scst_captioner('t5', baseline='greedy').eval()
    head = captioner.head
    captioner.objective.set_reward(record_reward())
    head.generate = FixedGeneration(
        head, CANDIDATES, ['a blue circle', 'a blue square']
    )
    out = captioner(
        torch.randn(2, 2, 3, 32, 32),
        samples_for(['v0', 'v1'], ['a red circle', 'a blue square']),
        mode='loss',
    )
    # Greedy rewards 1.25 (video 0) and 7.5 (video 1), from the same
    # batch-df arithmetic as the hand-computed example.
    assert out['baseline_mean'].item() == pytest.approx((1.25 + 7.5) / 2)
    assert out['reward_mean'].item() == pytest.approx((7.5 + 1.25) / 2)


# Candidates -------------------------------------------------------------


def test_beam_candidates_are_all_k_beams_per_clip(llm_kind):
    captioner = scst_captioner(llm_kind, num_candidates=3).eval()
    head, objective = captioner.head, captioner.objective
    with torch.no_grad():
        visual = captioner.extract_feat(torch.randn(2, 2, 3, 32, 32))
        ids = head.generate(visual, **objective.candidate_kwargs())
        top = head.generate(
            visual,
            num_beams=3,
            max_new_tokens=5,
            min_length=0,
            suppress_tokens=objective.generation_cfg['suppress_tokens'],
        )
    assert ids.size(0) == 2 * 3
    # Rows b*k ... b*k + k - 1 are clip b's beams, best first.
    assert ids[0].tolist() == top[0].tolist()
    assert ids[3].tolist() == top[1].tolist()
    beams = [tuple(t) for t in head.generated_targets(ids)]
    assert len(set(beams[:3])) == 3 and len(set(beams[3:])) == 3


def test_sampled_candidates_follow_the_seed():
    captioner = scst_captioner(
        'opt', num_candidates=4, candidates='sample'
    ).eval()
    objective = captioner.objective
    assert objective.candidate_kwargs()['do_sample'] is True
    with torch.no_grad():
        visual = captioner.extract_feat(torch.randn(1, 2, 3, 32, 32))
        runs = []
        for _ in range(2):
            torch.manual_seed(3)
            runs.append(
                captioner.head.generate(
                    visual, **objective.candidate_kwargs()
                ).tolist()
            )
    assert len(runs[0]) == 4 and runs[0] == runs[1]
    assert len({tuple(r) for r in runs[0]}) > 1


# Edge cases -------------------------------------------------------------


def test_empty_candidate_is_scored_and_gets_zero_reward():
    """The reward sees the empty caption (batch document frequencies count
    it), and its reward is then 0 whatever the reward said."""
    captioner = scst_captioner('opt').eval()
    head = captioner.head
    seen = []

    def reward(captions, samples):
        seen.extend(captions)
        return np.full(len(captions), 2.0)

    captioner.objective.set_reward(reward)
    head.generate = FixedGeneration(
        head, ['', 'a red circle', 'a blue square', 'a red square']
    )
    out = captioner(
        torch.randn(2, 2, 3, 32, 32),
        samples_for(['v0', 'v1'], ['a red circle', 'a blue square']),
        mode='loss',
    )
    assert seen == ['', 'a red circle', 'a blue square', 'a red square']
    assert out['empty_share'].item() == 0.25
    assert out['reward_mean'].item() == pytest.approx(6.0 / 4)
    assert torch.isfinite(out['loss_scst'])
    out['loss_scst'].backward()


def test_each_reward_terms_mean_is_logged():
    from vidcap_mm.evaluation import (
        CallableRewardTerm,
        CiderDRewardTerm,
        SCSTReward,
    )

    captioner = scst_captioner('opt').eval()
    head = captioner.head
    words = CallableRewardTerm(
        lambda captions, samples: np.array([len(c.split()) for c in captions]),
        name='words',
    )
    captioner.objective.set_reward(
        SCSTReward([(CiderDRewardTerm(mode='record'), 1.0), (words, 0.5)])
    )
    head.generate = FixedGeneration(head, CANDIDATES)
    out = captioner(
        torch.randn(2, 2, 3, 32, 32),
        samples_for(['v0', 'v1'], ['a red circle', 'a blue square']),
        mode='loss',
    )
    # CIDEr-D as in the hand-computed example; every candidate has 3 words.
    assert out['reward_cider_d'].item() == pytest.approx((7.5 + 1.25) / 2)
    assert out['reward_words'].item() == 3.0
    assert out['reward_mean'].item() == pytest.approx((7.5 + 1.25) / 2 + 1.5)


def test_discriminability_has_its_closed_form():
    """Clips that show one word each and a contrastive model whose
    embeddings are the words' axes: a caption's cosine with its clip is 1
    when it names the clip's word, else 0."""
    from tests.models.test_caption_contrastive_loss import (
        TEMPERATURE,
        clips_showing,
        identity_loss,
    )

    retrieval, tokenizer = identity_loss(['red', 'blue', 'green'])
    clips = clips_showing(tokenizer, ['red', 'blue', 'green'])
    # Two captions per clip: clip 0 'red', 'blue'; clip 1 'blue', '';
    # clip 2 'red', 'green'.
    captions = ['red', 'blue', 'blue', '', 'red', 'green']
    values = SCSTObjective.discriminability(retrieval, clips, captions)
    e = math.exp(1 / TEMPERATURE)
    right, wrong = math.log(e / (e + 2)), math.log(1 / (e + 2))
    assert values == pytest.approx([right, wrong, right, 0, wrong, right])


def test_discriminability_and_xe_anchor_in_a_step():
    captioner = scst_captioner(
        'opt',
        parts=dict(contrastive_loss=dict(type='CaptionContrastiveLoss')),
        discriminability_weight=2.0,
        xe_weight=0.5,
    ).eval()
    head = captioner.head
    captioner.objective.set_reward(lambda c, s: np.zeros(len(c)))
    head.generate = FixedGeneration(head, CANDIDATES)
    video = torch.randn(2, 2, 3, 32, 32)
    samples = samples_for(['v0', 'v1'], ['a red circle', 'a blue square'])
    out = captioner(video, samples, mode='loss')
    with torch.no_grad():
        visual = captioner.extract_feat(video)
        expected = SCSTObjective.discriminability(
            captioner.contrastive_loss, visual, CANDIDATES
        )
        xe = head.loss(visual, samples)['loss_caption']
    assert out['reward_discriminability'].item() == pytest.approx(
        expected.mean()
    )
    assert out['reward_mean'].item() == pytest.approx(2.0 * expected.mean())
    assert out['loss_xe'].item() == pytest.approx(0.5 * xe.item(), rel=1e-6)
    # Without a contrastive model there is nothing to score with.
    plain = scst_captioner('opt', discriminability_weight=1.0)
    plain.objective.set_reward(lambda c, s: np.zeros(len(c)))
    with pytest.raises(ValueError, match='contrastive_loss'):
        plain(video, samples, mode='loss')


def test_non_finite_reward_stops_with_the_captions():
    captioner = scst_captioner('opt').eval()
    head = captioner.head
    captioner.objective.iteration = 41
    captioner.objective.set_reward(
        lambda captions, samples: np.array(
            [math.nan if c == 'a blue square' else 1.0 for c in captions]
        )
    )
    head.generate = FixedGeneration(head, CANDIDATES)
    with pytest.raises(SCSTError) as error:
        captioner(
            torch.randn(2, 2, 3, 32, 32),
            samples_for(['v0', 'v1'], ['a red circle', 'a blue square']),
            mode='loss',
        )
    message = str(error.value)
    assert 'non-finite reward' in message and 'iteration 41' in message
    assert "'a blue square'" in message and "'v1'" in message
    assert "'a red circle'" not in message


def test_non_finite_loss_stops_with_the_captions():
    captioner = scst_captioner('t5').eval()
    captioner.objective.set_reward(
        lambda captions, samples: np.arange(len(captions), dtype=float)
    )
    captioner.head.generate = FixedGeneration(captioner.head, CANDIDATES)
    with torch.no_grad():
        captioner.neck.language_projection.bias[0] = math.inf
    with pytest.raises(SCSTError, match='non-finite loss') as error:
        captioner(
            torch.randn(2, 2, 3, 32, 32),
            samples_for(['v0', 'v1'], ['a red circle', 'a blue square']),
            mode='loss',
        )
    assert "'a blue circle'" in str(error.value)


def test_missing_reward_says_which_hook_to_add():
    captioner = scst_captioner('opt')
    with pytest.raises(RuntimeError, match='SCSTRewardHook'):
        captioner(
            torch.randn(1, 2, 3, 32, 32),
            samples_for(['v0'], ['a red circle']),
            mode='loss',
        )


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(baseline='mean'), 'unknown baseline'),
        (dict(candidates='nucleus'), 'unknown candidates'),
        (dict(score='max'), 'unknown score'),
        (dict(num_candidates=1), 'at least 2'),
        (dict(generation_cfg=dict(num_beams=3)), 'num_beams'),
        (dict(xe_weight=-1), 'xe_weight must be >= 0'),
        (dict(discriminability_weight=float('nan')), 'must be >= 0'),
    ],
)
def test_bad_objective_config_is_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_captioner('opt', objective=dict(type='SCSTObjective', **kwargs))


# Training steps ---------------------------------------------------------


def scst_train_step(captioner, steps=2, autocast=None):
    captioner.train()
    captioner.objective.set_reward(record_reward())
    wrapper = OptimWrapper(torch.optim.AdamW(trainable(captioner), lr=1e-2))
    data = dict(
        inputs=[
            torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
            for _ in range(2)
        ],
        data_samples=samples_for(
            ['v0', 'v1'], ['a red circle', 'a blue square']
        ),
    )
    logs = []
    for _ in range(steps):
        if autocast is None:
            logs.append(captioner.train_step(data, wrapper))
        else:
            with torch.autocast('cpu', dtype=autocast):
                logs.append(captioner.train_step(data, wrapper))
    return logs


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def moved(before, after):
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_scst_step_trains_only_the_trained_parts(llm_kind):
    captioner = scst_captioner(llm_kind)
    before = state(captioner)
    logs = scst_train_step(captioner)
    assert torch.isfinite(logs[-1]['loss'])
    assert {'reward_mean', 'baseline_mean', 'advantage_std'} <= set(logs[-1])
    changed = moved(before, state(captioner))
    assert changed and all(k.startswith('neck.') for k in changed)
    assert not captioner.backbone.vision_model.training
    assert not any(m.training for m in captioner.head.language_model.modules())


def test_scst_step_with_lora_trains_adapters_only():
    captioner = scst_captioner('t5', parts=dict(head=dict(lora=LORA)))
    before = state(captioner)
    scst_train_step(captioner)
    changed = moved(before, state(captioner))
    llm = {k for k in changed if k.startswith('head.')}
    assert llm and all('lora_' in k for k in llm)
    assert not any(k.startswith('backbone.') for k in changed)


def test_scst_step_under_bf16_autocast_with_a_bf16_llm():
    captioner = scst_captioner(
        't5',
        parts=dict(
            backbone=dict(dtype='bfloat16'), head=dict(dtype='bfloat16')
        ),
    )
    before = state(captioner)
    logs = scst_train_step(captioner, steps=1, autocast=torch.bfloat16)
    assert torch.isfinite(logs[0]['loss'])
    changed = moved(before, state(captioner))
    assert changed and all(k.startswith('neck.') for k in changed)
    assert captioner.head.language_model.dtype == torch.bfloat16
