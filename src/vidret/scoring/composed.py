"""Composed video retrieval (TF-CoVR) metrics: CIRCO-style mAP@K and Recall@K.

AP@K = (1 / min(|G|, K)) * sum_{i<=K} P(i) * rel(i), with G the set of valid targets of the
query, rel(i) = 1 when the i-th ranked id is in G and P(i) the precision at i. Targets that
are absent from the gallery still count in |G| (they can never be retrieved). Each ranking
must list an id at most once; the official TF-CoVR code does not deduplicate, so a repeated
target is counted twice there and AP can exceed 1.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from vidret.scoring._checks import as_id_list, check_k_values, check_no_duplicates, check_same_length


def composed_map(
    rankings: Sequence[Iterable[Hashable]],
    targets: Sequence[Iterable[Hashable]],
    k_values: Iterable[int] = (5, 10, 25, 50),
    recall_k_values: Iterable[int] = (1, 5, 10, 50),
) -> dict[str, float | int]:
    """mAP@K and Recall@K of ranked gallery ids against each query's set of valid targets.

    Args:
        rankings: one list of gallery ids per query, best first, each id at most once; only
            the first max(K) ids matter. An empty list is a query that failed upstream (its
            video could not be embedded): it scores 0 and is counted in `num_failed`.
        targets: one non-empty collection of valid target ids per query (duplicates merged).
        k_values: cut-offs for mAP@K.
        recall_k_values: cut-offs for R@K (share of queries with a valid target in the top K).

    Returns:
        {"mAP@K": ..., "R@K": ..., "num_queries": n, "num_failed": f}; metric values are
        percentages (x100) like the papers, keys in the order of the cut-offs given.

    Raises:
        ValueError: no queries, lengths differ, a query has no target, a ranking repeats an id,
            or a cut-off < 1 / the cut-off list is empty.
        TypeError: a ranking/target entry is a bare string or not iterable, or a cut-off is not an int.

    Example:
        >>> # targets {a, b, c}; a at rank 2, b at rank 5, c never retrieved:
        >>> # AP@5 = (1/2 + 2/5) / min(3, 5) = 0.30
        >>> composed_map([["x", "a", "y", "z", "b"]], [["a", "b", "c"]], k_values=(5,), recall_k_values=(1, 5))
        {'mAP@5': 30.0, 'R@1': 0.0, 'R@5': 100.0, 'num_queries': 1, 'num_failed': 0}
    """
    ks = check_k_values(k_values, "k_values")
    recall_ks = check_k_values(recall_k_values, "recall_k_values")
    n = check_same_length(rankings, targets, "rankings", "targets")
    if n == 0:
        raise ValueError("no queries: rankings and targets are empty")
    depth = max(ks + recall_ks)
    rel = np.zeros((n, depth), dtype=bool)
    num_targets = np.empty(n, dtype=np.float64)
    num_failed = 0
    for i, (ranking, target) in enumerate(zip(rankings, targets)):
        valid = set(as_id_list(target, "targets", i))
        if not valid:
            raise ValueError(f"query {i} has no valid target; every query needs at least one")
        num_targets[i] = len(valid)
        ranked = as_id_list(ranking, "ranking", i)
        if not ranked:
            num_failed += 1  # failed upstream: a miss (its row of `rel` stays all False)
            continue
        check_no_duplicates(ranked, i)
        top = ranked[:depth]
        rel[i, : len(top)] = [item in valid for item in top]

    hits = np.cumsum(rel, axis=1)  # hits[:, i-1] = relevant ids in the top i
    precision = hits / np.arange(1, depth + 1)
    ap_sum = np.cumsum(precision * rel, axis=1)  # sum_{i<=K} P(i) rel(i)
    out: dict[str, float | int] = {}
    for k in ks:
        ap = ap_sum[:, k - 1] / np.minimum(num_targets, k)
        out[f"mAP@{k}"] = float(100.0 * ap.mean())
    for k in recall_ks:
        out[f"R@{k}"] = float(100.0 * (hits[:, k - 1] > 0).mean())
    out["num_queries"] = n
    out["num_failed"] = num_failed
    return out
