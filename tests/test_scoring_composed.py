"""CIRCO / TF-CoVR mAP@K and Recall@K (vidret.scoring.composed_map)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidret.benchmarks import COMPOSED_METRICS
from vidret.scoring import composed_map


def reference_ap_at_k(ranking: list[str], targets: set[str], k: int) -> float:
    """AP@K = (1 / min(|G|, K)) * sum_{i<=K} P(i) rel(i), written straight from the definition (TF-CoVR arXiv 2506.05274, CIRCO arXiv 2303.15247)."""
    total, hits = 0.0, 0
    for i, item in enumerate(ranking[:k], start=1):
        if item in targets:
            hits += 1
            total += hits / i
    return total / min(len(targets), k)


def one(ranking, targets, k):
    return composed_map([ranking], [targets], k_values=(k,), recall_k_values=(k,))


# ---------------------------------------------------------------- hand-worked cases


def test_design_md_example_ap_at_5_is_0_30():
    # G = {a, b, c}; a at rank 2, b at rank 5, c never retrieved.
    # P(2) = 1/2, P(5) = 2/5; AP@5 = (0.5 + 0.4) / min(3, 5) = 0.9 / 3 = 0.30.
    out = one(["x", "a", "y", "z", "b"], ["a", "b", "c"], 5)
    assert out["mAP@5"] == pytest.approx(30.0)
    assert out["R@5"] == 100.0


def test_more_targets_than_k():
    # |G| = 4 > K = 2; ranking a, x: P(1) = 1 -> AP@2 = 1 / min(4, 2) = 0.5.
    assert one(["a", "x", "b"], ["a", "b", "c", "d"], 2)["mAP@2"] == pytest.approx(50.0)


def test_fewer_targets_than_k():
    # |G| = 1 < K = 5; hit at rank 3: P(3) = 1/3 -> AP@5 = (1/3) / min(1, 5) = 1/3.
    assert one(["x", "y", "a", "z", "w"], ["a"], 5)["mAP@5"] == pytest.approx(100 / 3)


def test_no_hit_scores_zero():
    out = one(["x", "y", "z"], ["a", "b"], 3)
    assert out["mAP@3"] == 0.0 and out["R@3"] == 0.0


def test_hit_exactly_at_k_counts_and_one_past_does_not():
    # Hit at rank 4 with K = 4: P(4) = 1/4, AP@4 = (1/4) / min(1, 4) = 0.25.
    ranking = ["x", "y", "z", "a"]
    assert one(ranking, ["a"], 4)["mAP@4"] == pytest.approx(25.0)
    assert one(ranking, ["a"], 4)["R@4"] == 100.0
    assert one(ranking, ["a"], 3)["mAP@3"] == 0.0
    assert one(ranking, ["a"], 3)["R@3"] == 0.0


def test_targets_missing_from_gallery_still_count_in_g():
    # "ghost" is not in the gallery, so it can never be ranked, yet |G| = 2:
    # a at rank 1 -> AP@5 = 1 / min(2, 5) = 0.5 (not 1.0).
    assert one(["a", "x", "y"], ["a", "ghost"], 5)["mAP@5"] == pytest.approx(50.0)


def test_perfect_ranking_scores_100():
    # a, b, c at ranks 1-3: P = 1, 1, 1 -> AP@5 = 3 / min(3, 5) = 1.
    assert one(["a", "b", "c", "x", "y"], ["c", "a", "b"], 5)["mAP@5"] == pytest.approx(100.0)


def test_duplicate_targets_are_merged():
    # references may repeat an id (the official gallery does); G = {a}: AP@2 = 1 / min(1, 2) = 1.
    assert one(["a", "x"], ["a", "a"], 2)["mAP@2"] == pytest.approx(100.0)


def test_mean_over_queries_and_failed_queries():
    # q0: AP@5 = 0.30 (the composed_map card's worked example); q1: a at rank 1, |G| = 1 -> 1.0; q2 failed ([]) -> 0.
    # mAP@5 = (0.30 + 1.0 + 0) / 3 = 0.4333...; R@1 = 1/3 (only q1 has a target at rank 1).
    out = composed_map(
        [["x", "a", "y", "z", "b"], ["a"], []],
        [["a", "b", "c"], ["a"], ["a"]],
        k_values=(5,),
        recall_k_values=(1, 5),
    )
    assert out["mAP@5"] == pytest.approx(100 * 1.3 / 3)
    assert out["R@1"] == pytest.approx(100 / 3)
    assert out["R@5"] == pytest.approx(200 / 3)
    assert (out["num_queries"], out["num_failed"]) == (3, 1)


def test_default_keys_match_benchmark_spec():
    out = composed_map([["a"]], [["a"]])
    assert [k for k in out if k not in ("num_queries", "num_failed")] == list(COMPOSED_METRICS)


def test_only_the_top_max_k_matter():
    long = [f"n{i}" for i in range(60)] + ["a"]  # a at rank 61 > 50
    out = composed_map([long], [["a"]])
    assert out["mAP@50"] == 0.0 and out["R@50"] == 0.0


# ---------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.permutations([f"g{i}" for i in range(15)]).flatmap(lambda p: st.integers(0, 15).map(lambda n: p[:n])),
            st.sets(st.sampled_from([f"g{i}" for i in range(18)]), min_size=1, max_size=6),
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.integers(1, 20), min_size=1, max_size=4),
)
def test_matches_plain_python_reference(queries, ks):
    rankings = [r for r, _ in queries]
    targets = [sorted(t) for _, t in queries]
    out = composed_map(rankings, targets, k_values=ks, recall_k_values=ks)
    for k in ks:
        expected_map = sum(reference_ap_at_k(r, set(t), k) for r, t in zip(rankings, targets)) / len(queries)
        expected_recall = sum(any(x in t for x in r[:k]) for r, t in zip(rankings, targets)) / len(queries)
        assert out[f"mAP@{k}"] == pytest.approx(100 * expected_map)
        assert out[f"R@{k}"] == pytest.approx(100 * expected_recall)
        assert 0.0 <= out[f"mAP@{k}"] <= 100.0
    assert out["num_failed"] == sum(not r for r in rankings)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([["a"]], [["a"], ["b"]]), {}, ValueError, "one entry per query: got 1 and 2"),
        (([], []), {}, ValueError, "no queries"),
        (([["a"]], [[]]), {}, ValueError, "query 0 has no valid target"),
        (([["a", "b", "a"]], [["a"]]), {}, ValueError, "lists 'a' more than once"),
        (([["a"]], ["a"]), {}, TypeError, "single string"),
        ((["ab"], [["a"]]), {}, TypeError, "single string"),
        (([["a"]], [5]), {}, TypeError, "must be a list of ids"),
        (([["a"]], [["a"]]), {"k_values": (5, 0)}, ValueError, "k_values entry must be >= 1"),
        (([["a"]], [["a"]]), {"k_values": ()}, ValueError, "k_values must not be empty"),
        (([["a"]], [["a"]]), {"k_values": 5}, TypeError, "sequence of ints"),
        (([["a"]], [["a"]]), {"recall_k_values": (2.5,)}, TypeError, "recall_k_values entry must be an int"),
    ],
)
def test_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        composed_map(*args, **kwargs)


def test_docstring_example_runs():
    import doctest

    import vidret.scoring.composed as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
