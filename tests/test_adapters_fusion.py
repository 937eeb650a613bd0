"""Fusion of composed queries and long-video segment aggregation (pure functions)."""

from __future__ import annotations

import pytest
import torch

from vidret.adapters import aggregate_segments, fuse, l2_normalize, parse_fusion


def _unit(*rows):
    return l2_normalize(torch.tensor(rows, dtype=torch.float32))


def test_avg_is_normalised_mean_of_normalised_inputs():
    v = torch.tensor([[3.0, 0.0]])  # norms differ: each side must be normalised first
    t = torch.tensor([[0.0, 0.5]])
    out = fuse(v, t, "avg")
    torch.testing.assert_close(out, _unit([1.0, 1.0]))


def test_sum_ranks_like_avg_and_is_unit_norm():
    v, t = torch.randn(5, 8), torch.randn(5, 8)
    torch.testing.assert_close(fuse(v, t, "sum"), fuse(v, t, "avg"))
    torch.testing.assert_close(fuse(v, t, "sum").norm(dim=1), torch.ones(5))


def test_weighted_alpha_weights_the_video_side():
    v = torch.tensor([[1.0, 0.0]])
    t = torch.tensor([[0.0, 1.0]])
    torch.testing.assert_close(fuse(v, t, "weighted:0.75"), _unit([0.75, 0.25]))
    torch.testing.assert_close(fuse(v, t, "weighted:1"), _unit([1.0, 0.0]))
    torch.testing.assert_close(fuse(v, t, "weighted:0"), _unit([0.0, 1.0]))
    torch.testing.assert_close(fuse(v, t, "weighted:0.5"), fuse(v, t, "avg"))


def test_single_modality_fusions():
    v, t = torch.randn(3, 4), torch.randn(3, 4)
    torch.testing.assert_close(fuse(v, t, "text"), l2_normalize(t))
    torch.testing.assert_close(fuse(v, t, "video"), l2_normalize(v))


def test_fusion_name_is_case_and_space_tolerant():
    assert parse_fusion(" AVG ") == ("avg", None)
    assert parse_fusion("weighted:0.3") == ("weighted", 0.3)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("concat", "unknown fusion 'concat'; choose one of avg, sum, weighted:<alpha>, text, video"),
        ("weighted:x", "must be a number in [0, 1]"),
        ("weighted:1.5", "0 <= alpha <= 1"),
        ("weighted:-0.1", "0 <= alpha <= 1"),
        ("weighted:nan", "0 <= alpha <= 1"),
        (None, "fusion must be a string"),
    ],
)
def test_bad_fusion_raises_with_choices(bad, message):
    with pytest.raises(ValueError) as err:
        fuse(torch.ones(1, 2), torch.ones(1, 2), bad)
    assert message in str(err.value)


@pytest.mark.parametrize("shapes", [((2, 4), (3, 4)), ((2, 4), (2, 5)), ((4,), (4,))])
def test_fuse_rejects_mismatched_shapes(shapes):
    with pytest.raises(ValueError, match="same shape"):
        fuse(torch.ones(*shapes[0]), torch.ones(*shapes[1]), "avg")


def test_aggregate_mean_and_max():
    segs = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    torch.testing.assert_close(aggregate_segments(segs, "mean"), _unit([1.0, 1.0, 0.0])[0])
    segs = torch.tensor([[1.0, -1.0], [-1.0, 0.5]])
    expected = l2_normalize(torch.maximum(l2_normalize(segs[0]), l2_normalize(segs[1])))
    torch.testing.assert_close(aggregate_segments(segs, "max"), expected)
    one = torch.tensor([[0.0, 5.0]])
    torch.testing.assert_close(aggregate_segments(one), torch.tensor([0.0, 1.0]))


def test_aggregate_errors():
    with pytest.raises(ValueError, match="choose one of mean, max"):
        aggregate_segments(torch.ones(2, 3), "median")
    with pytest.raises(ValueError, match="non-empty"):
        aggregate_segments(torch.ones(0, 3))
    with pytest.raises(ValueError, match="non-empty"):
        aggregate_segments(torch.ones(3))


def test_zero_vector_normalises_to_zero_not_nan():
    out = l2_normalize(torch.zeros(1, 3))
    assert torch.equal(out, torch.zeros(1, 3))
