"""Rankings from scores/embeddings and exact first-relevant ranks (vidret.scoring.ranking)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vidret.scoring import first_relevant_ranks, rank_from_embeddings, rank_from_scores


def reference_ranking(row: list[float], excluded: set[int] = frozenset()) -> list[int]:
    """Plain-Python definition: higher score first, equal scores by lower gallery index."""
    return sorted((j for j in range(len(row)) if j not in excluded), key=lambda j: (-row[j], j))


def ids(n: int) -> list[str]:
    return [f"g{j}" for j in range(n)]


# Unit vectors with exactly representable entries (+-0.5 in 4-d): normalisation is exact and
# every dot product is one of -1, -0.5, 0, 0.5, 1, so results are exact and full of ties.
HALF_SIGNS = torch.tensor(
    [[(1 if (m >> b) & 1 else -1) * 0.5 for b in range(4)] for m in range(16)], dtype=torch.float32
)


def exact_unit_vectors(picks: list[int]) -> torch.Tensor:
    return HALF_SIGNS[picks]


# ---------------------------------------------------------------- rank_from_scores: tie rule


def test_ties_are_broken_by_lower_gallery_index():
    scores = torch.tensor([[1.0, 3.0, 3.0, 2.0, 3.0]])
    # scores 3 at indices 1, 2, 4 tie; lower index first: 1, 2, 4, then 3 (score 2), then 0.
    assert rank_from_scores(scores, ids(5), k=2) == [["g1", "g2"]]
    assert rank_from_scores(scores, ids(5), k=4) == [["g1", "g2", "g4", "g3"]]
    assert rank_from_scores(scores, ids(5), k=5) == [["g1", "g2", "g4", "g3", "g0"]]


def test_all_equal_scores_rank_in_gallery_order():
    # A row where every value ties at the k-th place: topk alone may pick any of them.
    scores = torch.zeros(3, 1000)
    assert rank_from_scores(scores, ids(1000), k=7) == [ids(7)] * 3


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda q: st.integers(1, 40).flatmap(
            lambda g: st.tuples(
                st.lists(st.lists(st.integers(-3, 3), min_size=g, max_size=g), min_size=q, max_size=q),
                st.integers(1, 45),
                st.integers(1, 4),
            )
        )
    )
)
def test_rank_from_scores_matches_reference_on_tie_heavy_scores(case):
    rows, k, chunk = case
    scores = torch.tensor(rows, dtype=torch.float32)
    got = rank_from_scores(scores, ids(scores.shape[1]), k=k, chunk_size=chunk)
    expected = [[f"g{j}" for j in reference_ranking(row)[:k]] for row in rows]
    assert got == expected


def test_distinct_random_scores_follow_sort_order():
    torch.manual_seed(0)
    scores = torch.randn(50, 300, dtype=torch.float64)
    got = rank_from_scores(scores, ids(300), k=20, chunk_size=7)
    expected = [[f"g{j}" for j in row] for row in torch.argsort(scores, dim=1, descending=True)[:, :20].tolist()]
    assert got == expected


def test_chunked_equals_unchunked():
    torch.manual_seed(1)
    scores = torch.randint(0, 5, (37, 64)).float()  # many ties
    whole = rank_from_scores(scores, ids(64), k=10, chunk_size=37)
    for chunk in (1, 2, 5, 36, 100):
        assert rank_from_scores(scores, ids(64), k=10, chunk_size=chunk) == whole


def test_k_larger_than_gallery_returns_whole_gallery():
    assert rank_from_scores(torch.tensor([[0.1, 0.3]]), ["a", "b"], k=10) == [["b", "a"]]


def test_numpy_and_integer_inputs_are_accepted():
    import numpy as np

    assert rank_from_scores(np.array([[1, 5, 5]]), ["a", "b", "c"], k=2) == [["b", "c"]]


def test_huge_finite_scores_are_not_mistaken_for_inf():
    # The row sum overflows to inf, but every value is finite: no error.
    scores = torch.tensor([[3e38, 3e38, 1.0]], dtype=torch.float32)
    assert rank_from_scores(scores, ["a", "b", "c"], k=3) == [["a", "b", "c"]]


# ---------------------------------------------------------------- exclusion


def test_exclusion_removes_ids_and_leaves_input_untouched():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.4]])
    before = scores.clone()
    got = rank_from_scores(scores, ["a", "b", "c", "d"], k=2, exclude=[["a"], ["d", "not-in-gallery"]])
    assert got == [["b", "c"], ["c", "b"]]
    assert torch.equal(scores, before)


def test_exclusion_can_leave_fewer_than_k_items():
    got = rank_from_scores(torch.tensor([[0.5, 0.2, 0.9]]), ["a", "b", "c"], k=3, exclude=[{"c", "a"}])
    assert got == [["b"]]


def test_exclusion_entries_may_be_none_or_empty():
    scores = torch.tensor([[0.5, 0.2], [0.5, 0.2]])
    assert rank_from_scores(scores, ["a", "b"], k=1, exclude=[None, []]) == [["a"], ["a"]]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 30).flatmap(
        lambda g: st.tuples(
            st.lists(st.lists(st.integers(-2, 2), min_size=g, max_size=g), min_size=1, max_size=5),
            st.lists(st.sets(st.integers(0, g - 1), max_size=4), min_size=5, max_size=5),
            st.integers(1, 30),
        )
    )
)
def test_exclusion_matches_reference(case):
    rows, excluded, k = case
    excluded = excluded[: len(rows)]
    g = len(rows[0])
    got = rank_from_scores(
        torch.tensor(rows, dtype=torch.float32), ids(g), k=k, exclude=[[f"g{j}" for j in e] for e in excluded], chunk_size=2
    )
    expected = [[f"g{j}" for j in reference_ranking(row, ex)[:k]] for row, ex in zip(rows, excluded)]
    assert got == expected


# ---------------------------------------------------------------- rank_from_embeddings


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 15), min_size=1, max_size=12),
    st.lists(st.integers(0, 15), min_size=1, max_size=30),
    st.integers(1, 35),
    st.integers(1, 5),
)
def test_embeddings_equal_scores_path_and_reference(q_picks, g_picks, k, chunk):
    q, g = exact_unit_vectors(q_picks), exact_unit_vectors(g_picks)
    gallery_ids = ids(len(g_picks))
    exclude = [[gallery_ids[i % len(g_picks)]] for i in range(len(q_picks))]
    got = rank_from_embeddings(q, g, gallery_ids, k=k, exclude=exclude, chunk_size=chunk)
    scores = q @ g.T
    assert got == rank_from_scores(scores, gallery_ids, k=k, exclude=exclude)
    expected = [
        [f"g{j}" for j in reference_ranking(row, {i % len(g_picks)})[:k]] for i, row in enumerate(scores.tolist())
    ]
    assert got == expected


def test_embeddings_are_l2_normalised_before_the_dot_product():
    # Raw dot products would prefer the long vector b; cosine prefers a (same direction as q).
    q = torch.tensor([[1.0, 0.0]])
    g = torch.tensor([[2.0, 0.0], [30.0, 40.0]])
    assert rank_from_embeddings(q, g, ["a", "b"], k=2) == [["a", "b"]]


def test_embeddings_chunked_equals_unchunked():
    torch.manual_seed(2)
    q, g = exact_unit_vectors(torch.randint(0, 16, (40,)).tolist()), exact_unit_vectors(torch.randint(0, 16, (90,)).tolist())
    whole = rank_from_embeddings(q, g, ids(90), k=25, chunk_size=40)
    assert whole == rank_from_embeddings(q, g, ids(90), k=25, chunk_size=3)
    assert whole == rank_from_embeddings(q, g, ids(90), k=25)


def test_mixed_dtypes_are_promoted():
    q = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    g = torch.tensor([[0.0, 1.0], [1.0, 0.1]], dtype=torch.float32)
    assert rank_from_embeddings(q, g, ["a", "b"], k=1) == [["b"]]


# ---------------------------------------------------------------- first_relevant_ranks


def reference_first_rank(row: list[float], relevant: set[int], excluded: set[int] = frozenset()) -> int | None:
    order = reference_ranking(row, excluded)
    return next((pos for pos, j in enumerate(order, start=1) if j in relevant), None)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 25).flatmap(
        lambda g: st.tuples(
            st.lists(st.integers(0, 15), min_size=g, max_size=g),
            st.lists(
                st.tuples(st.integers(0, 15), st.sets(st.integers(0, g - 1), min_size=1, max_size=4), st.sets(st.integers(0, g - 1), max_size=2)),
                min_size=1,
                max_size=8,
            ),
            st.integers(1, 4),
        )
    )
)
def test_first_relevant_ranks_match_full_reference(case):
    g_picks, queries, chunk = case
    q = exact_unit_vectors([p for p, _, _ in queries])
    g = exact_unit_vectors(g_picks)
    relevant = [sorted(r) for _, r, _ in queries]
    excluded = [sorted(e) for _, _, e in queries]
    got = first_relevant_ranks(q, g, relevant, exclude=excluded, chunk_size=chunk)
    scores = (q @ g.T).tolist()
    expected = [reference_first_rank(row, set(r), set(e)) for row, r, e in zip(scores, relevant, excluded)]
    assert got == expected


def test_first_relevant_rank_hand_worked():
    # q = (1, 0); gallery cosines: a 0.6, b 1.0, c 0.6, d -1.0. Full ranking: b, a, c, d.
    q = torch.tensor([[1.0, 0.0]])
    g = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.6, -0.8], [-1.0, 0.0]])
    gid = ["a", "b", "c", "d"]
    assert first_relevant_ranks(q, g, [["c"]], gallery_ids=gid) == [3]  # a ties with c and has the lower index
    assert first_relevant_ranks(q, g, [["d", "a"]], gallery_ids=gid) == [2]
    assert first_relevant_ranks(q, g, [["c"]], exclude=[["a"]], gallery_ids=gid) == [2]  # a not rankable
    assert first_relevant_ranks(q, g, [[2]]) == [3]  # indices instead of ids
    # Relevant item missing from the gallery or excluded: a miss (None), not an error.
    assert first_relevant_ranks(q, g, [["zz"]], gallery_ids=gid) == [None]
    assert first_relevant_ranks(q, g, [["b"]], exclude=[["b"]], gallery_ids=gid) == [None]


def test_first_relevant_ranks_are_not_capped_by_k():
    torch.manual_seed(3)
    g = torch.randn(500, 8, dtype=torch.float64)
    q = torch.randn(20, 8, dtype=torch.float64)
    relevant = [[int(torch.randint(0, 500, ()).item())] for _ in range(20)]
    ranks = first_relevant_ranks(q, g, relevant, chunk_size=6)
    full = rank_from_embeddings(q, g, list(range(500)), k=500)
    assert ranks == [row.index(r[0]) + 1 for row, r in zip(full, relevant)]
    assert max(ranks) > 50


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, ValueError, "k must be >= 1"),
        ({"k": 2.0}, TypeError, "k must be an int"),
        ({"k": True}, TypeError, "k must be an int"),
        ({"k": 1, "chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
        ({"k": 1, "exclude": [["a"]]}, ValueError, "exclude must have one entry per query"),
        ({"k": 1, "exclude": ["a", "b"]}, TypeError, "single string"),
        ({"k": 1, "exclude": [3, 4]}, TypeError, "must be a list of ids"),
    ],
)
def test_rank_from_scores_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        rank_from_scores(torch.zeros(2, 3), ["a", "b", "c"], **kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_scores_are_rejected_with_position(bad):
    scores = torch.zeros(5, 4)
    scores[3, 2] = bad
    with pytest.raises(ValueError, match="non-finite value .* at row 3, column 2"):
        rank_from_scores(scores, ids(4), k=2, chunk_size=2)


def test_score_shape_and_gallery_id_errors():
    with pytest.raises(ValueError, match="2-D"):
        rank_from_scores(torch.zeros(3), ids(3), k=1)
    with pytest.raises(ValueError, match="gallery_ids has 2 ids but the gallery has 3"):
        rank_from_scores(torch.zeros(1, 3), ids(2), k=1)
    with pytest.raises(ValueError, match="'a' appears at positions 0 and 2"):
        rank_from_scores(torch.zeros(1, 3), ["a", "b", "a"], k=1)
    with pytest.raises(TypeError, match="not a single string"):
        rank_from_scores(torch.zeros(1, 3), "abc", k=1)


def test_embedding_errors():
    q, g = torch.ones(2, 4), torch.ones(3, 4)
    with pytest.raises(ValueError, match="dimension 4 .* have 5"):
        rank_from_embeddings(q, torch.ones(3, 5), ids(3), k=1)
    with pytest.raises(ValueError, match="queries are on cpu but the gallery is on meta"):
        rank_from_embeddings(q, torch.empty(3, 4, device="meta"), ids(3), k=1)
    zero = g.clone()
    zero[1] = 0
    with pytest.raises(ValueError, match="gallery row 1 is all zeros"):
        rank_from_embeddings(q, zero, ids(3), k=1)
    nan = q.clone()
    nan[1, 2] = float("nan")
    with pytest.raises(ValueError, match="queries row 1 holds a NaN or inf"):
        rank_from_embeddings(nan, g, ids(3), k=1)
    with pytest.raises(ValueError, match="k must be >= 1"):
        rank_from_embeddings(q, g, ids(3), k=-1)
    with pytest.raises(ValueError, match="exclude must have one entry per query"):
        rank_from_embeddings(q, g, ids(3), k=1, exclude=[[]])


def test_first_relevant_ranks_errors():
    q, g = torch.ones(2, 4), torch.ones(3, 4)
    with pytest.raises(ValueError, match="query 1 has no relevant item"):
        first_relevant_ranks(q, g, [[0], []])
    with pytest.raises(ValueError, match="relevant must have one entry per query"):
        first_relevant_ranks(q, g, [[0]])
    with pytest.raises(ValueError, match="relevant of query 0 holds index 3, outside the gallery"):
        first_relevant_ranks(q, g, [[3], [0]])
    with pytest.raises(TypeError, match="items must be int gallery indices"):
        first_relevant_ranks(q, g, [["a"], [0]])
    with pytest.raises(ValueError, match="exclude of query 1 holds index -1"):
        first_relevant_ranks(q, g, [[0], [0]], exclude=[[], [-1]])
    assert first_relevant_ranks(q, g, [[torch.tensor(2)], [0]]) == [3, 1]  # integer scalars are indices


# ---------------------------------------------------------------- empty gallery, extreme magnitudes


def test_empty_gallery_makes_every_query_a_miss():
    # Same answer as rank_from_embeddings (an empty ranking per query), never a raw IndexError.
    q, empty = torch.ones(2, 4), torch.zeros(0, 4)
    assert first_relevant_ranks(q, empty, [["a"], ["b"]], gallery_ids=[]) == [None, None]
    assert rank_from_embeddings(q, empty, [], k=3) == [[], []]
    with pytest.raises(ValueError, match="relevant of query 0 holds index 0 but the gallery is empty"):
        first_relevant_ranks(q, empty, [[0], [0]])
    with pytest.raises(ValueError, match="query 1 has no relevant item"):
        first_relevant_ranks(q, empty, [["a"], []], gallery_ids=[])


@pytest.mark.parametrize("scale", [1e30, 1e-30, 3e38])
def test_float32_magnitudes_beyond_the_square_range_rank_correctly(scale):
    # Cosine ignores magnitude, so rows of any finite size rank like their unit directions. In
    # float32 the squares of 1e30 overflow (the norm was inf: every score 0, a silent tie) and
    # those of 1e-30 underflow (the norm was 0: a good row refused as all zeros).
    q = torch.tensor([[1.0, 0.0]]) * scale
    g = torch.tensor([[0.0, 1.0], [0.6, 0.8], [1.0, 0.1]]) * scale
    assert torch.isfinite(q).all() and torch.isfinite(g).all()
    assert rank_from_embeddings(q, g, ids(3), k=3) == [["g2", "g1", "g0"]]
    assert first_relevant_ranks(q, g, [[2]]) == [1]
    assert first_relevant_ranks(q.repeat(3, 1), g, [[2], [1], [0]]) == [1, 2, 3]
    with pytest.raises(ValueError, match="gallery row 0 is all zeros"):
        rank_from_embeddings(q, torch.zeros(1, 2), ids(1), k=1)
