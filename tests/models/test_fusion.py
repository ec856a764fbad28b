"""Frame fusion: one Q-Former pass over all frames, or one per frame."""

import torch

from tests.helpers import build_captioner

NUM_FRAMES = 3


def qformer_calls(captioner, video):
    """Run the captioner's features and record each Q-Former call's
    (visual input shape, output shape)."""
    calls = []

    def hook(module, args, kwargs, output):
        calls.append(
            (
                tuple(kwargs['encoder_hidden_states'].shape),
                tuple(output.last_hidden_state.shape),
            )
        )

    handle = captioner.neck.qformer.register_forward_hook(
        hook, with_kwargs=True
    )
    try:
        with torch.no_grad():
            feats = captioner.extract_feat(video)
    finally:
        handle.remove()
    return feats, calls


def test_concat_fusion_one_qformer_pass():
    captioner = build_captioner('opt').eval()
    video = torch.randn(2, NUM_FRAMES, 3, 32, 32)
    feats, calls = qformer_calls(captioner, video)
    patches = 1 + (32 // 8) ** 2  # class token + 4 x 4 patches
    assert calls == [((2, NUM_FRAMES * patches, 32), (2, 8, 32))]
    assert feats.shape == (2, 8, 32)  # num_query_tokens whatever T is
    assert captioner.neck.num_output_tokens(NUM_FRAMES) == 8


def test_per_frame_fusion_is_one_line_away():
    captioner = build_captioner('opt', neck=dict(fusion='per_frame')).eval()
    video = torch.randn(2, NUM_FRAMES, 3, 32, 32)
    feats, calls = qformer_calls(captioner, video)
    assert calls == [((2 * NUM_FRAMES, 17, 32), (2 * NUM_FRAMES, 8, 32))]
    assert feats.shape == (2, NUM_FRAMES * 8, 32)
    # Frame t's tokens are exactly that frame's image BLIP-2 tokens.
    for t in range(NUM_FRAMES):
        with torch.no_grad():
            single = captioner.extract_feat(video[:, t : t + 1])
        torch.testing.assert_close(
            feats[:, t * 8 : (t + 1) * 8], single, rtol=0, atol=1e-6
        )


def test_concat_fusion_ignores_frame_order():
    """No temporal embedding: shuffling frames changes nothing but float
    summation order."""
    captioner = build_captioner('t5').eval()
    video = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        feats = captioner.extract_feat(video)
        shuffled = captioner.extract_feat(video[:, [2, 0, 3, 1]])
        other = captioner.extract_feat(torch.randn(1, 4, 3, 32, 32))
    torch.testing.assert_close(feats, shuffled, rtol=0, atol=1e-5)
    # A random tiny ViT separates clips only weakly, but well above the
    # rounding noise allowed above.
    assert (feats - other).abs().max().item() > 1e-4


def test_concat_differs_from_mean_of_frames():
    """All frames' tokens reach the queries together: the result is not any
    single frame's image tokens."""
    captioner = build_captioner('opt').eval()
    video = torch.randn(1, 2, 3, 32, 32)
    with torch.no_grad():
        both = captioner.extract_feat(video)
        first = captioner.extract_feat(video[:, :1])
    assert not torch.allclose(both, first, atol=1e-4)


def test_frame_mean_at_evaluation_and_concat_in_training():
    # The seed's Vicuna: trained on one pass over all frames, captioning
    # with the mean over frames of each frame's projected tokens.
    captioner = build_captioner('opt', neck=dict(eval_fusion='frame_mean'))
    video = torch.randn(2, NUM_FRAMES, 3, 32, 32)
    captioner.eval()
    feats, calls = qformer_calls(captioner, video)
    assert calls == [((2 * NUM_FRAMES, 17, 32), (2 * NUM_FRAMES, 8, 32))]
    with torch.no_grad():
        frames = [
            captioner.extract_feat(video[:, t : t + 1])
            for t in range(NUM_FRAMES)
        ]
    expected = torch.stack(frames).mean(dim=0)
    torch.testing.assert_close(feats, expected, rtol=0, atol=1e-6)
    assert captioner.neck.num_output_tokens(NUM_FRAMES) == 8
    captioner.train()
    _, calls = qformer_calls(captioner, video)
    assert calls == [((2, NUM_FRAMES * 17, 32), (2, 8, 32))]


def test_unknown_eval_fusion_is_refused():
    import pytest

    with pytest.raises(ValueError, match="Unknown fusion 'mean'"):
        build_captioner('opt', neck=dict(eval_fusion='mean'))
