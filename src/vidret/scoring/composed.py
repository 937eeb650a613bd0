"""Composed video retrieval metrics (TF-CoVR): CIRCO-style mAP@K and Recall@K.

AP@K = (1 / min(|G|, K)) * sum_{i<=K} P(i) * rel(i), with G the valid targets of the query,
rel(i) = 1 when the i-th ranked id is in G and P(i) the precision at i. Targets that are absent
from the gallery still count in |G| (they can never be retrieved).

How a protocol scores reaches the kernel as behaviour, never as a protocol's name:

- ``count_repeats=False`` (default): G is a set (repeated target ids merged), a ranking lists
  each gallery id at most once, so AP <= 1; R@K = share of queries with a valid target (or, with
  `designated_targets`, the designated one) in the top K.
- ``count_repeats=True`` (what the TF-CoVR evaluation code computes): the gallery holds one entry
  per annotation row, so a ranking may repeat an id and every copy in the top K is a hit; |G| is
  the length of the target list as written (repeats included); AP can therefore exceed 1. R@K
  counts the copies of the row's designated target (`designated_targets`, required) in the top
  K, averaged over queries, so it can exceed 100 too.
- ``decimals=2``: each value rounded the way that code rounds: ``round(mean * 100, 2)``.

The default cut-offs are the composed kernel's declared metrics (`vidret.scoring.metrics.KERNELS`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from vidret.scoring._checks import as_id_list, check_k_values, check_no_duplicates, check_same_length
from vidret.scoring.bootstrap import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    ClusterIds,
    QueryValues,
    check_bootstrap_args,
    intervals_output,
)
from vidret.scoring.metrics import KERNELS, column_metric, metric_spec

_KERNEL = KERNELS["composed"]
#: The declared default cut-offs of mAP@K and R@K.
DEFAULT_MAP_K = _KERNEL.default_cutoffs("mAP")
DEFAULT_RECALL_K = _KERNEL.default_cutoffs("R")


def composed_query_values(per_query: Mapping[str, Sequence[float]]) -> dict[str, QueryValues]:
    """The metrics' per-query values from a `composed_map(..., per_query=True)` output.

    mAP@K is the mean of AP@K (x100), R@K the mean of hit@K (x100), as `vidret.scoring.metrics`
    declares them. Values are taken as given: where repeats are counted AP and hit counts can
    exceed 1, and that is kept (no clamping).

    Args:
        per_query: {"AP@K": [...], "hit@K": [...], ...}; other keys (e.g. query ids) are ignored.

    Returns:
        {"mAP@K": ..., "R@K": ...} → `QueryValues`, in the order of `per_query`.

    Raises:
        ValueError: the columns have different lengths.
    """
    columns = {}
    for key, values in per_query.items():
        name = column_metric(key)  # "AP@K" feeds mAP@K, "hit@K" feeds R@K (see vidret.scoring.metrics)
        if name is not None:
            spec = metric_spec(name)
            columns[name] = QueryValues(np.asarray(values, dtype=np.float64), spec.family.statistic, spec.scale)
    if len({col.values.size for col in columns.values()}) > 1:
        raise ValueError(f"per-query columns have different lengths: { {k: v.values.size for k, v in columns.items()} }")
    return columns


def _designated(designated_targets: Sequence[Hashable] | None, n: int) -> list[Hashable] | None:
    if designated_targets is None:
        return None
    if isinstance(designated_targets, (str, bytes)):
        raise TypeError("designated_targets must hold one id per query, not a single string")
    designated = list(designated_targets)
    if len(designated) != n:
        raise ValueError(f"designated_targets must have one id per query: got {len(designated)} for {n} queries")
    return designated


def _repeat_scores(
    ranked: list[Hashable], listed: list[Hashable], designated: Hashable | None, ks: tuple[int, ...], rks: tuple[int, ...]
) -> tuple[list[float], list[float]]:
    """One query's AP@K and designated-target counts with repeats counted, summed in the order of
    the official TF-CoVR code.

    The official code sums ``precisions[:K]`` with `np.sum` over the retrieved list as it is
    (never padded), so the float result matches it bit for bit.
    """
    valid = set(listed)
    labels = np.array([item in valid for item in ranked], dtype=bool)
    precisions = np.cumsum(labels, axis=0) * labels / np.arange(1, labels.shape[0] + 1)
    ap = [float(np.sum(precisions[:k]) / min(len(listed), k)) for k in ks]
    if designated is None:
        return ap, []
    is_designated = np.array([item == designated for item in ranked], dtype=bool)
    return ap, [float(np.sum(is_designated[:k])) for k in rks]


def composed_map(
    rankings: Sequence[Iterable[Hashable]],
    targets: Sequence[Iterable[Hashable]],
    k_values: Iterable[int] = DEFAULT_MAP_K,
    recall_k_values: Iterable[int] = DEFAULT_RECALL_K,
    *,
    count_repeats: bool = False,
    decimals: int | None = None,
    designated_targets: Sequence[Hashable] | None = None,
    per_query: bool = False,
    intervals: bool = False,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    clusters: ClusterIds = None,
    cluster_key: str | None = None,
) -> dict[str, Any]:
    """mAP@K and Recall@K of ranked gallery ids against each query's valid targets.

    Args:
        rankings: one list of gallery ids per query, best first; only the first max(K) ids
            matter. Each id at most once, unless `count_repeats` (one gallery entry per
            annotation row: an id may repeat). An empty list is a query that
            failed upstream (its video could not be embedded): it scores 0 and is counted in
            `num_failed`.
        targets: one non-empty collection of valid target ids per query. Repeats are merged
            (|G| = distinct ids), unless `count_repeats` (the list counts as written).
        k_values: cut-offs for mAP@K (default: the composed kernel's declared ones).
        recall_k_values: cut-offs for R@K (default: the composed kernel's declared ones).
        count_repeats: a ranking may repeat an id and every copy in the top K is a hit; |G|
            counts the target list as written; R@K is the mean number of copies of the
            designated target in the top K (see the module docstring). Needs `designated_targets`.
        decimals: round each reported value to this many decimals (None = unrounded).
        designated_targets: one id per query (TF-CoVR's `target_video`). Given, R@K is about
            that id only: the share of queries with it in the top K (with `count_repeats`: the
            mean number of its copies there).
        per_query: also return "per_query": {"AP@K": [...] per mAP cut-off, "hit@K": [...] per
            recall cut-off}, one entry per query, unrounded (see `composed_query_values`).
        intervals: also return percentile bootstrap intervals of every metric ("ci_low",
            "ci_high": metric → bound, and "ci": how they were computed; see
            `vidret.scoring.bootstrap`). They are not rounded, and not clamped to 100.
        num_resamples: bootstrap resamples (with `intervals`).
        level: confidence level (with `intervals`).
        seed: bootstrap seed (with `intervals`).
        clusters: with `intervals`, one cluster id per query (e.g. each clip's video): the
            intervals resample whole clusters (see `vidret.scoring.bootstrap.intervals_output`).
        cluster_key: the name of those ids (e.g. "video_id"), recorded in "ci"; given with
            `clusters`. Without both, the plain bootstrap over queries.

    Returns:
        {"mAP@K": ..., "R@K": ..., "num_queries": n, "num_failed": f}, plus the requested
        extras; metric values are percentages (x100) like the papers, keys in the order of the
        cut-offs given; rounded to `decimals` when given.

    Raises:
        ValueError: no queries, lengths differ, a query has no target, a ranking repeats an id
            without `count_repeats`, a cut-off < 1 / the cut-off list is empty, `count_repeats`
            without `designated_targets`, a negative `decimals`, or a bad bootstrap argument.
        TypeError: a ranking/target entry (or `designated_targets`) is a bare string or not
            iterable, or a cut-off is not an int.

    Example:
        >>> # targets {a, b, c}; a at rank 2, b at rank 5, c never retrieved:
        >>> # AP@5 = (1/2 + 2/5) / min(3, 5) = 0.30
        >>> composed_map([["x", "a", "y", "z", "b"]], [["a", "b", "c"]], k_values=(5,), recall_k_values=(1, 5))
        {'mAP@5': 30.0, 'R@1': 0.0, 'R@5': 100.0, 'num_queries': 1, 'num_failed': 0}
        >>> # repeats counted: the gallery lists a twice (two rows name it); both copies are hits.
        >>> # AP@5 = (1/1 + 2/2) / min(1, 5) = 2.0; designated a appears twice in the top 5.
        >>> composed_map([["a", "a", "x"]], [["a"]], k_values=(5,), recall_k_values=(5,),
        ...              count_repeats=True, decimals=2, designated_targets=["a"])
        {'mAP@5': 200.0, 'R@5': 200.0, 'num_queries': 1, 'num_failed': 0}
    """
    if decimals is not None and (type(decimals) is not int or decimals < 0):
        raise ValueError(f"decimals must be an integer >= 0 or None, got {decimals!r}")
    repeats = bool(count_repeats)
    ks = check_k_values(k_values, "k_values")
    recall_ks = check_k_values(recall_k_values, "recall_k_values")
    if intervals:
        check_bootstrap_args(num_resamples, level, seed)
    n = check_same_length(rankings, targets, "rankings", "targets")
    if n == 0:
        raise ValueError("no queries: rankings and targets are empty")
    designated = _designated(designated_targets, n)
    if repeats and designated is None:
        raise ValueError(
            "count_repeats needs designated_targets (one id per query): Recall@K then counts the copies of the "
            "row's designated target (e.g. its target_video), not any valid target"
        )
    depth = max(ks + recall_ks)
    rel = np.zeros((n, depth), dtype=bool)
    recall_hit = np.zeros((n, depth), dtype=bool)
    num_targets = np.empty(n, dtype=np.float64)
    # One contiguous row per cut-off: np.mean over it sums like the official code's list.
    repeat_ap = np.zeros((len(ks), n))
    repeat_recall = np.zeros((len(recall_ks), n))
    num_failed = 0
    for i, (ranking, target) in enumerate(zip(rankings, targets)):
        listed = as_id_list(target, "targets", i)
        if not listed:
            raise ValueError(f"query {i} has no valid target; every query needs at least one")
        valid = set(listed)
        num_targets[i] = len(valid)
        ranked = as_id_list(ranking, "ranking", i)
        if not ranked:
            num_failed += 1  # failed upstream: a miss (its rows stay all zero)
            continue
        top = ranked[:depth]
        if repeats:
            repeat_ap[:, i], repeat_recall[:, i] = _repeat_scores(top, listed, designated[i], ks, recall_ks)
            continue
        check_no_duplicates(ranked, i)
        rel[i, : len(top)] = [item in valid for item in top]
        if designated is not None:
            recall_hit[i, : len(top)] = [item == designated[i] for item in top]

    query_columns: dict[str, np.ndarray] = {}
    if repeats:
        for j, k in enumerate(ks):
            query_columns[f"AP@{k}"] = repeat_ap[j]
        for j, k in enumerate(recall_ks):
            query_columns[f"hit@{k}"] = repeat_recall[j].astype(np.int64)  # copies: whole numbers
    else:
        hits = np.cumsum(rel, axis=1)  # hits[:, i-1] = relevant ids in the top i
        precision = hits / np.arange(1, depth + 1)
        ap_sum = np.cumsum(precision * rel, axis=1)  # sum_{i<=K} P(i) rel(i)
        found = np.cumsum(recall_hit if designated is not None else rel, axis=1)
        for k in ks:
            query_columns[f"AP@{k}"] = ap_sum[:, k - 1] / np.minimum(num_targets, k)
        for k in recall_ks:
            query_columns[f"hit@{k}"] = (found[:, k - 1] > 0).astype(np.int64)
    columns = composed_query_values(query_columns)
    out: dict[str, Any] = {}
    for name, column in columns.items():
        # The official TF-CoVR code: round(float(np.mean(per-query values)) * 100, 2).
        out[name] = column.value() if decimals is None else round(column.value(), decimals)
    out["num_queries"] = n
    out["num_failed"] = num_failed
    if intervals:
        out.update(
            intervals_output(
                columns, num_resamples=num_resamples, level=level, seed=seed, clusters=clusters, cluster_key=cluster_key
            )
        )
    if per_query:
        out["per_query"] = {key: values.tolist() for key, values in query_columns.items()}
    return out
