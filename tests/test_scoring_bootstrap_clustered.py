"""vidret.scoring.bootstrap over clusters: singleton clusters = the per-query bootstrap bit for bit,
the vectorised cluster statistics = a naive loop, coverage and type-I error on clustered data, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidret.scoring.bootstrap import (
    INTERVAL_METHOD,
    PAIRED_METHOD,
    QueryValues,
    _resample_counts,
    _Resampler,
    bootstrap_intervals,
    interval_info,
    interval_method,
    intervals_output,
    paired_comparison,
    paired_method,
)
from vidret.scoring.resampling import ClusterIndex, _Swapper, cluster_index

nan = math.nan

# ---------------------------------------------------------------- singleton clusters = the per-query bootstrap


def pinned_columns(seed: int, n: int, shift: float = 0.0) -> dict[str, QueryValues]:
    """Every kind of column. Hits, integer ranks and AP in 64ths sum exactly in any order, so the
    numbers below do not depend on the BLAS build or its thread count."""
    rng = np.random.default_rng(seed)
    ranks = rng.integers(1, 60, n).astype(float) + shift
    return {
        "R@1": QueryValues(ranks <= 2, "mean", 100.0),
        "R@10": QueryValues(ranks <= 10, "mean", 100.0),
        "MdR": QueryValues(ranks, "median"),
        "MnR": QueryValues(ranks, "mean"),
        "AP": QueryValues(rng.integers(0, 65, n) / 64.0, "mean", 100.0),
        "Md2": QueryValues(rng.geometric(0.05, n).astype(float), "median"),
        "inf": QueryValues(np.where(np.arange(n) == 3, np.inf, ranks), "mean"),
    }


# Output of the per-query implementation as it was before clusters existed (vidret.scoring.bootstrap
# at the start of issue 20), on `pinned_columns`, 1,000 resamples, seed = the data seed. Intervals:
# (low, high); paired: (ci_low, ci_high, p_value) of A = pinned_columns(seed) - B = pinned_columns(seed + 10, shift 1).
# n = 5000 runs in two blocks of resamples.
BEFORE_CLUSTERS = {
    ("intervals", 57): {
        "R@1": (0.0, 8.771929824561402),
        "R@10": (10.526315789473683, 29.82456140350877),
        "MdR": (19.975000000000023, 33.124999999999886),
        "MnR": (24.89342105263158, 34.05438596491228),
        "AP": (44.68133223684211, 59.08031798245614),
        "Md2": (8.0, 18.0),
        "inf": None,
    },
    ("paired", 57): {
        "R@1": (0.0, 8.771929824561402, 0.5094905094905094),
        "R@10": (-10.526315789473683, 17.54385964912281, 0.8031968031968032),
        "MdR": (-18.0, 2.0, 0.19080919080919082),
        "MnR": (-11.688596491228068, 1.6890350877192921, 0.16383616383616384),
        "AP": (-4.963678728070177, 16.832510964912284, 0.31868131868131866),
        "Md2": (-10.0, 6.0, 0.3386613386613387),
        "inf": None,
    },
    ("intervals", 301): {
        "R@1": (0.6644518272425249, 4.318936877076411),
        "R@10": (12.624584717607974, 20.59800664451827),
        "MdR": (28.0, 33.0),
        "MnR": (28.560797342192693, 32.216279069767445),
        "AP": (44.68386627906977, 51.37082122093023),
        "Md2": (12.0, 16.0),
        "inf": None,
    },
    ("paired", 301): {
        "R@1": (-1.6611295681063125, 2.990033222591362, 0.7662337662337663),
        "R@10": (-2.990033222591361, 8.970099667774086, 0.4405594405594406),
        "MdR": (-7.0, 2.0, 0.7002997002997003),
        "MnR": (-4.75182724252492, 0.6656976744186017, 0.1798201798201798),
        "AP": (-9.494393687707635, -0.20504568106312077, 0.052947052947052944),
        "Md2": (-4.0, 2.0, 0.3006993006993007),
        "inf": None,
    },
    ("intervals", 5000): {
        "R@1": (2.94, 3.88),
        "R@10": (16.5595, 18.6),
        "MdR": (29.0, 30.0),
        "MnR": (29.121185, 30.051115),
        "AP": (49.4415546875, 51.06940624999999),
        "Md2": (13.0, 15.0),
        "inf": None,
    },
    ("paired", 5000): {
        "R@1": (1.1400000000000001, 2.3999999999999995, 0.000999000999000999),
        "R@10": (0.5600000000000023, 3.380000000000001, 0.008991008991008992),
        "MdR": (-3.0, 0.0, 0.03696303696303696),
        "MnR": (-1.921654999999998, -0.5939750000000011, 0.000999000999000999),
        "AP": (-1.1116874999999982, 1.0886718750000046, 0.957042957042957),
        "Md2": (-1.0, 1.5, 1.0),
        "inf": None,
    },
}
SEEDS = {57: 1, 301: 2, 5000: 3}


def singleton_ids(n: int) -> dict[str, object]:
    """Ways of saying "every query is its own cluster"."""
    shuffled = np.random.default_rng(n).permutation(n)
    return {
        "none": None,
        "ints": list(range(n)),
        "shuffled strings": [f"video {i}" for i in shuffled],
        "array": shuffled + 1000,
        "index": cluster_index(shuffled, n),
    }


def bits(value: object) -> str:
    """repr: equal strings = equal floats bit for bit (repr round-trips), NaN included."""
    return repr(value)


@pytest.mark.parametrize("n", [57, 301, 5000])
@pytest.mark.parametrize("ids", ["none", "ints", "shuffled strings", "array", "index"])
def test_singleton_clusters_give_the_per_query_intervals_bit_for_bit(n, ids):
    clusters = singleton_ids(n)[ids]
    got = bootstrap_intervals(pinned_columns(SEEDS[n], n), clusters=clusters, num_resamples=1000, seed=SEEDS[n])
    assert bits(got) == bits(BEFORE_CLUSTERS[("intervals", n)])


@pytest.mark.parametrize("n", [57, 301, 5000])
@pytest.mark.parametrize("ids", ["none", "shuffled strings", "index"])
def test_singleton_clusters_give_the_per_query_paired_test_bit_for_bit(n, ids):
    clusters = singleton_ids(n)[ids]
    a, b = pinned_columns(SEEDS[n], n), pinned_columns(SEEDS[n] + 10, n, 1.0)
    for interval in (True, False):
        out = paired_comparison(a, b, clusters=clusters, num_resamples=1000, seed=SEEDS[n], interval=interval)
        got = {name: None if r is None else (r.ci_low, r.ci_high, r.p_value) for name, r in out.items()}
        expected = BEFORE_CLUSTERS[("paired", n)]
        if not interval:  # the p-value does not depend on whether the interval is computed
            expected = {name: None if e is None else (nan, nan, e[2]) for name, e in expected.items()}
        assert bits(got) == bits(expected)


def test_singleton_output_records_what_it_always_recorded():
    columns = pinned_columns(1, 57)
    plain = intervals_output(columns, num_resamples=200, level=0.9, seed=4)
    assert plain["ci"] == {"method": "percentile bootstrap over queries", "level": 0.9, "num_resamples": 200, "seed": 4}
    result = paired_comparison(columns, pinned_columns(2, 57), num_resamples=50)["R@10"]
    assert result.num_clusters is None and "num_clusters" not in result.as_dict()


# ---------------------------------------------------------------- cluster statistics = a naive loop

# 9 clusters of uneven sizes, ids in no particular order, queries of a cluster not adjacent.
UNEVEN = np.random.default_rng(11).permutation(np.repeat(["v7", "v2", "v9", "v1", "v5", "v3", "v8", "v4", "v6"], [1, 2, 3, 5, 8, 13, 4, 7, 6]))


def test_cluster_numbering_is_by_first_appearance():
    index = cluster_index(["b", "a", "b", "c", "a"], 5)
    assert index.labels.tolist() == [0, 1, 0, 2, 1] and index.num_clusters == 3 and not index.singletons
    assert index.in_order(np.array([3, 4, 0, 1, 2])).tolist() == [0, 1, 2, 1, 2]
    assert cluster_index(np.array([5, 5, 2]), 3).labels.tolist() == [0, 0, 1]
    assert cluster_index(None, 4).singletons and cluster_index([3.5, 1.0, 2.0], 3).singletons


def test_cluster_means_and_medians_equal_a_naive_loop_over_the_drawn_queries():
    rng = np.random.default_rng(12)
    n = UNEVEN.size
    ranks = rng.integers(1, 30, n).astype(float)
    other = rng.geometric(0.2, n).astype(float)
    hits = (rng.random(n) < 0.4).astype(float)
    columns = {
        "R@1": QueryValues(hits, "mean", 100.0),
        "MdR": QueryValues(ranks, "median"),
        "MnR": QueryValues(ranks, "mean"),
        "Md2": QueryValues(other, "median"),
    }
    index = cluster_index(UNEVEN, n)
    resampler = _Resampler(columns, clusters=index)
    counts = _resample_counts(np.random.default_rng(0), index.num_clusters, 60)
    got = resampler.stats(counts)
    order = resampler.order
    labels = index.in_order(order)  # the cluster of each query in the resampler's order, as it numbers them
    sizes = set()
    for row in range(60):
        draws = np.repeat(np.arange(n), counts[row][labels])  # every query of each drawn cluster, as often as drawn
        sizes.add(draws.size)
        assert got["R@1"][row] == pytest.approx(100.0 * hits[order][draws].mean())
        assert got["MnR"][row] == pytest.approx(ranks[order][draws].mean())
        assert got["MdR"][row] == np.median(ranks[order][draws])
        assert got["Md2"][row] == np.median(other[order][draws])
    assert len(sizes) > 10  # resamples of clusters differ in size, odd and even


def test_cluster_swaps_equal_a_naive_loop():
    rng = np.random.default_rng(13)
    n = UNEVEN.size
    a_vals, b_vals = rng.integers(1, 30, (2, n)).astype(float)
    a = {"MnR": QueryValues(a_vals, "mean"), "MdR": QueryValues(a_vals, "median")}
    b = {"MnR": QueryValues(b_vals, "mean"), "MdR": QueryValues(b_vals, "median")}
    index = cluster_index(UNEVEN, n)
    flips = rng.integers(0, 2, (40, index.num_clusters)).astype(bool)
    got = _Swapper(a, b, index).differences(flips)
    for row in range(40):
        swap = flips[row][index.labels]  # all queries of a flipped cluster trade places
        swapped_a, swapped_b = np.where(swap, b_vals, a_vals), np.where(swap, a_vals, b_vals)
        assert got["MnR"][row] == pytest.approx(swapped_a.mean() - swapped_b.mean())
        assert got["MdR"][row] == np.median(swapped_a) - np.median(swapped_b)


def test_one_cluster_gives_a_point_interval_and_constant_clusters_only_cluster_values():
    values = QueryValues(np.random.default_rng(0).random(30) < 0.5, "mean", 100.0)
    low, high = bootstrap_intervals({"R": values}, clusters=["v"] * 30)["R"]
    assert low == high == pytest.approx(values.value())
    # Two clusters, one all hits, one all misses, of sizes 1 and 3: every resample is 0, 25 or 100 %.
    out = bootstrap_intervals({"R": QueryValues(np.array([1.0, 0.0, 0.0, 0.0]), "mean", 100.0)}, clusters=[1, 2, 2, 2], num_resamples=400)
    low, high = out["R"]
    assert low == 0.0 and high == 100.0


def test_renaming_clusters_changes_nothing_and_other_ids_change_the_interval():
    rng = np.random.default_rng(14)
    ranks = rng.geometric(0.1, UNEVEN.size).astype(float)
    columns = {"MnR": QueryValues(ranks), "MdR": QueryValues(ranks, "median")}
    renamed = np.array([f"other name of {v}" for v in UNEVEN])
    first = bootstrap_intervals(columns, clusters=UNEVEN, seed=5)
    assert first == bootstrap_intervals(columns, clusters=renamed, seed=5)
    assert first == bootstrap_intervals(columns, clusters=cluster_index(UNEVEN, UNEVEN.size), seed=5)
    assert first != bootstrap_intervals(columns, clusters=None, seed=5)
    assert first != bootstrap_intervals(columns, clusters=UNEVEN, seed=6)


def test_paired_comparison_over_clusters_reports_its_clusters_and_holds_the_difference():
    rng = np.random.default_rng(15)
    n = UNEVEN.size
    a = rng.geometric(0.1, n).astype(float)
    b = a + rng.integers(0, 4, n)
    out = paired_comparison(
        {"MnR": QueryValues(a), "MdR": QueryValues(a, "median")}, {"MnR": QueryValues(b), "MdR": QueryValues(b, "median")}, clusters=UNEVEN
    )
    for result in out.values():
        assert result.num_queries == n and result.num_clusters == 9 and result.as_dict()["num_clusters"] == 9
        assert result.ci_low <= result.difference <= result.ci_high
        assert 1 / 1001 <= result.p_value <= 1
    same = paired_comparison({"R": QueryValues(a)}, {"R": QueryValues(a)}, clusters=UNEVEN)["R"]
    assert (same.difference, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)


# ---------------------------------------------------------------- clustered data: coverage and type-I error

CLUSTERS, PER_CLUSTER = 100, 87  # a LoVR-like test split: 100 long videos, ~87 clips each
VIDEO = np.repeat(np.arange(CLUSTERS), PER_CLUSTER)  # the cluster of each query
# Hits = (cluster effect + noise > 0): a 50 % hit rate. At 50 %, two hits driven by latent normals
# of correlation r are correlated (2 / pi) asin(r) (Sheppard), so this latent share gives hits an
# intra-cluster correlation of exactly 0.1.
LATENT = math.sin(math.pi * 0.1 / 2)


_erf = np.vectorize(math.erf)


def clustered_hits(rng: np.random.Generator, datasets: int) -> np.ndarray:
    """(datasets, queries) hits of a recall whose true value is 50 %, intra-video correlation 0.1.

    A hit is (video effect + noise > 0), video effect ~ N(0, LATENT), noise ~ N(0, 1 - LATENT);
    drawn as: given the video effect v, a hit with probability P(noise > -v) (cheaper than noise).
    """
    video = rng.normal(0.0, math.sqrt(LATENT), (datasets, CLUSTERS, 1))
    p_hit = 0.5 * (1.0 + _erf(video / math.sqrt(2.0 * (1.0 - LATENT))))
    return (rng.random((datasets, CLUSTERS, PER_CLUSTER)) < p_hit).reshape(datasets, -1).astype(np.float64)


def interval_runs(batches: int, per_batch: int, clusters, num_resamples: int) -> tuple[float, float]:
    """(coverage of the true 50 %, mean width) of the 95 % intervals of batches x per_batch data sets.

    A batch's data sets go into one call as separate metrics (vectorised across data sets): they
    share that call's resamples, but the data sets are independent, so whether each interval holds
    50 is still an independent event given the resamples; every batch has its own seed.
    """
    covered, widths = [], []
    for batch in range(batches):
        hits = clustered_hits(np.random.default_rng(batch), per_batch)
        columns = {f"data set {i}": QueryValues(h, "mean", 100.0) for i, h in enumerate(hits)}
        for low, high in bootstrap_intervals(columns, clusters=clusters, num_resamples=num_resamples, seed=batch).values():
            covered.append(low <= 50.0 <= high)
            widths.append(high - low)
    return float(np.mean(covered)), float(np.mean(widths))


def test_cluster_interval_covers_the_true_recall_about_95_percent_on_clustered_data():
    # 4,000 data sets: the Monte Carlo error of the coverage is +-0.4 points.
    coverage, width = interval_runs(80, 50, VIDEO, 1000)
    assert 0.93 <= coverage <= 0.97, coverage
    # The per-query bootstrap on the same kind of data: about half as often, a third as wide
    # (design effect 1 + 86 x 0.1): the data are clustered enough for the test to mean something.
    per_query_coverage, per_query_width = interval_runs(2, 50, None, 300)
    assert per_query_coverage < 0.7, per_query_coverage
    assert width > 2.5 * per_query_width, (width, per_query_width)


def null_pairs(rng: np.random.Generator, pairs: int, advantage: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Hits of `pairs` pairs of models of the same skill (A's latent score + `advantage`).

    Both models share each video's difficulty and each query's; on top of that each model fares
    a little better or worse on each whole video (a model x video effect), which is what makes
    the queries of a video move together in the difference A - B.
    """
    shape = (pairs, CLUSTERS, PER_CLUSTER)
    shared = rng.normal(0.0, math.sqrt(0.15), (pairs, CLUSTERS, 1)).astype(np.float32)  # the video's difficulty
    shared = shared + np.float32(math.sqrt(0.3)) * rng.standard_normal(shape, dtype=np.float32)  # + the query's
    hits = []
    for model, shift in enumerate((advantage, 0.0)):
        latent = shared + rng.normal(shift, math.sqrt(0.05), (pairs, CLUSTERS, 1)).astype(np.float32)  # model x video
        latent += np.float32(math.sqrt(0.5)) * rng.standard_normal(shape, dtype=np.float32)  # model x query
        hits.append((latent > 0).reshape(pairs, -1).astype(np.float64))
    return hits[0], hits[1]


def rejection_rate(batches: int, per_batch: int, clusters, num_resamples: int, advantage: float = 0.0, offset: int = 0) -> float:
    """Share of pairs with p < 0.05 (batched across pairs like `interval_runs`)."""
    rejected = []
    for batch in range(batches):
        a, b = null_pairs(np.random.default_rng(offset + batch), per_batch, advantage)
        out = paired_comparison(
            {f"pair {i}": QueryValues(h, "mean", 100.0) for i, h in enumerate(a)},
            {f"pair {i}": QueryValues(h, "mean", 100.0) for i, h in enumerate(b)},
            clusters=clusters,
            num_resamples=num_resamples,
            seed=batch,
            interval=False,
        )
        rejected += [result.p_value < 0.05 for result in out.values()]
    return float(np.mean(rejected))


def test_cluster_randomisation_test_keeps_its_level_under_a_clustered_null():
    # 4,000 pairs of equal models: the Monte Carlo error of the rate is +-0.35 points.
    rate = rejection_rate(80, 50, VIDEO, 500, offset=1000)
    assert 0.03 <= rate <= 0.06, rate
    # Swapping single queries instead rejects equal models far too often on the same kind of data.
    assert rejection_rate(2, 50, None, 200, offset=1000) > 0.2


def test_cluster_randomisation_test_has_power_on_a_real_difference():
    # A ahead by 0.15 latent SD (about 6 points of recall) on every video.
    assert rejection_rate(2, 50, VIDEO, 500, advantage=0.15, offset=2000) >= 0.9


# ---------------------------------------------------------------- method names, recorded info, bad input


def test_method_names():
    assert interval_method() == INTERVAL_METHOD == "percentile bootstrap over queries"
    assert interval_method("video_id") == "cluster bootstrap (video_id)"
    assert paired_method() == PAIRED_METHOD
    assert "paired cluster bootstrap (query_video)" in paired_method("query_video")
    assert "swapping whole clusters (query_video)" in paired_method("query_video")
    assert interval_info(100, 0.9, 1, cluster_key="video_id", num_clusters=7) == {
        "method": "cluster bootstrap (video_id)",
        "level": 0.9,
        "num_resamples": 100,
        "seed": 1,
        "cluster_key": "video_id",
        "num_clusters": 7,
    }


def test_intervals_output_over_clusters_names_its_method_and_clusters():
    columns = {"R@1": QueryValues(np.random.default_rng(0).random(UNEVEN.size) < 0.5, "mean", 100.0)}
    out = intervals_output(columns, num_resamples=300, level=0.95, seed=2, clusters=UNEVEN, cluster_key="video_id")
    assert out["ci"]["method"] == "cluster bootstrap (video_id)" and out["ci"]["num_clusters"] == 9
    low, high = bootstrap_intervals(columns, clusters=UNEVEN, num_resamples=300, seed=2)["R@1"]
    assert (out["ci_low"]["R@1"], out["ci_high"]["R@1"]) == (low, high)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(4))}, clusters=[0, 0, 1]), "3 cluster ids for 4 queries"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, clusters=np.array([0.0, nan, 1.0])), "query 1 is NaN"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, clusters=["a", float("nan"), "b"]), "query 1 is nan"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, clusters=["a", "b", None]), "query 2 is None"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, clusters=[[0], [0], [1]]), "query 0 .list. is not hashable"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(4))}, clusters=np.zeros((2, 2))), "must be 1-D"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, clusters="abc"), "single string"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, clusters=5), "sequence of cluster ids"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, clusters=cluster_index([1, 2], 2)), "clusters of 2 queries for 3"),
        (lambda: QueryValues(np.array([1.0, nan])), "NaN at query 1"),
        (
            lambda: paired_comparison({"m": QueryValues(np.ones(3))}, {"m": QueryValues(np.ones(3))}, clusters=[1, 2]),
            "paired_comparison: clusters: 2 cluster ids for 3 queries",
        ),
        (
            lambda: intervals_output({"m": QueryValues(np.ones(3))}, num_resamples=10, level=0.9, seed=0, clusters=[1, 1, 2]),
            "both clusters .* and cluster_key",
        ),
        (
            lambda: intervals_output({"m": QueryValues(np.ones(3))}, num_resamples=10, level=0.9, seed=0, cluster_key="video_id"),
            "both clusters .* and cluster_key",
        ),
        (lambda: interval_method(""), "cluster_key must be"),
        (lambda: paired_method(3), "cluster_key must be"),
    ],
)
def test_bad_cluster_input_is_refused_with_a_named_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_cluster_index_is_reused_as_given():
    index = cluster_index(UNEVEN, UNEVEN.size)
    assert cluster_index(index, UNEVEN.size) is index
    assert isinstance(index, ClusterIndex) and index.num_clusters == 9
