"""Confidence intervals and paired tests over per-query values (bootstrap, randomisation), by cluster.

Every reported metric is a statistic of one value per query: R@K is the mean of "hit within K"
(x100), MnR the mean rank, MdR the median rank, mAP@K the mean AP@K (x100). `QueryValues` holds
such a column; the kernels (`retrieval_query_values`, `composed_query_values`) build them, so the
metric and its interval come from the same numbers.

Queries that share a source (LoVR clips of one long video) share its difficulty and are not
independent draws; resampling them one by one makes intervals too narrow. Every function here
takes `clusters` (one id per query, e.g. the video id) and then resamples and flips whole
clusters; without it each query is its own cluster, which is the plain per-query bootstrap, and
the results are exactly those of that plain bootstrap (also for ids that are all distinct).

- `bootstrap_intervals`: percentile intervals. Resample the clusters with replacement
  `num_resamples` times (keeping all queries of a drawn cluster) and take the (1 - level) / 2
  and (1 + level) / 2 quantiles of the metric over the resamples.
- `paired_comparison`: two systems on the same queries. The interval of the difference comes
  from a paired bootstrap (the same resampled clusters for both); the p-value from a paired
  randomisation test (each cluster's two sets of values swapped with probability 1/2),
  two-sided.
- `interval_method` / `paired_method` name the method to record (`ci.method`).

Vectorised (`vidret.scoring.resampling`): a resample is a row of per-cluster counts; means are
matrix products with per-cluster sums, medians a cumulative sum over the counts in sorted order.
Work is done in blocks of about 2**22 counts (per query where a median needs them, else per
cluster), so memory stays within tens of MiB however many queries there are. Everything is
seeded (`numpy.random.default_rng(seed)`): the same inputs and seed give the same intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from vidret.scoring._checks import check_k
from vidret.scoring.resampling import (  # noqa: F401  (_medians, _Resampler, _resample_counts: tested directly)
    ClusterIds,
    ClusterIndex,
    _medians,
    _resample_counts,
    _Resampler,
    _Swapper,
    cluster_index,
)

DEFAULT_RESAMPLES = 1000
#: Most resamples (and randomisation rounds) one interval or test may ask for: each metric keeps
#: one float64 per resample (100,000 -> 0.8 MB), and past ~10,000 the percentiles no longer move.
MAX_RESAMPLES = 100_000
DEFAULT_LEVEL = 0.95
DEFAULT_SEED = 0
INTERVAL_METHOD = "percentile bootstrap over queries"
PAIRED_METHOD = "paired bootstrap over shared queries (interval); paired randomisation test (p-value, two-sided)"

# Counts per work block (float64: 32 MiB).
_BLOCK_ELEMENTS = 1 << 22

Statistic = Literal["mean", "median"]


@dataclass(frozen=True)
class QueryValues:
    """One value per query whose statistic, times `scale`, is a metric.

    Attributes:
        values: 1-D float array, one entry per query (may hold inf for an unknown rank: such a
            column has a value only when the statistic is still defined, and no interval).
        statistic: "mean" or "median".
        scale: factor applied to the statistic (100 for percentages).
    """

    values: np.ndarray
    statistic: Statistic = "mean"
    scale: float = 1.0

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"values must be 1-D (one per query), got shape {values.shape}")
        if np.isnan(values).any():
            raise ValueError(f"values hold NaN at query {int(np.isnan(values).argmax())}")
        if self.statistic not in ("mean", "median"):
            raise ValueError(f"statistic must be 'mean' or 'median', got {self.statistic!r}")
        object.__setattr__(self, "values", values)

    def value(self) -> float:
        """The metric: `scale` x the statistic of the values."""
        if self.values.size == 0:
            raise ValueError("no queries")
        stat = np.median(self.values) if self.statistic == "median" else self.values.mean()
        return float(self.scale * stat)


@dataclass(frozen=True)
class PairedResult:
    """System A against system B on one metric, over the queries both scored.

    Attributes:
        value_a: the metric of A on the shared queries.
        value_b: the metric of B on the shared queries.
        difference: value_a - value_b.
        ci_low: lower end of the interval of the difference (paired bootstrap).
        ci_high: upper end.
        p_value: two-sided p-value of "no difference" (paired randomisation test).
        num_queries: the number of shared queries.
        num_clusters: the number of clusters they fall in, when clusters were given (else None).
    """

    value_a: float
    value_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    num_queries: int
    num_clusters: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields under short names; "num_clusters" only when clusters were given."""
        out = {
            "a": self.value_a,
            "b": self.value_b,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "num_queries": self.num_queries,
        }
        if self.num_clusters is not None:
            out["num_clusters"] = self.num_clusters
        return out


def check_bootstrap_args(num_resamples: Any, level: Any, seed: Any = DEFAULT_SEED) -> tuple[int, float, int]:
    """Validate a resample count, a confidence level and a seed.

    Returns:
        (num_resamples, level, seed) as int, float, int.

    Raises:
        TypeError: `num_resamples` or `seed` is not an int.
        ValueError: `num_resamples` outside 1 .. MAX_RESAMPLES, `seed` < 0, or `level` not strictly
            between 0 and 1.
    """
    num_resamples = check_k(num_resamples, "num_resamples")
    if num_resamples > MAX_RESAMPLES:
        raise ValueError(
            f"num_resamples (--resamples) is above the maximum of {MAX_RESAMPLES:,} "
            "(vidret.scoring.bootstrap.MAX_RESAMPLES): pass a smaller number"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int >= 0, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a number strictly between 0 and 1 (e.g. 0.95), got {level!r}")
    return num_resamples, float(level), int(seed)


def _check_cluster_key(cluster_key: Any) -> None:
    if cluster_key is not None and (not isinstance(cluster_key, str) or not cluster_key.strip()):
        raise ValueError(f"cluster_key must be the name of what queries cluster on (e.g. 'video_id') or None, got {cluster_key!r}")


def interval_method(cluster_key: str | None = None) -> str:
    """The interval method to record (`ci.method`), given what the queries cluster on.

    Args:
        cluster_key: the name of the cluster ids (e.g. "video_id"), or None for independent
            queries.

    Returns:
        "cluster bootstrap (<cluster_key>)", or `INTERVAL_METHOD` ("percentile bootstrap over
        queries", what results without clusters record) when `cluster_key` is None.

    Raises:
        ValueError: `cluster_key` is not a non-empty string or None.
    """
    _check_cluster_key(cluster_key)
    return INTERVAL_METHOD if cluster_key is None else f"cluster bootstrap ({cluster_key})"


def paired_method(cluster_key: str | None = None) -> str:
    """The method of `paired_comparison` to record, given what the queries cluster on (see `interval_method`)."""
    _check_cluster_key(cluster_key)
    if cluster_key is None:
        return PAIRED_METHOD
    return (
        f"paired cluster bootstrap ({cluster_key}) over shared queries (interval); "
        f"paired randomisation test swapping whole clusters ({cluster_key}) (p-value, two-sided)"
    )


def interval_info(
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    *,
    cluster_key: str | None = None,
    num_clusters: int | None = None,
) -> dict[str, Any]:
    """How intervals were computed, as recorded next to them (results `ci`, kernel outputs).

    Without `cluster_key` this is exactly what results have always recorded ({method, level,
    num_resamples, seed}); with it, "cluster_key" (and "num_clusters" when given) are added.
    """
    info: dict[str, Any] = {"method": interval_method(cluster_key), "level": level, "num_resamples": num_resamples, "seed": seed}
    if cluster_key is not None:
        info["cluster_key"] = cluster_key
        if num_clusters is not None:
            info["num_clusters"] = num_clusters
    return info


def _common_length(columns: Mapping[str, QueryValues], what: str) -> int:
    lengths = {name: col.values.size for name, col in columns.items()}
    if not lengths:
        raise ValueError(f"{what}: no metrics given")
    n = next(iter(lengths.values()))
    for name, size in lengths.items():
        if size != n:
            raise ValueError(f"{what}: every metric needs one value per query; {name!r} has {size}, expected {n}")
    if n == 0:
        raise ValueError(f"{what}: no queries")
    return n


def _block_rows(columns: Mapping[str, QueryValues], index: ClusterIndex, total: int) -> int:
    """Resamples per work block: a median needs (rows, queries) counts, means only (rows, clusters)."""
    medians = any(col.statistic == "median" for col in columns.values())
    width = index.labels.size if medians else index.num_clusters  # the same for singleton clusters
    return max(1, min(total, _BLOCK_ELEMENTS // width))


def _percentiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return float(low), float(high)


def bootstrap_intervals(
    columns: Mapping[str, QueryValues],
    *,
    clusters: ClusterIds = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> dict[str, tuple[float, float] | None]:
    """Percentile bootstrap interval of every metric, all from the same resamples of the clusters.

    Args:
        columns: metric name → its per-query values (all of the same length).
        clusters: one cluster id per query, in the same order (e.g. each clip's video id): a
            resample draws clusters with replacement and keeps all their queries. None (or ids
            that are all distinct) = every query its own cluster: the plain per-query bootstrap,
            with exactly its results.
        num_resamples: bootstrap resamples (>= 1).
        level: confidence level, e.g. 0.95.
        seed: seed of `numpy.random.default_rng`; same inputs + seed = same intervals.

    Returns:
        Metric name → (low, high), in the order given; None for a metric whose values are not
        all finite (an unknown rank has no interval).

    Raises:
        ValueError: no metrics, no queries, columns of different lengths, cluster ids that are
            not one per query or are missing (None, NaN), a bad level or count.
        TypeError: `num_resamples` is not an int.

    Example:
        >>> import numpy as np
        >>> hits = QueryValues(np.array([1.0, 0.0, 1.0, 1.0]), "mean", 100.0)
        >>> low, high = bootstrap_intervals({"R@1": hits}, seed=0)["R@1"]
        >>> 0.0 <= low <= 75.0 <= high <= 100.0
        True
        >>> # Two videos: a resample holds v1 twice (R@1 50), each once (75) or v2 twice (100).
        >>> bootstrap_intervals({"R@1": hits}, clusters=["v1", "v1", "v2", "v2"], seed=0)["R@1"]
        (50.0, 100.0)
    """
    num_resamples, level, seed = check_bootstrap_args(num_resamples, level, seed)
    n = _common_length(columns, "bootstrap_intervals")
    index = cluster_index(clusters, n, "bootstrap_intervals: clusters")
    finite = {name: col for name, col in columns.items() if np.isfinite(col.values).all()}
    out: dict[str, tuple[float, float] | None] = dict.fromkeys(columns)
    if not finite:
        return out
    resampler = _Resampler(finite, clusters=index)
    rng = np.random.default_rng(seed)
    samples = {name: np.empty(num_resamples) for name in finite}
    step = _block_rows(finite, index, num_resamples)
    for start in range(0, num_resamples, step):
        rows = min(step, num_resamples - start)
        for name, values in resampler.stats(_resample_counts(rng, index.num_clusters, rows)).items():
            samples[name][start : start + rows] = values
    for name in finite:
        out[name] = _percentiles(samples[name], level)
    return out


def paired_comparison(
    columns_a: Mapping[str, QueryValues],
    columns_b: Mapping[str, QueryValues],
    *,
    clusters: ClusterIds = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    interval: bool = True,
) -> dict[str, PairedResult | None]:
    """Compare two systems metric by metric on the same queries (row i of A and of B = one query).

    The difference is A - B. Its interval: percentile interval of the difference over paired
    bootstrap resamples (both systems see the same resampled clusters). Its p-value: the paired
    randomisation test: under "no difference" the two systems' values on a cluster are
    exchangeable, so each cluster's are swapped (all its queries at once) with probability 1/2,
    `num_resamples` times; p = (1 + #{|d*| >= |d|}) / (1 + R).

    Args:
        columns_a: metric name → per-query values of system A.
        columns_b: the same metrics for system B, same queries in the same order.
        clusters: one cluster id per shared query (see `bootstrap_intervals`); None = every
            query its own cluster, with exactly the results of the per-query tests.
        num_resamples: bootstrap resamples, and randomisation rounds (>= 1).
        level: confidence level of the interval.
        seed: seed of `numpy.random.default_rng`.
        interval: compute the interval of the difference; without it (only the p-value is
            needed, e.g. to mark ties on a leaderboard) `ci_low`/`ci_high` are NaN and the
            bootstrap is skipped, halving the work.

    Returns:
        Metric name → `PairedResult` (`num_clusters` set when `clusters` is given), in the order
        of `columns_a`; None for a metric whose values are not all finite.

    Raises:
        ValueError: the two sides name different metrics, a metric's statistic or scale differs,
            lengths differ, no queries, bad cluster ids, a bad level or count.
        TypeError: `num_resamples` is not an int.
    """
    num_resamples, level, seed = check_bootstrap_args(num_resamples, level, seed)
    if list(columns_a) != list(columns_b):
        raise ValueError(f"paired_comparison: both systems need the same metrics, got {list(columns_a)} and {list(columns_b)}")
    for name in columns_a:
        a, b = columns_a[name], columns_b[name]
        if (a.statistic, a.scale) != (b.statistic, b.scale):
            raise ValueError(f"paired_comparison: metric {name!r} is a {a.statistic} on one side and a {b.statistic} on the other")
    n = _common_length({**{f"A {k}": v for k, v in columns_a.items()}, **{f"B {k}": v for k, v in columns_b.items()}}, "paired_comparison")
    index = cluster_index(clusters, n, "paired_comparison: clusters")
    names = [name for name in columns_a if np.isfinite(columns_a[name].values).all() and np.isfinite(columns_b[name].values).all()]
    out: dict[str, PairedResult | None] = dict.fromkeys(columns_a)
    if not names:
        return out
    # Separate streams: the p-value is the same whether or not the interval is computed.
    boot_seed, swap_seed = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(boot_seed)
    kept_a, kept_b = {name: columns_a[name] for name in names}, {name: columns_b[name] for name in names}
    step = _block_rows(kept_a, index, num_resamples)
    num_clusters = index.num_clusters

    # Paired bootstrap: the same counts for both systems.
    boot = {name: np.full(num_resamples, np.nan) for name in names}
    if interval:
        res_a = _Resampler(kept_a, clusters=index)
        res_b = _Resampler(kept_b, order=res_a.order, clusters=index)  # the same queries, the same clusters
        for start in range(0, num_resamples, step):
            rows = min(step, num_resamples - start)
            counts = _resample_counts(rng, num_clusters, rows)
            stats_a, stats_b = res_a.stats(counts), res_b.stats(counts)
            for name in names:
                boot[name][start : start + rows] = stats_a[name] - stats_b[name]

    # Randomisation test: the same swaps for every metric.
    observed = {name: columns_a[name].value() - columns_b[name].value() for name in names}
    extreme = dict.fromkeys(names, 0)
    rng = np.random.default_rng(swap_seed)
    swapper = _Swapper(kept_a, kept_b, index)
    for start in range(0, num_resamples, step):
        rows = min(step, num_resamples - start)
        flips = rng.integers(0, 2, size=(rows, num_clusters), dtype=np.int8).astype(bool)
        diffs = swapper.differences(flips)
        for name in names:
            # A relative tolerance keeps float noise from deciding ties with the observed value.
            threshold = abs(observed[name]) - 1e-9 * max(1.0, abs(observed[name]))
            extreme[name] += int((np.abs(diffs[name]) >= threshold).sum())

    for name in names:
        low, high = _percentiles(boot[name], level) if interval else (math.nan, math.nan)
        out[name] = PairedResult(
            value_a=columns_a[name].value(),
            value_b=columns_b[name].value(),
            difference=observed[name],
            ci_low=low,
            ci_high=high,
            p_value=(1 + extreme[name]) / (1 + num_resamples),
            num_queries=n,
            num_clusters=None if clusters is None else num_clusters,
        )
    return out


def intervals_output(
    columns: Mapping[str, QueryValues],
    *,
    num_resamples: int,
    level: float,
    seed: int,
    clusters: ClusterIds = None,
    cluster_key: str | None = None,
) -> dict[str, Any]:
    """The interval part of a kernel's output: {"ci_low": {...}, "ci_high": {...}, "ci": {...}}.

    Metrics without an interval (see `bootstrap_intervals`) are left out of ci_low/ci_high.
    `clusters` and `cluster_key` (the ids' name, e.g. "video_id") come together: the intervals
    then resample clusters and `ci` records "cluster bootstrap (<cluster_key>)" with the key
    and the number of clusters. Without them, the output is exactly the per-query bootstrap's.

    Raises:
        ValueError: only one of `clusters` and `cluster_key` given, or as `bootstrap_intervals`.
    """
    if (clusters is None) != (cluster_key is None):
        raise ValueError("intervals_output: give both clusters (the ids) and cluster_key (their name), or neither")
    _check_cluster_key(cluster_key)
    index = None if clusters is None else cluster_index(clusters, _common_length(columns, "intervals_output"), "intervals_output: clusters")
    intervals = bootstrap_intervals(columns, clusters=index, num_resamples=num_resamples, level=level, seed=seed)
    kept = {name: bounds for name, bounds in intervals.items() if bounds is not None}
    num_clusters = None if index is None else index.num_clusters
    return {
        "ci_low": {name: low for name, (low, _) in kept.items()},
        "ci_high": {name: high for name, (_, high) in kept.items()},
        "ci": interval_info(num_resamples, level, seed, cluster_key=cluster_key, num_clusters=num_clusters),
    }
