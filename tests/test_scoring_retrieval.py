"""Recall@K, MdR and MnR (vidret.scoring.retrieval_metrics)."""

from __future__ import annotations

import statistics

import numpy as np

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidret.benchmarks import RETRIEVAL_METRICS
from vidret.scoring import retrieval_metrics

# ---------------------------------------------------------------- hand-worked cases


def test_from_ranks_hand_worked():
    # ranks 1, 3, 12 and one failed query (rank gallery_size + 1 = 21):
    # R@1 = 1/4, R@5 = 2/4, R@10 = 2/4; sorted 1, 3, 12, 21 -> MdR = (3 + 12) / 2 = 7.5;
    # MnR = (1 + 3 + 12 + 21) / 4 = 9.25.
    out = retrieval_metrics(ranks=[1, 3, 12, None], k_values=(1, 5, 10), gallery_size=20)
    assert out == {
        "R@1": 25.0,
        "R@5": 50.0,
        "R@10": 50.0,
        "MdR": 7.5,
        "MnR": 9.25,
        "num_queries": 4,
        "num_failed": 1,
    }


def test_from_full_rankings_with_several_relevant_items():
    # q0: relevant {c, a} in ranking b, a, c -> first relevant at rank 2.
    # q1: relevant {b} ranked first -> rank 1.
    # R@1 = 1/2; MdR = median(2, 1) = 1.5; MnR = 1.5.
    out = retrieval_metrics(
        rankings=[["b", "a", "c"], ["b", "c", "a"]], relevant=[["c", "a"], ["b"]], k_values=(1, 2), gallery_size=3
    )
    assert (out["R@1"], out["R@2"], out["MdR"], out["MnR"]) == (50.0, 100.0, 1.5, 1.5)


def test_complete_ranking_without_relevant_item_is_a_miss_at_gallery_size_plus_one():
    # The relevant item failed upstream and is not in the gallery of 3: rank 3 + 1 = 4.
    out = retrieval_metrics(rankings=[["a", "b", "c"], ["a", "b", "c"]], relevant=[["zz"], ["a"]], k_values=(1,), gallery_size=3)
    assert (out["R@1"], out["MdR"], out["MnR"], out["num_failed"]) == (50.0, 2.5, 2.5, 0)


def test_empty_ranking_is_a_failed_query():
    # Failed query enters at rank gallery_size + 1 = 6: MnR = (1 + 6) / 2 = 3.5.
    out = retrieval_metrics(rankings=[["a"], []], relevant=[["a"], ["a"]], k_values=(1,), gallery_size=5)
    assert (out["R@1"], out["MnR"], out["num_failed"]) == (50.0, 3.5, 1)


def test_truncated_ranking_gives_exact_recall_but_no_rank_statistics():
    # q1's top-2 list has no relevant id: R@1 and R@2 are decided (misses), its rank is not.
    out = retrieval_metrics(rankings=[["a", "b"], ["a", "b"]], relevant=[["a"], ["z"]], k_values=(1, 2))
    assert (out["R@1"], out["R@2"]) == (50.0, 50.0)
    assert out["MdR"] is None and out["MnR"] is None


def test_truncated_ranking_with_hits_keeps_exact_ranks():
    # A hit inside a truncated list is the exact rank (the list is a prefix of the full ranking).
    out = retrieval_metrics(rankings=[["x", "a"], ["b"]], relevant=[["a"], ["b"]], k_values=(1,))
    assert (out["MdR"], out["MnR"]) == (1.5, 1.5)


def test_default_keys_match_benchmark_spec():
    out = retrieval_metrics(ranks=[1, 2])
    assert [k for k in out if k not in ("num_queries", "num_failed")] == list(RETRIEVAL_METRICS)


# ---------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda g: st.tuples(
            st.just(g),
            st.lists(st.one_of(st.none(), st.integers(1, g)), min_size=1, max_size=30),
            st.lists(st.integers(1, 45), min_size=1, max_size=4),
        )
    )
)
def test_ranks_match_plain_python_reference(case):
    gallery_size, ranks, ks = case
    out = retrieval_metrics(ranks=ranks, k_values=ks, gallery_size=gallery_size)
    filled = [gallery_size + 1 if r is None else r for r in ranks]
    for k in ks:
        # A failed query (None) is a miss for every K, even K > gallery_size.
        assert out[f"R@{k}"] == pytest.approx(100 * sum(r is not None and r <= k for r in ranks) / len(ranks))
    assert out["MdR"] == pytest.approx(statistics.median(filled))
    assert out["MnR"] == pytest.approx(statistics.fmean(filled))
    assert out["num_failed"] == ranks.count(None)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.permutations(list("abcdefgh")), st.sets(st.sampled_from(list("abcdefgh")), min_size=1, max_size=3)),
        min_size=1,
        max_size=10,
    )
)
def test_rankings_and_ranks_agree(queries):
    rankings = [list(r) for r, _ in queries]
    relevant = [sorted(s) for _, s in queries]
    ranks = [next(p for p, x in enumerate(r, 1) if x in s) for r, s in zip(rankings, relevant)]
    by_rankings = retrieval_metrics(rankings=rankings, relevant=relevant, k_values=(1, 3), gallery_size=8)
    assert by_rankings == retrieval_metrics(ranks=ranks, k_values=(1, 3), gallery_size=8)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "either rankings .* or ranks"),
        ({"rankings": [["a"]], "relevant": [["a"]], "ranks": [1]}, ValueError, "either rankings"),
        ({"rankings": [["a"]]}, ValueError, "rankings need relevant"),
        ({"ranks": [1], "relevant": [["a"]]}, ValueError, "relevant is only used with rankings"),
        ({"ranks": []}, ValueError, "no queries"),
        ({"ranks": [1, 0]}, ValueError, "rank of query 1 must be >= 1"),
        ({"ranks": [1.5]}, TypeError, "rank of query 0 must be an int"),
        ({"ranks": [4], "gallery_size": 3}, ValueError, "rank of query 0 is 4, beyond gallery_size=3"),
        ({"ranks": [1, None]}, ValueError, "query 1 failed .* pass gallery_size"),
        ({"rankings": [["a"], []], "relevant": [["a"], ["a"]]}, ValueError, "query 1 failed"),
        ({"rankings": [["a"]], "relevant": [["a"], ["b"]]}, ValueError, "one entry per query"),
        ({"rankings": [["a"]], "relevant": [[]]}, ValueError, "query 0 has no relevant item"),
        ({"rankings": [["a", "a"]], "relevant": [["a"]]}, ValueError, "more than once"),
        ({"rankings": [["a", "b"]], "relevant": [["a"]], "gallery_size": 1}, ValueError, "more than gallery_size=1"),
        ({"rankings": [["a", "b"]], "relevant": [["z"]], "k_values": (5,)}, ValueError, "R@5 cannot be decided"),
        ({"rankings": ["ab"], "relevant": [["a"]]}, TypeError, "single string"),
        ({"ranks": [1], "k_values": (0,)}, ValueError, "k_values entry must be >= 1"),
        ({"ranks": [1], "gallery_size": 0}, ValueError, "gallery_size must be >= 1"),
    ],
)
def test_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        retrieval_metrics(**kwargs)


# ---------------------------------------------------------------- regressions


def test_misses_never_count_as_hits_when_k_exceeds_the_gallery():
    # Gallery of 3, K = 5. q0's relevant item is at rank 2: a hit. q1 failed ([] / None): it
    # enters MdR/MnR as rank 3 + 1 = 4, but 4 <= 5 must not make it a hit in R@5.
    # R@5 = 1/2 = 50; MdR = MnR = (2 + 4) / 2 = 3.
    by_ranks = retrieval_metrics(ranks=[2, None], k_values=(1, 5), gallery_size=3)
    assert (by_ranks["R@1"], by_ranks["R@5"], by_ranks["MdR"], by_ranks["MnR"]) == (0.0, 50.0, 3.0, 3.0)
    by_rankings = retrieval_metrics(rankings=[["a", "b", "c"], []], relevant=[["b"], ["a"]], k_values=(1, 5), gallery_size=3)
    assert by_rankings == by_ranks
    # A complete ranking without any relevant item is a miss too, whatever K is.
    out = retrieval_metrics(rankings=[["a", "b", "c"]], relevant=[["zz"]], k_values=(50,), gallery_size=3)
    assert (out["R@50"], out["MdR"]) == (0.0, 4.0)


def test_integer_scalars_are_accepted_as_ranks_and_cut_offs():
    # numpy ranks (e.g. from argsort) and numpy cut-offs are ints; floats and bools still are not.
    out = retrieval_metrics(ranks=np.array([1, 3]), k_values=np.array([1, 5]), gallery_size=np.int64(4))
    assert out == retrieval_metrics(ranks=[1, 3], k_values=(1, 5), gallery_size=4)
    assert isinstance(out["MdR"], float)
    with pytest.raises(TypeError, match="rank of query 0 must be an int"):
        retrieval_metrics(ranks=[np.float64(1.0)])
    with pytest.raises(TypeError, match="gallery_size must be an int"):
        retrieval_metrics(ranks=[1], gallery_size=True)


def test_docstring_example_runs():
    import doctest

    import vidret.scoring.retrieval as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
