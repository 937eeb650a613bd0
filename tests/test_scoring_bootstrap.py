"""vidret.scoring.bootstrap: interval coverage, determinism, the paired test's error rates, the kernels' extras."""

from __future__ import annotations

import numpy as np
import pytest

from vidret.scoring import composed_map, retrieval_metrics
from vidret.scoring.bootstrap import (
    QueryValues,
    _medians,
    _resample_counts,
    _Resampler,
    bootstrap_intervals,
    paired_comparison,
)
from vidret.scoring.composed import composed_query_values
from vidret.scoring.retrieval import retrieval_query_values


def coverage(draw, true_value: float, statistic: str, *, trials: int, n: int, scale: float = 1.0) -> float:
    """Share of `trials` synthetic data sets whose 95 % interval holds the true value."""
    covered = 0
    for trial in range(trials):
        values = draw(np.random.default_rng(1000 + trial), n)
        low, high = bootstrap_intervals({"m": QueryValues(values, statistic, scale)}, seed=trial)["m"]
        covered += low <= true_value <= high
    return covered / trials


# ---------------------------------------------------------------- coverage (known true values)


def test_recall_interval_covers_the_true_rate_about_95_percent():
    # R@K is a mean of hits: Bernoulli(0.3) queries, true R@K = 30.
    rate = coverage(lambda rng, n: rng.random(n) < 0.3, 30.0, "mean", trials=250, n=120, scale=100.0)
    assert 0.91 <= rate <= 0.98, rate


def test_mean_rank_interval_covers_the_true_mean_about_95_percent():
    # MnR of skewed ranks: geometric(p=0.1) has mean 1/p = 10.
    rate = coverage(lambda rng, n: rng.geometric(0.1, n), 10.0, "mean", trials=250, n=120)
    assert 0.91 <= rate <= 0.98, rate


def test_median_rank_interval_covers_the_true_median():
    # MdR: ranks = 1 + floor(Exponential(scale 60)); P(rank <= m) first reaches 1/2 at m = 1 + floor(60 ln 2).
    # Percentile intervals of a discrete median are a little conservative, hence the wider band.
    scale = 60.0
    true_median = 1 + np.floor(scale * np.log(2))
    rate = coverage(lambda rng, n: 1 + np.floor(rng.exponential(scale, n)), true_median, "median", trials=250, n=121)
    assert 0.9 <= rate <= 0.99, rate


def test_map_interval_covers_the_true_mean_ap():
    # AP values in [0, 1]: Beta(0.5, 2) has mean 0.2, so mAP = 20.
    rate = coverage(lambda rng, n: rng.beta(0.5, 2.0, n), 20.0, "mean", trials=250, n=120, scale=100.0)
    assert 0.91 <= rate <= 0.98, rate


# ---------------------------------------------------------------- vectorised = naive


def test_vectorised_statistics_equal_a_naive_loop_over_the_same_resamples():
    rng = np.random.default_rng(3)
    n = 57  # odd and even resample medians are both exercised below
    ranks = rng.integers(1, 40, n).astype(float)
    hits = (rng.random(n) < 0.4).astype(float)
    columns = {"R@1": QueryValues(hits, "mean", 100.0), "MdR": QueryValues(ranks, "median"), "MnR": QueryValues(ranks, "mean")}
    resampler = _Resampler(columns)
    counts = _resample_counts(np.random.default_rng(0), n, 25)
    assert (counts.sum(axis=1) == n).all()
    got = resampler.stats(counts)
    order = resampler.order
    for row in range(25):
        draws = np.repeat(np.arange(n), counts[row])  # positions in the resampler's query order
        assert got["R@1"][row] == pytest.approx(100.0 * hits[order][draws].mean())
        assert got["MnR"][row] == pytest.approx(ranks[order][draws].mean())
        assert got["MdR"][row] == np.median(ranks[order][draws])


@pytest.mark.parametrize("n", [1, 2, 5, 6])
def test_weighted_medians_match_numpy_for_odd_and_even_sizes(n):
    rng = np.random.default_rng(n)
    values = np.sort(rng.normal(size=n))
    counts = _resample_counts(rng, n, 40)
    expected = [np.median(np.repeat(values, c)) for c in counts]
    assert np.allclose(_medians(values, counts), expected)


def test_second_median_column_is_reordered_correctly():
    rng = np.random.default_rng(4)
    a, b = rng.random(31), rng.random(31)
    resampler = _Resampler({"A": QueryValues(a, "median"), "B": QueryValues(b, "median")})
    counts = _resample_counts(np.random.default_rng(1), 31, 10)
    got = resampler.stats(counts)
    for row in range(10):
        draws = np.repeat(np.arange(31), counts[row])
        assert got["B"][row] == np.median(b[resampler.order][draws])


# ---------------------------------------------------------------- determinism and shape


def test_same_seed_same_intervals_other_seed_other_intervals():
    values = QueryValues(np.random.default_rng(0).random(500) < 0.3, "mean", 100.0)
    first = bootstrap_intervals({"R@1": values}, seed=7)
    assert first == bootstrap_intervals({"R@1": values}, seed=7)
    assert first != bootstrap_intervals({"R@1": values}, seed=8)
    low, high = first["R@1"]
    assert low < values.value() < high


def test_resample_count_and_level_change_the_interval():
    values = {"m": QueryValues(np.random.default_rng(0).normal(size=400))}
    narrow = bootstrap_intervals(values, level=0.5)["m"]
    wide = bootstrap_intervals(values, level=0.99)["m"]
    assert wide[0] < narrow[0] < narrow[1] < wide[1]
    assert bootstrap_intervals(values, num_resamples=10) != bootstrap_intervals(values)


def test_constant_values_give_a_point_interval_and_unknown_ranks_give_none():
    out = bootstrap_intervals(
        {"R@50": QueryValues(np.ones(20), "mean", 100.0), "MdR": QueryValues(np.r_[np.ones(19), np.inf], "median")}
    )
    assert out == {"R@50": (100.0, 100.0), "MdR": None}


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: bootstrap_intervals({}), ValueError, "no metrics"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.array([]))}), ValueError, "no queries"),
        (lambda: bootstrap_intervals({"a": QueryValues(np.ones(3)), "b": QueryValues(np.ones(4))}), ValueError, "'b' has 4, expected 3"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, level=1.0), ValueError, "strictly between 0 and 1"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, level=True), ValueError, "strictly between 0 and 1"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, num_resamples=0), ValueError, "num_resamples must be >= 1"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, num_resamples=1.5), TypeError, "num_resamples must be an int"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, seed=-1), ValueError, "seed must be >= 0"),
        (lambda: bootstrap_intervals({"m": QueryValues(np.ones(3))}, seed="0"), TypeError, "seed must be an int"),
        (lambda: QueryValues(np.array([1.0, np.nan])), ValueError, "NaN at query 1"),
        (lambda: QueryValues(np.ones((2, 2))), ValueError, "must be 1-D"),
        (lambda: QueryValues(np.ones(2), "mode"), ValueError, "'mean' or 'median'"),
        (lambda: QueryValues(np.array([])).value(), ValueError, "no queries"),
        (
            lambda: paired_comparison({"a": QueryValues(np.ones(3))}, {"b": QueryValues(np.ones(3))}),
            ValueError,
            "same metrics",
        ),
        (
            lambda: paired_comparison({"a": QueryValues(np.ones(3))}, {"a": QueryValues(np.ones(3), "median")}),
            ValueError,
            "a mean on one side and a median",
        ),
        (
            lambda: paired_comparison({"a": QueryValues(np.ones(3))}, {"a": QueryValues(np.ones(4))}),
            ValueError,
            "has 4, expected 3",
        ),
    ],
)
def test_bad_input_is_refused_with_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- paired test error rates


def paired_systems(rng: np.random.Generator, n: int, p_a: float, p_b: float, shared: float = 0.6):
    """Hits of two systems on the same queries: each query is 'easy' for both with some chance."""
    easy = rng.random(n)
    a = np.where(rng.random(n) < shared, easy < p_a, rng.random(n) < p_a)
    b = np.where(rng.random(n) < shared, easy < p_b, rng.random(n) < p_b)
    return a, b


def rejections(p_a: float, p_b: float, trials: int, n: int) -> float:
    rejected = 0
    for trial in range(trials):
        a, b = paired_systems(np.random.default_rng(trial), n, p_a, p_b)
        result = paired_comparison(
            {"R@1": QueryValues(a, "mean", 100.0)}, {"R@1": QueryValues(b, "mean", 100.0)}, num_resamples=500, seed=trial
        )["R@1"]
        rejected += result.p_value < 0.05
    return rejected / trials


def test_paired_test_false_positive_rate_is_near_5_percent_on_equal_systems():
    rate = rejections(0.4, 0.4, trials=400, n=200)
    assert 0.02 <= rate <= 0.085, rate


def test_paired_test_has_power_on_a_real_difference():
    # 10 points apart on 300 paired queries.
    assert rejections(0.5, 0.4, trials=100, n=300) >= 0.8


def test_paired_interval_holds_the_observed_difference_and_median_metrics_work():
    rng = np.random.default_rng(5)
    ranks_a = rng.geometric(0.05, 400).astype(float)
    ranks_b = ranks_a + rng.integers(0, 6, 400)  # B never better: ranks 2.5 lower on average
    out = paired_comparison(
        {"MdR": QueryValues(ranks_a, "median"), "MnR": QueryValues(ranks_a, "mean")},
        {"MdR": QueryValues(ranks_b, "median"), "MnR": QueryValues(ranks_b, "mean")},
    )
    for name, result in out.items():
        assert result.difference < 0 and result.ci_low <= result.difference <= result.ci_high
        assert result.ci_high < 0 and result.p_value < 0.01, (name, result)
        assert result.num_queries == 400
    assert out["MnR"].difference == pytest.approx(ranks_a.mean() - ranks_b.mean())


def test_identical_systems_have_p_value_one_and_a_zero_interval():
    values = QueryValues(np.random.default_rng(0).random(50) < 0.5, "mean", 100.0)
    (result,) = paired_comparison({"R@1": values}, {"R@1": values}).values()
    assert (result.difference, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_paired_comparison_is_deterministic_under_a_seed():
    a, b = paired_systems(np.random.default_rng(1), 200, 0.5, 0.45)
    args = ({"R@1": QueryValues(a, "mean", 100.0)}, {"R@1": QueryValues(b, "mean", 100.0)})
    assert paired_comparison(*args, seed=3) == paired_comparison(*args, seed=3)
    assert paired_comparison(*args, seed=3) != paired_comparison(*args, seed=4)
    # Without the interval (the leaderboard's tie test) the p-value is the very same.
    full, p_only = paired_comparison(*args, seed=3)["R@1"], paired_comparison(*args, seed=3, interval=False)["R@1"]
    assert p_only.p_value == full.p_value and p_only.difference == full.difference
    assert np.isnan(p_only.ci_low) and np.isnan(p_only.ci_high)


# ---------------------------------------------------------------- kernels: per-query data and intervals


def test_retrieval_kernel_per_query_ranks_and_intervals():
    out = retrieval_metrics(ranks=[1, 3, None, 2], k_values=(1, 5), gallery_size=9, per_query=True, intervals=True, seed=1)
    assert out["per_query"] == {"rank": [1, 3, None, 2]}
    assert set(out["ci_low"]) == set(out["ci_high"]) == {"R@1", "R@5", "MdR", "MnR"}
    assert out["ci"] == {"method": "percentile bootstrap over queries", "level": 0.95, "num_resamples": 1000, "seed": 1}
    for name in out["ci_low"]:
        assert out["ci_low"][name] <= out[name] <= out["ci_high"][name]
    # The columns the intervals come from reproduce the metrics (the math lives once).
    columns = retrieval_query_values(out["per_query"]["rank"], (1, 5), gallery_size=9)
    assert {name: col.value() for name, col in columns.items()} == {k: out[k] for k in ("R@1", "R@5", "MdR", "MnR")}


def test_retrieval_kernel_truncated_rankings_have_no_rank_interval():
    out = retrieval_metrics(rankings=[["a", "b"], ["c", "d"]], relevant=[["a"], ["z"]], k_values=(1, 2), per_query=True, intervals=True)
    assert out["MdR"] is None and "MdR" not in out["ci_low"] and "R@1" in out["ci_low"]
    assert out["per_query"] == {"rank": [1, None]}  # the second rank is unknown: a miss


def test_composed_kernel_per_query_columns_and_intervals():
    out = composed_map(
        [["x", "a", "y", "z", "b"], ["a"], []],
        [["a", "b", "c"], ["a"], ["q"]],
        k_values=(5,),
        recall_k_values=(1, 5),
        per_query=True,
        intervals=True,
    )
    assert out["per_query"] == {"AP@5": [pytest.approx(0.3), 1.0, 0.0], "hit@1": [0, 1, 0], "hit@5": [1, 1, 0]}
    assert out["mAP@5"] == pytest.approx(100 * 1.3 / 3)
    columns = composed_query_values(out["per_query"])
    assert list(columns) == ["mAP@5", "R@1", "R@5"]
    assert {name: col.value() for name, col in columns.items()} == {k: out[k] for k in columns}
    assert out["ci_low"]["R@1"] <= out["R@1"] <= out["ci_high"]["R@1"]


def test_composed_columns_keep_ap_above_one():
    # The official TF-CoVR protocol's duplicated gallery lets AP exceed 1; nothing clamps it.
    columns = composed_query_values({"AP@50": [1.5, 2.0], "hit@1": [1, 1]})
    assert columns["mAP@50"].value() == 175.0
    low, high = bootstrap_intervals(columns)["mAP@50"]
    assert 150.0 <= low <= high <= 200.0 and high > 100.0
    with pytest.raises(ValueError, match="different lengths"):
        composed_query_values({"AP@5": [1.0], "hit@1": [1, 0]})


def test_kernels_check_bootstrap_arguments_only_when_intervals_are_asked_for():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        composed_map([["a"]], [["a"]], intervals=True, level=2)
    with pytest.raises(ValueError, match="num_resamples must be >= 1"):
        retrieval_metrics(ranks=[1], intervals=True, num_resamples=0)
    assert "ci_low" not in retrieval_metrics(ranks=[1], num_resamples=0)


def test_official_composed_per_query_data_is_unrounded_and_unclamped():
    # Official protocol: a repeated gallery id counts twice; AP and the designated-target count exceed 1.
    out = composed_map(
        [["a", "a", "x"], ["x", "b", "y"], ["z"]],
        [["a"], ["b", "c"], ["q"]],
        k_values=(5,),
        recall_k_values=(1, 5),
        count_repeats=True,  # the official protocol's rules
        decimals=2,
        designated_targets=["a", "b", "q"],
        per_query=True,
        intervals=True,
    )
    assert out["per_query"] == {"AP@5": [2.0, 0.25, 0.0], "hit@1": [1, 0, 0], "hit@5": [2, 1, 0]}
    assert (out["mAP@5"], out["R@5"]) == (75.0, 100.0)  # round(mean * 100, 2), as the official code
    columns = composed_query_values(out["per_query"])
    assert {name: round(col.value(), 2) for name, col in columns.items()} == {k: out[k] for k in columns}
    assert out["ci_high"]["mAP@5"] == 200.0 and out["ci_high"]["R@5"] == 200.0  # not clamped to 100
