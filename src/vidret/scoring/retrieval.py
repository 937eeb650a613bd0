"""Text-video retrieval (LoVR) metrics: Recall@K, median rank (MdR) and mean rank (MnR).

A query's rank is the 1-based position of its best-ranked relevant item in the complete
ranking (several items may be relevant, e.g. all captions of a video). R@K = share of queries
with rank <= K. MdR/MnR are the median/mean of the ranks and must come from complete
rankings or exact ranks (see `vidret.scoring.first_relevant_ranks`), never from a top-K list.

Failed queries (their item could not be embedded upstream) are misses. In MdR/MnR they take
rank `gallery_size + 1`, one past the worst real rank, so `gallery_size` is required whenever
a query failed. The same rank goes to a query whose complete ranking holds no relevant item.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

from vidret.scoring._checks import as_id_list, check_k, check_k_values, check_no_duplicates, check_same_length
from vidret.scoring.bootstrap import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    ClusterIds,
    QueryValues,
    check_bootstrap_args,
    intervals_output,
)
from vidret.scoring.metrics import KERNELS

#: The declared default cut-offs of R@K (`vidret.scoring.metrics.KERNELS["retrieval"]`).
DEFAULT_RECALL_K = KERNELS["retrieval"].default_cutoffs("R")


def _ranks_from_rankings(
    rankings: Sequence[Iterable[Hashable]],
    relevant: Sequence[Iterable[Hashable]],
    max_k: int,
    gallery_size: int | None,
) -> list[float]:
    """Rank of each query's first relevant item: NaN = failed query, inf = a miss of unknown rank."""
    check_same_length(rankings, relevant, "rankings", "relevant")
    ranks: list[float] = []
    for i, (ranking, rel) in enumerate(zip(rankings, relevant)):
        valid = set(as_id_list(rel, "relevant", i))
        if not valid:
            raise ValueError(f"query {i} has no relevant item; every query needs at least one")
        ranked = as_id_list(ranking, "ranking", i)
        if not ranked:
            ranks.append(math.nan)  # failed upstream
            continue
        check_no_duplicates(ranked, i)
        if gallery_size is not None and len(ranked) > gallery_size:
            raise ValueError(f"ranking of query {i} has {len(ranked)} ids, more than gallery_size={gallery_size}")
        pos = next((p for p, item in enumerate(ranked, start=1) if item in valid), None)
        if pos is not None:
            ranks.append(pos)
        elif gallery_size is not None and len(ranked) == gallery_size:
            ranks.append(gallery_size + 1)  # complete ranking without a relevant item: a miss
        elif len(ranked) >= max_k:
            # Truncated list without a hit: a miss for every R@K, but the exact rank is unknown.
            ranks.append(math.inf)
        else:
            raise ValueError(
                f"ranking of query {i} has only {len(ranked)} ids and none is relevant, so R@{max_k} cannot be "
                f"decided; pass at least {max_k} ids, the complete ranking with gallery_size, or exact ranks"
            )
    return ranks


def _rank_values(ranks: Sequence[int | None], gallery_size: int | None) -> list[float]:
    """Exact ranks as floats, NaN for None (a miss); checks each rank."""
    values: list[float] = []
    for i, r in enumerate(ranks):
        if r is None:
            values.append(math.nan)
            continue
        r = check_k(r, f"rank of query {i}")
        if gallery_size is not None and r > gallery_size:
            raise ValueError(f"rank of query {i} is {r}, beyond gallery_size={gallery_size}")
        values.append(r)
    return values


def _query_values(values: list[float], ks: tuple[int, ...], gallery_size: int | None) -> dict[str, QueryValues]:
    """Per-query values of R@K, MdR and MnR; NaN (failed) becomes gallery_size + 1, inf stays unknown."""
    n = len(values)
    if n == 0:
        raise ValueError("no queries")
    failed = [i for i, v in enumerate(values) if math.isnan(v)]
    if failed and gallery_size is None:
        raise ValueError(
            f"query {failed[0]} failed (empty ranking or rank None); pass gallery_size so failed queries "
            "can enter MdR/MnR as rank gallery_size + 1"
        )
    rank_array = np.array(values, dtype=np.float64)
    if failed:
        rank_array[failed] = gallery_size + 1  # type: ignore[operator]
    # A real rank never exceeds gallery_size, so capping K there keeps the gallery_size + 1 given
    # to misses (failed queries, complete rankings without a hit) out of every R@K.
    cap = gallery_size if gallery_size is not None else math.inf
    columns = {f"R@{k}": QueryValues(rank_array <= min(k, cap), "mean", 100.0) for k in ks}
    columns["MdR"] = QueryValues(rank_array, "median")
    columns["MnR"] = QueryValues(rank_array, "mean")
    return columns


def retrieval_query_values(
    ranks: Sequence[int | None], k_values: Iterable[int] = DEFAULT_RECALL_K, gallery_size: int | None = None
) -> dict[str, QueryValues]:
    """One value per query for each metric of `retrieval_metrics`, from exact first-relevant ranks.

    R@K is the mean (x100) of "rank <= K", MdR the median and MnR the mean of the ranks, a miss
    (None) counting as rank gallery_size + 1. These columns are what `retrieval_metrics` reduces
    and what `vidret.scoring.bootstrap` resamples.

    Args:
        ranks: 1-based rank of each query's first relevant item; None = a miss.
        k_values: cut-offs for R@K (default: the retrieval kernel's declared ones).
        gallery_size: number of rankable gallery items; required when a rank is None.

    Returns:
        {"R@K": ..., "MdR": ..., "MnR": ...} → `QueryValues`.

    Raises:
        ValueError: no queries, a rank < 1 or > gallery_size, a miss without `gallery_size`,
            a cut-off < 1.
        TypeError: a rank or cut-off that is not an int.
    """
    ks = check_k_values(k_values, "k_values")
    if gallery_size is not None:
        gallery_size = check_k(gallery_size, "gallery_size")
    return _query_values(_rank_values(ranks, gallery_size), ks, gallery_size)


def retrieval_metrics(
    rankings: Sequence[Iterable[Hashable]] | None = None,
    relevant: Sequence[Iterable[Hashable]] | None = None,
    ranks: Sequence[int | None] | None = None,
    k_values: Iterable[int] = DEFAULT_RECALL_K,
    gallery_size: int | None = None,
    *,
    per_query: bool = False,
    intervals: bool = False,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    clusters: ClusterIds = None,
    cluster_key: str | None = None,
) -> dict[str, Any]:
    """Recall@K, MdR and MnR from rankings or from exact first-relevant ranks.

    Pass either `rankings` + `relevant`, or `ranks`.

    Args:
        rankings: one list of gallery ids per query, best first, each id at most once. An
            empty list is a failed query. A list without a relevant id must be the complete
            ranking (length `gallery_size`), or at least max(k_values) long; in the latter
            case R@K is exact but the rank is unknown, so MdR and MnR come back as None.
        relevant: with `rankings`: one non-empty collection of relevant ids per query.
        ranks: instead of rankings: the exact 1-based rank of each query's first relevant
            item (e.g. from `first_relevant_ranks`); None = failed query or no rankable
            relevant item (a miss).
        k_values: cut-offs for R@K (default: the retrieval kernel's declared ones).
        gallery_size: number of rankable gallery items. Required when a query failed
            (empty ranking / None rank): such a query enters MdR/MnR as rank gallery_size + 1.
            When given, ranks above it are rejected.
        per_query: also return "per_query": {"rank": [...]}, each query's rank in the form
            `ranks` takes (None = a miss; also for a truncated ranking without a hit, whose
            rank is unknown).
        intervals: also return percentile bootstrap intervals of every metric ("ci_low",
            "ci_high": metric → bound, and "ci": how they were computed; see
            `vidret.scoring.bootstrap`). MdR/MnR get none when some rank is unknown.
        num_resamples: bootstrap resamples (with `intervals`).
        level: confidence level (with `intervals`).
        seed: bootstrap seed (with `intervals`).
        clusters: with `intervals`, one cluster id per query (e.g. each clip's video): the
            intervals resample whole clusters (see `vidret.scoring.bootstrap.intervals_output`).
        cluster_key: the name of those ids (e.g. "video_id"), recorded in "ci"; given with
            `clusters`. Without both, the plain bootstrap over queries.

    Returns:
        {"R@K": ... (x100), "MdR": median rank, "MnR": mean rank, "num_queries": n,
        "num_failed": f}, plus the requested extras; MdR/MnR are None when some rank is unknown
        (see `rankings`).

    Raises:
        ValueError: both or neither of `rankings`/`ranks`; `relevant` missing with `rankings`
            or given with `ranks`; no queries; lengths differ; a query without relevant items;
            a repeated id in a ranking; a rank < 1 or > gallery_size; a failed query without
            `gallery_size`; a short ranking without a hit; a cut-off < 1; a bad bootstrap
            argument.
        TypeError: a rank or cut-off that is not an int, or an entry that is a bare string.

    Example:
        >>> retrieval_metrics(ranks=[1, 3, None], k_values=(1, 5), gallery_size=9)
        {'R@1': 33.33333333333333, 'R@5': 66.66666666666666, 'MdR': 3.0, 'MnR': 4.666666666666667, 'num_queries': 3, 'num_failed': 1}
    """
    ks = check_k_values(k_values, "k_values")
    if gallery_size is not None:
        gallery_size = check_k(gallery_size, "gallery_size")
    if intervals:
        check_bootstrap_args(num_resamples, level, seed)
    if (rankings is None) == (ranks is None):
        raise ValueError("pass either rankings (with relevant) or ranks, not both and not neither")
    if rankings is not None:
        if relevant is None:
            raise ValueError("rankings need relevant: one collection of relevant ids per query")
        values = _ranks_from_rankings(rankings, relevant, max(ks), gallery_size)
    else:
        if relevant is not None:
            raise ValueError("relevant is only used with rankings; ranks already say where the first hit is")
        values = _rank_values(ranks, gallery_size)  # type: ignore[arg-type]
    columns = _query_values(values, ks, gallery_size)
    exact = bool(np.isfinite(columns["MnR"].values).all())
    if not exact:
        del columns["MdR"], columns["MnR"]
    out: dict[str, Any] = {name: columns[name].value() for name in (f"R@{k}" for k in ks)}
    out["MdR"] = columns["MdR"].value() if exact else None
    out["MnR"] = columns["MnR"].value() if exact else None
    out["num_queries"] = len(values)
    out["num_failed"] = sum(math.isnan(v) for v in values)
    if intervals:
        out.update(
            intervals_output(
                columns, num_resamples=num_resamples, level=level, seed=seed, clusters=clusters, cluster_key=cluster_key
            )
        )
    if per_query:
        out["per_query"] = {
            "rank": [None if math.isnan(v) or math.isinf(v) or (gallery_size is not None and v > gallery_size) else int(v) for v in values]
        }
    return out
