"""The vectorised engine under `vidret.scoring.bootstrap`: clusters, resampled means and medians, sign flips.

Queries that share a source (the clips of one long video) are not independent, so resampling
works on clusters: a bootstrap resample draws C clusters with replacement out of the C there
are, and keeps every query of each drawn cluster (a query without a declared cluster is its own
cluster, which is the plain bootstrap over queries). A block of resamples is a (rows, C) matrix
of counts: how often each cluster was drawn. From it, without ever listing the drawn queries:

- means: with per-cluster sums S (C, metrics) and sizes m (C,), a resample's mean is
  (counts @ S) / (counts @ m), i.e. the mean over every drawn query (a ratio: resamples differ
  in size when clusters do);
- medians: each query counts as often as its cluster was drawn; with the queries in sorted order
  the median is found from the cumulative counts (`_medians`), one (rows, queries) pass;
- the paired randomisation test flips whole clusters: a flipped cluster's values of the two
  systems trade places, which flips the sign of that cluster's summed difference.

With singleton clusters every step reduces to the per-query computation exactly (same draws,
same sums in the same order), so results then equal the plain bootstrap's bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

if TYPE_CHECKING:  # only for hints: bootstrap imports this module
    from vidret.scoring.bootstrap import QueryValues

# Cluster ids: one hashable per query (ints, strings, ...), an already validated `ClusterIndex`
# (to validate once and reuse), or None for "every query its own cluster".
ClusterIds = Union[Iterable[Hashable], np.ndarray, "ClusterIndex", None]


@dataclass(frozen=True)
class ClusterIndex:
    """Which cluster each query belongs to, as validated by `cluster_index`.

    Attributes:
        labels: (queries,) int64: the cluster of each query, numbered 0..num_clusters-1 in order
            of first appearance.
        num_clusters: how many distinct clusters there are.
    """

    labels: np.ndarray
    num_clusters: int

    @property
    def singletons(self) -> bool:
        """True when every query is its own cluster (the plain bootstrap over queries)."""
        return self.num_clusters == self.labels.size

    def in_order(self, order: np.ndarray | None) -> np.ndarray:
        """The cluster of each query taken in `order`, renumbered by first appearance along it.

        Clusters are exchangeable under resampling, so any fixed numbering is valid; numbering
        them along the order the queries are processed in makes singleton clusters number
        0, 1, 2, ... in that order, exactly the per-query layout.
        """
        if order is None:
            return self.labels
        if self.singletons:
            return np.arange(self.labels.size)
        return _by_first_appearance(self.labels[order], self.num_clusters)


def _by_first_appearance(labels: np.ndarray, num_clusters: int) -> np.ndarray:
    """`labels` (each of 0..num_clusters-1 occurring) renumbered 0, 1, ... in order of first appearance."""
    _, first = np.unique(labels, return_index=True)
    renumber = np.empty(num_clusters, dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(num_clusters)
    return renumber[labels]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def cluster_index(clusters: ClusterIds, num_queries: int, what: str = "clusters") -> ClusterIndex:
    """Validate per-query cluster ids and number the clusters.

    Args:
        clusters: one id per query, in the queries' order (ints, strings, any hashable; equal
            ids = one cluster), a `ClusterIndex` (checked for its length only), or None: every
            query is its own cluster.
        num_queries: how many queries there are.
        what: the argument's name, for errors.

    Returns:
        The `ClusterIndex` (clusters numbered by first appearance).

    Raises:
        ValueError: not one id per query, a missing id (None or NaN), an unhashable id, or
            ids that are not a flat sequence.
    """
    if clusters is None:
        return ClusterIndex(np.arange(num_queries), num_queries)
    if isinstance(clusters, ClusterIndex):
        if clusters.labels.size != num_queries:
            raise ValueError(f"{what}: clusters of {clusters.labels.size} queries for {num_queries} queries; give exactly one per query")
        return clusters
    if isinstance(clusters, (str, bytes)):
        raise ValueError(f"{what}: expected one cluster id per query, got the single string {clusters!r}")
    ids = clusters if isinstance(clusters, np.ndarray) else None
    if ids is None:
        try:
            items = list(clusters)
        except TypeError:
            raise ValueError(f"{what}: expected a sequence of cluster ids, got {type(clusters).__name__}") from None
        ids = np.empty(len(items), dtype=object)
        ids[:] = items
    if ids.ndim != 1:
        raise ValueError(f"{what}: cluster ids must be 1-D (one per query), got shape {ids.shape}")
    if ids.size != num_queries:
        raise ValueError(f"{what}: {ids.size} cluster ids for {num_queries} queries; give exactly one per query")
    if ids.dtype.kind == "f" and np.isnan(ids).any():
        raise ValueError(f"{what}: cluster id of query {int(np.isnan(ids).argmax())} is NaN; every query needs a cluster")
    if ids.dtype.kind != "O":
        distinct, inverse = np.unique(ids, return_inverse=True)
        return ClusterIndex(_by_first_appearance(inverse.reshape(-1).astype(np.int64), distinct.size), distinct.size)
    numbering: dict[Hashable, int] = {}
    labels = np.empty(ids.size, dtype=np.int64)
    for i, value in enumerate(ids):
        if _missing(value):
            raise ValueError(f"{what}: cluster id of query {i} is {value!r}; every query needs a cluster")
        try:
            labels[i] = numbering.setdefault(value, len(numbering))
        except TypeError:
            raise ValueError(f"{what}: cluster id of query {i} ({type(value).__name__}) is not hashable") from None
    return ClusterIndex(labels, len(numbering))


def _resample_counts(rng: np.random.Generator, n: int, rows: int) -> np.ndarray:
    """(rows, n) counts: how often each of n units is drawn in each of `rows` resamples of size n."""
    idx = rng.integers(0, n, size=(rows, n))
    idx += np.arange(rows)[:, None] * n
    return np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n)


def _medians(sorted_values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each resample given its counts, in the order of `sorted_values` (ascending).

    A resample of N draws (its row's total; rows may differ), sorted, has its median at
    positions (N-1)//2 and N//2 (0-based; the two are averaged, as `numpy.median` does). The
    value at position p is the first sorted value whose cumulative count exceeds p. One running
    sum over all rows in turn is ascending, and row r's part of it runs from S (the total of the
    rows before it) to S + N; so a single `searchsorted` for S + p finds every row's positions.
    """
    rows, n = counts.shape
    flat = np.cumsum(counts)  # all rows in turn (C order)
    ends = flat[n - 1 :: n]
    starts = np.concatenate(([0], ends[:-1]))
    totals = ends - starts
    row_base = np.arange(rows) * n
    lo = np.searchsorted(flat, starts + (totals - 1) // 2, side="right") - row_base
    hi = np.searchsorted(flat, starts + totals // 2, side="right") - row_base
    return (sorted_values[lo] + sorted_values[hi]) / 2.0


class _Resampler:
    """Per-query columns prepared once for resampling clusters (by default, single queries).

    Clusters are exchangeable under resampling, so queries may be put in any fixed order and
    clusters numbered in any fixed way first. Queries are put in the sorted order of the first
    median column (its counts then need no reordering, the costliest step otherwise) and the
    clusters numbered by first appearance along it. `order` is that query order; a caller
    resampling two systems jointly passes the same one (and the same clusters).

    Means become per-cluster sums (C, metrics) and sizes; each median keeps its values sorted
    and, per sorted query, the cluster it belongs to (None when that is 0, 1, 2, ...).
    """

    def __init__(
        self, columns: Mapping[str, QueryValues], order: np.ndarray | None = None, clusters: ClusterIndex | None = None
    ) -> None:
        medians = [name for name in columns if columns[name].statistic == "median"]
        if order is None:
            first = columns[medians[0]].values if medians else None
            order = np.argsort(first, kind="stable") if first is not None else None
        self.order = order
        n = next(iter(columns.values())).values.size
        clusters = clusters if clusters is not None else ClusterIndex(np.arange(n), n)
        labels = clusters.in_order(order)
        self.num_clusters = clusters.num_clusters
        self.sizes = np.bincount(labels, minlength=self.num_clusters)
        cols = {name: (col.values[order] if order is not None else col.values) for name, col in columns.items()}
        self.mean_names = [name for name in columns if columns[name].statistic == "mean"]
        self.mean_matrix = (
            np.stack([np.bincount(labels, weights=cols[name], minlength=self.num_clusters) for name in self.mean_names], axis=1)
            if self.mean_names
            else None
        )
        self.mean_scale = np.array([columns[name].scale for name in self.mean_names])
        self.medians = []
        for name in medians:
            within = np.argsort(cols[name], kind="stable")
            cluster_of = labels[within]  # the cluster of each query in this column's sorted order
            identity = bool((cluster_of == np.arange(cluster_of.size)).all())  # singletons, already sorted: no gather
            self.medians.append((name, None if identity else cluster_of, cols[name][within], columns[name].scale))

    def stats(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric over each resample (rows of per-cluster `counts`, clusters numbered as here)."""
        out: dict[str, np.ndarray] = {}
        if self.mean_matrix is not None:
            drawn = counts @ self.sizes  # queries in each resample (exact integers)
            means = (counts.astype(np.float64) @ self.mean_matrix) / drawn[:, None] * self.mean_scale
            for j, name in enumerate(self.mean_names):
                out[name] = means[:, j]
        for name, cluster_of, sorted_values, scale in self.medians:
            # np.take keeps the rows contiguous (counts[:, idx] comes out column-major: a slow running sum).
            out[name] = scale * _medians(sorted_values, counts if cluster_of is None else np.take(counts, cluster_of, axis=1))
        return out


class _Swapper:
    """Two systems' columns prepared once for the paired randomisation test over clusters.

    `differences(flips)` gives, per metric, A's metric minus B's for each row of `flips`
    (rows, clusters): True at (r, c) = in round r the two systems' values trade places on every
    query of cluster c (clusters numbered as in `clusters.labels`).
    """

    def __init__(self, columns_a: Mapping[str, QueryValues], columns_b: Mapping[str, QueryValues], clusters: ClusterIndex) -> None:
        self.clusters = clusters
        self.num_queries = clusters.labels.size
        self.mean_names = [name for name in columns_a if columns_a[name].statistic == "mean"]
        # A swap flips the sign of the cluster's summed difference: one matrix product for every mean metric.
        self.mean_diffs = (
            np.stack(
                [
                    np.bincount(clusters.labels, weights=columns_a[name].values - columns_b[name].values, minlength=clusters.num_clusters)
                    for name in self.mean_names
                ],
                axis=1,
            )
            if self.mean_names
            else None
        )
        self.mean_scale = np.array([columns_a[name].scale for name in self.mean_names])
        # A median: the 2n values of both systems sorted once. After the swaps, A's column holds
        # entry j (query q's value of A or of B) exactly when q's cluster was swapped == j is B's;
        # B's column holds the rest. Both are then weighted medians over the sorted 2n values.
        n = self.num_queries
        self.medians = []
        for name in columns_a:
            if columns_a[name].statistic == "median":
                both = np.concatenate([columns_a[name].values, columns_b[name].values])
                order = np.argsort(both, kind="stable")
                cluster_of = clusters.labels[order % n]  # the cluster of each sorted entry's query
                self.medians.append((name, both[order], cluster_of, order >= n, columns_a[name].scale))

    def differences(self, flips: np.ndarray) -> dict[str, np.ndarray]:
        """Metric of A minus metric of B per metric, for each round (row) of `flips`."""
        out: dict[str, np.ndarray] = {}
        if self.mean_diffs is not None:
            signs = 1.0 - 2.0 * flips
            for j, values in enumerate((signs @ self.mean_diffs / self.num_queries * self.mean_scale).T):
                out[self.mean_names[j]] = values
        for name, sorted_values, cluster_of, from_b, scale in self.medians:
            in_a = np.take(flips, cluster_of, axis=1) == from_b  # (rounds, 2n): entries of A's swapped column
            out[name] = scale * (_medians(sorted_values, in_a) - _medians(sorted_values, ~in_a))
        return out
