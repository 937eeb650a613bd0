"""Confidence intervals and paired tests over per-query values (bootstrap, randomisation).

Every reported metric is a statistic of one value per query: R@K is the mean of "hit within K"
(x100), MnR the mean rank, MdR the median rank, mAP@K the mean AP@K (x100). `QueryValues` holds
such a column; the kernels (`retrieval_query_values`, `composed_query_values`) build them, so the
metric and its interval come from the same numbers.

- `bootstrap_intervals`: percentile intervals. Resample the queries with replacement
  `num_resamples` times and take the (1 - level) / 2 and (1 + level) / 2 quantiles of the
  metric over the resamples.
- `paired_comparison`: two systems on the same queries. The interval of the difference comes
  from a paired bootstrap (the same resampled queries for both); the p-value from a paired
  randomisation test (each query's two values swapped with probability 1/2), two-sided.

Vectorised: a resample is a row of per-query counts (how often each query was drawn); means are
one matrix product of the counts with the columns, medians a cumulative sum over the counts in
sorted order. Work is done in blocks of about 2**22 counts, so memory stays near 32 MiB however
many queries there are. Everything is seeded (`numpy.random.default_rng(seed)`): the same
inputs and seed give the same intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from vidret.scoring._checks import check_k

DEFAULT_RESAMPLES = 1000
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
    """

    value_a: float
    value_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    num_queries: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.value_a,
            "b": self.value_b,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "num_queries": self.num_queries,
        }


def check_bootstrap_args(num_resamples: Any, level: Any, seed: Any = DEFAULT_SEED) -> tuple[int, float, int]:
    """Validate a resample count, a confidence level and a seed.

    Returns:
        (num_resamples, level, seed) as int, float, int.

    Raises:
        TypeError: `num_resamples` or `seed` is not an int.
        ValueError: `num_resamples` < 1, `seed` < 0, or `level` not strictly between 0 and 1.
    """
    num_resamples = check_k(num_resamples, "num_resamples")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int >= 0, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be a number strictly between 0 and 1 (e.g. 0.95), got {level!r}")
    return num_resamples, float(level), int(seed)


def interval_info(num_resamples: int = DEFAULT_RESAMPLES, level: float = DEFAULT_LEVEL, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """How intervals were computed, as recorded next to them (results `ci`, kernel outputs)."""
    return {"method": INTERVAL_METHOD, "level": level, "num_resamples": num_resamples, "seed": seed}


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


def _resample_counts(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    """(rows, n) counts: how often each query is drawn in each of `rows` resamples of size n."""
    idx = rng.integers(0, n, size=(rows, n))
    idx += np.arange(rows)[:, None] * n
    return np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n)


def _medians(sorted_values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each resample given its counts, in the order of `sorted_values` (ascending).

    A resample of n draws, sorted, has its median at positions (n-1)//2 and n//2 (0-based; the
    two are averaged, as `numpy.median` does). The value at position p is the first sorted value
    whose cumulative count exceeds p. Each row's cumulative counts run from 0 to n, so after
    shifting row r by r * (n + 1) all rows form one ascending array and a single `searchsorted`
    finds the positions of every row at once.
    """
    rows, n = counts.shape
    cum = counts.cumsum(axis=1)
    cum += np.arange(rows)[:, None] * (n + 1)
    flat = cum.ravel()
    starts = np.arange(rows) * (n + 1)
    row_base = np.arange(rows) * n
    lo = np.searchsorted(flat, starts + (n - 1) // 2, side="right") - row_base
    hi = np.searchsorted(flat, starts + n // 2, side="right") - row_base
    return (sorted_values[lo] + sorted_values[hi]) / 2.0


class _Resampler:
    """Per-query columns prepared once: means as one matrix, medians sorted with their order.

    Queries are exchangeable under resampling (every query is drawn with the same probability),
    so the columns may be put in any fixed query order first. They are put in the sorted order
    of the first median column: its counts then need no reordering, the costliest step otherwise.
    `order` is that query order; a caller resampling two systems jointly passes the same one.
    """

    def __init__(self, columns: Mapping[str, QueryValues], order: np.ndarray | None = None) -> None:
        medians = [name for name in columns if columns[name].statistic == "median"]
        if order is None:
            first = columns[medians[0]].values if medians else None
            order = np.argsort(first, kind="stable") if first is not None else None
        self.order = order
        cols = {name: (col.values[order] if order is not None else col.values) for name, col in columns.items()}
        self.mean_names = [name for name in columns if columns[name].statistic == "mean"]
        self.mean_matrix = np.stack([cols[name] for name in self.mean_names], axis=1) if self.mean_names else None
        self.mean_scale = np.array([columns[name].scale for name in self.mean_names])
        self.medians = []
        for name in medians:
            within = np.argsort(cols[name], kind="stable")
            in_order = bool((within == np.arange(within.size)).all())  # already sorted: no gather
            self.medians.append((name, None if in_order else within, cols[name][within], columns[name].scale))

    def stats(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric over each resample (rows of `counts`, in this resampler's query order)."""
        n = counts.shape[1]
        out: dict[str, np.ndarray] = {}
        if self.mean_matrix is not None:
            means = (counts.astype(np.float64) @ self.mean_matrix) / n * self.mean_scale
            for j, name in enumerate(self.mean_names):
                out[name] = means[:, j]
        for name, within, sorted_values, scale in self.medians:
            out[name] = scale * _medians(sorted_values, counts if within is None else counts[:, within])
        return out


def _block_rows(n: int, total: int) -> int:
    return max(1, min(total, _BLOCK_ELEMENTS // n))


def _percentiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return float(low), float(high)


def bootstrap_intervals(
    columns: Mapping[str, QueryValues],
    *,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> dict[str, tuple[float, float] | None]:
    """Percentile bootstrap interval of every metric, all from the same resamples of the queries.

    Args:
        columns: metric name → its per-query values (all of the same length).
        num_resamples: bootstrap resamples (>= 1).
        level: confidence level, e.g. 0.95.
        seed: seed of `numpy.random.default_rng`; same inputs + seed = same intervals.

    Returns:
        Metric name → (low, high), in the order given; None for a metric whose values are not
        all finite (an unknown rank has no interval).

    Raises:
        ValueError: no metrics, no queries, columns of different lengths, a bad level or count.
        TypeError: `num_resamples` is not an int.

    Example:
        >>> import numpy as np
        >>> hits = QueryValues(np.array([1.0, 0.0, 1.0, 1.0]), "mean", 100.0)
        >>> low, high = bootstrap_intervals({"R@1": hits}, seed=0)["R@1"]
        >>> 0.0 <= low <= 75.0 <= high <= 100.0
        True
    """
    num_resamples, level, seed = check_bootstrap_args(num_resamples, level, seed)
    n = _common_length(columns, "bootstrap_intervals")
    finite = {name: col for name, col in columns.items() if np.isfinite(col.values).all()}
    out: dict[str, tuple[float, float] | None] = dict.fromkeys(columns)
    if not finite:
        return out
    resampler = _Resampler(finite)
    rng = np.random.default_rng(seed)
    samples = {name: np.empty(num_resamples) for name in finite}
    step = _block_rows(n, num_resamples)
    for start in range(0, num_resamples, step):
        rows = min(step, num_resamples - start)
        for name, values in resampler.stats(_resample_counts(rng, n, rows)).items():
            samples[name][start : start + rows] = values
    for name in finite:
        out[name] = _percentiles(samples[name], level)
    return out


def _swap_differences(columns_a: Mapping[str, QueryValues], columns_b: Mapping[str, QueryValues], swap: np.ndarray) -> dict[str, np.ndarray]:
    """Metric of A minus metric of B per metric, for each row of `swap` (True = the query's values trade places)."""
    n = swap.shape[1]
    out: dict[str, np.ndarray] = {}
    means = [name for name in columns_a if columns_a[name].statistic == "mean"]
    if means:
        # A swap flips the sign of that query's difference: one matrix product for every mean metric.
        signs = 1.0 - 2.0 * swap
        diffs = np.stack([columns_a[name].values - columns_b[name].values for name in means], axis=1)
        scales = np.array([columns_a[name].scale for name in means])
        for j, values in enumerate((signs @ diffs / n * scales).T):
            out[means[j]] = values
    for name in columns_a:
        if columns_a[name].statistic == "median":
            a, b = columns_a[name], columns_b[name]
            swapped_a = np.where(swap, b.values, a.values)
            swapped_b = np.where(swap, a.values, b.values)
            out[name] = a.scale * (np.median(swapped_a, axis=1) - np.median(swapped_b, axis=1))
    return out


def paired_comparison(
    columns_a: Mapping[str, QueryValues],
    columns_b: Mapping[str, QueryValues],
    *,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    interval: bool = True,
) -> dict[str, PairedResult | None]:
    """Compare two systems metric by metric on the same queries (row i of A and of B = one query).

    The difference is A - B. Its interval: percentile interval of the difference over paired
    bootstrap resamples (both systems see the same resampled queries). Its p-value: the paired
    randomisation test: under "no difference" a query's two values are exchangeable, so each is
    swapped with probability 1/2 `num_resamples` times; p = (1 + #{|d*| >= |d|}) / (1 + R).

    Args:
        columns_a: metric name → per-query values of system A.
        columns_b: the same metrics for system B, same queries in the same order.
        num_resamples: bootstrap resamples, and randomisation rounds (>= 1).
        level: confidence level of the interval.
        seed: seed of `numpy.random.default_rng`.
        interval: compute the interval of the difference; without it (only the p-value is
            needed, e.g. to mark ties on a leaderboard) `ci_low`/`ci_high` are NaN and the
            bootstrap is skipped, halving the work.

    Returns:
        Metric name → `PairedResult`, in the order of `columns_a`; None for a metric whose values
        are not all finite.

    Raises:
        ValueError: the two sides name different metrics, a metric's statistic or scale differs,
            lengths differ, no queries, a bad level or count.
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
    names = [name for name in columns_a if np.isfinite(columns_a[name].values).all() and np.isfinite(columns_b[name].values).all()]
    out: dict[str, PairedResult | None] = dict.fromkeys(columns_a)
    if not names:
        return out
    # Separate streams: the p-value is the same whether or not the interval is computed.
    boot_seed, swap_seed = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(boot_seed)
    step = _block_rows(n, num_resamples)

    # Paired bootstrap: the same counts for both systems.
    res_a = _Resampler({name: columns_a[name] for name in names})
    res_b = _Resampler({name: columns_b[name] for name in names}, order=res_a.order)  # the same queries
    boot = {name: np.full(num_resamples, np.nan) for name in names}
    for start in range(0, num_resamples if interval else 0, step):
        rows = min(step, num_resamples - start)
        counts = _resample_counts(rng, n, rows)
        stats_a, stats_b = res_a.stats(counts), res_b.stats(counts)
        for name in names:
            boot[name][start : start + rows] = stats_a[name] - stats_b[name]

    # Randomisation test: the same swaps for every metric.
    observed = {name: columns_a[name].value() - columns_b[name].value() for name in names}
    extreme = dict.fromkeys(names, 0)
    rng = np.random.default_rng(swap_seed)
    for start in range(0, num_resamples, step):
        rows = min(step, num_resamples - start)
        swap = rng.integers(0, 2, size=(rows, n), dtype=np.int8).astype(bool)
        diffs = _swap_differences({k: columns_a[k] for k in names}, {k: columns_b[k] for k in names}, swap)
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
        )
    return out


def intervals_output(
    columns: Mapping[str, QueryValues], *, num_resamples: int, level: float, seed: int
) -> dict[str, Any]:
    """The interval part of a kernel's output: {"ci_low": {...}, "ci_high": {...}, "ci": {...}}.

    Metrics without an interval (see `bootstrap_intervals`) are left out of ci_low/ci_high.
    """
    intervals = bootstrap_intervals(columns, num_resamples=num_resamples, level=level, seed=seed)
    kept = {name: bounds for name, bounds in intervals.items() if bounds is not None}
    return {
        "ci_low": {name: low for name, (low, _) in kept.items()},
        "ci_high": {name: high for name, (_, high) in kept.items()},
        "ci": interval_info(num_resamples, level, seed),
    }
