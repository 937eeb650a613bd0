"""The official TF-CoVR definition of composed_map (count_repeats=True, decimals=2: what the
official protocol's rules declare), rule by rule.

Each hand-worked case spells out its arithmetic. `official_reference` is an independent
transcription of what the TF-CoVR evaluation code computes (per query: hit labels over the
retrieved list as it is, precision = cumsum(labels) * labels / rank, AP@K = sum of the first K
precisions / min(len(listed targets), K), recall = number of designated copies in the top K;
then round(mean * 100, 2)).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidret.scoring import composed_map

KS = (5, 10, 25, 50)


def official(rankings, targets, designated, ks=(5,), rks=(5,)):
    return composed_map(
        rankings, targets, k_values=ks, recall_k_values=rks, count_repeats=True, decimals=2, designated_targets=designated
    )


def official_reference(rankings, targets, designated, ks, rks):
    aps = {k: [] for k in ks}
    recalls = {k: [] for k in rks}
    for ranking, listed, target in zip(rankings, targets, designated):
        ranking = list(ranking)[: max(ks + rks)]
        hits, precision = 0, []
        for rank, item in enumerate(ranking, start=1):
            hit = item in set(listed)
            hits += hit
            precision.append(hits / rank if hit else 0.0)
        for k in ks:
            aps[k].append(sum(precision[:k]) / min(len(listed), k))
        for k in rks:
            recalls[k].append(sum(1 for item in ranking[:k] if item == target))
    out = {f"mAP@{k}": round(sum(v) / len(v) * 100, 2) for k, v in aps.items()}
    out.update({f"R@{k}": round(sum(v) / len(v) * 100, 2) for k, v in recalls.items()})
    return out


# ---------------------------------------------------------------- hand-worked cases


def test_duplicate_gallery_hits_each_count_and_ap_exceeds_one():
    # Targets [a, b]; the gallery lists a twice (two test rows name it). Ranking a, a, x, b:
    # hits at 1, 2, 4 -> P = 1/1, 2/2, 3/4; AP@5 = (1 + 1 + 0.75) / min(2, 5) = 1.375 -> 137.5.
    out = official([["a", "a", "x", "b"]], [["a", "b"]], ["b"])
    assert out["mAP@5"] == 137.5
    # The default protocol refuses the repeated id: it would be counted twice.
    with pytest.raises(ValueError, match="more than once"):
        composed_map([["a", "a", "x", "b"]], [["a", "b"]], k_values=(5,), recall_k_values=(5,))


def test_listed_targets_count_as_written():
    # target_videos_ids [a, a, b] (a written twice): official |G| = 3, ours |G| = |{a, b}| = 2.
    # Ranking a, b: P(1) = 1, P(2) = 1. Official AP@5 = 2 / min(3, 5) = 0.6667 -> 66.67;
    # ours AP@5 = 2 / min(2, 5) = 1 -> 100.
    assert official([["a", "b"]], [["a", "a", "b"]], ["a"])["mAP@5"] == 66.67
    assert composed_map([["a", "b"]], [["a", "a", "b"]], k_values=(5,))["mAP@5"] == 100.0


def test_designated_recall_counts_copies_of_the_row_target_only():
    # Query 1: designated a, two copies in the top 5 -> 2. Query 2: designated c is a valid target
    # but ranked 6th -> 0 at K = 5, 1 at K = 10, although the valid target b is ranked first.
    # R@5 = mean(2, 0) = 1 -> 100.0; R@10 = mean(2, 1) = 1.5 -> 150.0.
    rankings = [["x", "a", "a", "y", "z"], ["b", "x", "y", "z", "w", "c"]]
    out = official(rankings, [["a"], ["b", "c"]], ["a", "c"], ks=(5,), rks=(5, 10))
    assert (out["R@5"], out["R@10"]) == (100.0, 150.0)
    # With designated targets, our protocol asks whether it is in the top K (each id once):
    # query 1 has a at rank 2 -> 1, query 2 has c at rank 6 -> 0; R@5 = (1 + 0) / 2 -> 50.0.
    ours_rankings = [["x", "a", "y", "z", "w"], rankings[1]]
    ours = composed_map(ours_rankings, [["a"], ["b", "c"]], k_values=(5,), recall_k_values=(5,), designated_targets=["a", "c"])
    assert ours["R@5"] == 50.0


def test_values_are_rounded_like_the_official_code():
    # One hit at rank 3 of |G| = 1: AP@5 = 1/3 -> round(33.333..., 2) = 33.33; ours unrounded.
    assert official([["x", "y", "a"]], [["a"]], ["a"])["mAP@5"] == 33.33
    assert composed_map([["x", "y", "a"]], [["a"]], k_values=(5,))["mAP@5"] == pytest.approx(100 / 3)


def test_a_short_ranking_is_not_padded():
    # A 3-item gallery: the retrieved list has 3 entries; AP@50 sums those only.
    # Hits at 1 and 3 of |G| = 2: (1 + 2/3) / min(2, 50) = 0.8333 -> 83.33.
    assert official([["a", "x", "b"]], [["a", "b"]], ["a"], ks=(50,), rks=(50,)) == {
        "mAP@50": 83.33, "R@50": 100.0, "num_queries": 1, "num_failed": 0,
    }


def test_failed_query_is_a_miss_in_both_protocols():
    # Query 2 failed upstream (empty ranking): AP = 0, recall 0. mAP@5 = (1 + 0) / 2 -> 50.
    out = official([["a"], []], [["a"], ["b"]], ["a", "b"])
    assert out["mAP@5"] == 50.0 and out["R@5"] == 50.0 and out["num_failed"] == 1


def test_official_errors():
    with pytest.raises(ValueError, match="count_repeats needs designated_targets"):
        composed_map([["a"]], [["a"]], count_repeats=True)
    with pytest.raises(ValueError, match="decimals must be an integer >= 0"):
        composed_map([["a"]], [["a"]], decimals=-1)
    with pytest.raises(TypeError, match="protocol"):  # a protocol's name no longer reaches the kernel
        composed_map([["a"]], [["a"]], protocol="official")
    with pytest.raises(ValueError, match="one id per query"):
        official([["a"]], [["a"]], ["a", "b"])
    with pytest.raises(TypeError, match="single string"):
        official([["a"]], [["a"]], "a")
    with pytest.raises(ValueError, match="no valid target"):
        official([["a"]], [[]], ["a"])


# ---------------------------------------------------------------- properties

ids = st.sampled_from("abcdefghij")


@st.composite
def official_cases(draw):
    n = draw(st.integers(1, 6))
    rankings = [draw(st.lists(ids, max_size=60)) for _ in range(n)]  # repeats allowed
    targets = [draw(st.lists(ids, min_size=1, max_size=5)) for _ in range(n)]  # repeats allowed
    designated = [draw(st.sampled_from(t)) for t in targets]
    return rankings, targets, designated


@settings(max_examples=150, deadline=None)
@given(official_cases())
def test_official_equals_an_independent_transcription(case):
    rankings, targets, designated = case
    out = official(rankings, targets, designated, ks=KS, rks=KS)
    expected = official_reference(rankings, targets, designated, KS, KS)
    for name, value in expected.items():
        assert out[name] == pytest.approx(value, abs=1e-9), name


@st.composite
def duplicate_free_cases(draw):
    n = draw(st.integers(1, 6))
    gallery = list("abcdefghijklmnopqrstuvwxyz")
    rankings = [draw(st.permutations(gallery)) for _ in range(n)]
    targets = [[draw(st.sampled_from(gallery))] for _ in range(n)]
    return rankings, targets


@settings(max_examples=150, deadline=None)
@given(duplicate_free_cases())
def test_protocols_agree_without_duplicates_and_with_one_target(case):
    # No repeated gallery id and one target per query (so the designated one): the two
    # definitions are the same numbers, up to the official rounding to 2 decimals.
    rankings, targets = case
    designated = [t[0] for t in targets]
    ours = composed_map(rankings, targets, k_values=KS, recall_k_values=KS)
    theirs = official(rankings, targets, designated, ks=KS, rks=KS)
    for name in [f"mAP@{k}" for k in KS] + [f"R@{k}" for k in KS]:
        assert abs(theirs[name] - ours[name]) <= 0.005 + 1e-9, name
