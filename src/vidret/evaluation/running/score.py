"""Scoring on the main process: segments → videos, fused composed queries, rankings, metrics.

How a task is ranked and scored follows its declaration (`vidret.benchmarks`): the task names
its scoring kernel (`TaskSpec.kernel`, see `vidret.scoring.metrics.KERNELS`), cut-offs come from
its declared metrics, a gallery with one entry per annotation row is ranked by expanding each
distinct entry into its copies, a query's own video is removed or pushed to the bottom, and the
composed kernel gets the rules' behaviour (repeats counted, designated-target recall, rounding),
never a protocol's name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vidret.evaluation.results.confidence import task_intervals
from vidret.evaluation.planning.tasks import Task, TaskPlan
from vidret.scoring.metrics import CLUSTER_COLUMN, QUERY_ID_COLUMN


def build_visuals(
    plan: TaskPlan, segment_emb: dict[str, np.ndarray], aggregate: str, failures: list[dict[str, Any]]
) -> dict[str, np.ndarray]:
    """One embedding per video/clip: its segments' embeddings, aggregated.

    A video or clip with a segment that failed to decode gets no embedding (its queries miss);
    a full video is then added to `failures` too (a clip is already listed as its segment).

    Args:
        plan: the plan (visual id → segment ids).
        segment_emb: segment id → embedding, for the segments that were embedded.
        aggregate: "mean" or "max" (see `vidret.adapters.aggregate_segments`).
        failures: the run's failure list, extended in place.

    Returns:
        Visual id → unit-norm embedding.
    """
    import torch

    from vidret.adapters.fusion import aggregate_segments

    by_id = {s.item_id: s for s in plan.segments}
    out: dict[str, np.ndarray] = {}
    for visual_id, seg_ids in plan.visuals.items():
        missing = [s for s in seg_ids if s not in segment_emb]
        if missing:
            seg = by_id[missing[0]]
            if len(seg_ids) > 1 or seg.name != visual_id:
                failures.append(
                    {
                        "item_id": visual_id,
                        "kind": "video",
                        "source": seg.source,
                        "reason": f"{len(missing)} of {len(seg_ids)} segments failed to decode",
                    }
                )
            continue
        if len(seg_ids) == 1:
            out[visual_id] = segment_emb[seg_ids[0]]
        else:
            rows = torch.from_numpy(np.stack([segment_emb[s] for s in seg_ids]))
            out[visual_id] = aggregate_segments(rows, aggregate).numpy()
    return out


def _ref_embedding(ref: Any, texts: dict[str, np.ndarray], visuals: dict[str, np.ndarray]) -> tuple[Any, Any] | None:
    if ref.kind == "text":
        return (texts.get(ref.text),) if ref.text in texts else None
    if ref.kind == "visual":
        return (visuals.get(ref.visual),) if ref.visual in visuals else None
    if ref.text in texts and ref.visual in visuals:
        return visuals[ref.visual], texts[ref.text]
    return None


def expand_ranking(
    ranked: list[str], copies: dict[str, int] | None, pushed: list[str], complete: bool, depth: int
) -> list[str]:
    """A ranking over distinct gallery ids turned into one over the gallery's entries.

    Each id stands for `copies[id]` entries with the same embedding (so the same score): they
    are ranked consecutively. The `pushed` ids (ranked after every other entry: the official
    TF-CoVR "score − 100") follow when `ranked` is `complete` (every other rankable id is in it),
    in their given order.

    Args:
        ranked: distinct ids, best first, the pushed ones left out.
        copies: id → number of entries (None = one each).
        pushed: ids to rank last (present in the gallery).
        complete: `ranked` holds every rankable id except the pushed ones.
        depth: entries to return at most.

    Returns:
        Up to `depth` entry ids, best first; an id repeats once per copy.
    """
    out: list[str] = []
    for item in ranked + (pushed if complete else []):
        out.extend([item] * (copies.get(item, 1) if copies else 1))
        if len(out) >= depth:
            break
    return out[:depth]


def _composed_rankings(task: Task, ok: list[int], queries: Any, gallery: Any, gallery_ids: list[str], depth: int) -> list[list[str]]:
    """Top-`depth` entry ids per query of a composed task, by its own-video and gallery rules."""
    import torch

    from vidret.scoring import rank_from_embeddings

    rankings: list[list[str]] = [[] for _ in task.queries]
    if queries is None or gallery is None:
        return rankings
    # Pushed-down ids are kept out of the main ranking, then put back at its end.
    held = task.exclude if task.exclude is not None else task.push_down
    ranked = rank_from_embeddings(
        torch.from_numpy(queries),
        torch.from_numpy(gallery),
        gallery_ids,
        k=depth,
        exclude=[held[i] for i in ok] if held else None,
    )
    copies = dict(zip(task.gallery_ids, task.gallery_copies)) if task.gallery_copies else None
    present = set(gallery_ids)
    for i, r in zip(ok, ranked):
        pushed = [g for g in (task.push_down[i] if task.push_down else []) if g in present]
        complete = len(r) < depth  # fewer than asked: every rankable id is there
        rankings[i] = expand_ranking(list(r), copies, pushed, complete, depth)
    return rankings


def score_task(
    task: Task,
    texts: dict[str, np.ndarray],
    visuals: dict[str, np.ndarray],
    fusion: str,
    composed: dict[tuple[str, str], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Rank and score one task on the main process.

    Queries whose own embedding failed count as misses (listed in ``failed_queries``); gallery
    entries that failed are not ranked, so the queries that needed them miss too.

    Args:
        task: the task (queries, gallery, relevance, exclusions).
        texts: text item id → embedding.
        visuals: video/clip id → embedding (see `build_visuals`).
        fusion: composed-query fusion (see `vidret.adapters.fuse`), or "native".
        composed: with "native", (visual id, text id) -> the model's own embedding of the pair
            (see `vidret.evaluation.planning.composed_units`); a pair missing here is a failed query.

    Returns:
        The task's results entry: metrics in `vidret.benchmarks` order, main score, counts,
        bootstrap intervals (`ci_low`, `ci_high`, `ci`) and the per-query data they come from
        (`per_query`: query ids, each query's cluster id when the task declares a cluster
        (`TaskSpec.cluster`; the intervals then resample clusters), and ranks or AP@K/hit@K from
        the kernels).
    """
    import torch

    from vidret.adapters.fusion import fuse, is_native
    from vidret.scoring import composed_map, first_relevant_ranks, retrieval_metrics
    from vidret.scoring.metrics import kernel_spec

    gallery_pairs = [(gid, _ref_embedding(ref, texts, visuals)) for gid, ref in zip(task.gallery_ids, task.gallery)]
    gallery_ids = [gid for gid, e in gallery_pairs if e is not None]
    gallery = np.stack([e[0] for _, e in gallery_pairs if e is not None]) if gallery_ids else None
    ok: list[int] = []
    q_rows: list[np.ndarray] = []
    composed_v: list[np.ndarray] = []
    composed_t: list[np.ndarray] = []
    native = is_native(fusion)
    for i, ref in enumerate(task.queries):
        if native and ref.kind == "composed":
            row = (composed or {}).get((ref.visual, ref.text))
            e = None if row is None else (row,)
        else:
            e = _ref_embedding(ref, texts, visuals)
        if e is None:
            continue
        ok.append(i)
        if ref.kind == "composed" and not native:
            composed_v.append(e[0])
            composed_t.append(e[1])
        else:
            q_rows.append(e[0])
    embedded = set(ok)
    failed_queries = [task.query_ids[i] for i in range(len(task.queries)) if i not in embedded]
    if composed_v:
        queries = fuse(torch.from_numpy(np.stack(composed_v)), torch.from_numpy(np.stack(composed_t)), fusion).numpy()
    else:
        queries = np.stack(q_rows) if q_rows else None

    spec = task.spec
    rules = spec.rules
    n = len(task.queries)
    # Queries of one cluster (LoVR: one long video's clips) are resampled together.
    clusters = task.query_clusters()
    grouped = {"clusters": clusters, "cluster_key": spec.cluster} if clusters is not None else {}
    copies = dict(zip(task.gallery_ids, task.gallery_copies)) if task.gallery_copies else {}
    # A gallery with one entry per annotation row counts every entry.
    gallery_size = sum(copies.get(g, 1) for g in gallery_ids)
    if kernel_spec(spec.kernel).name == "composed":  # mAP@K and R@K over the top K of each ranking
        map_k, recall_k = spec.cutoffs("mAP"), spec.cutoffs("R")
        rankings = _composed_rankings(task, ok, queries, gallery, gallery_ids, max(map_k + recall_k))
        result = composed_map(
            rankings,
            task.relevant,
            k_values=map_k,
            recall_k_values=recall_k,
            count_repeats=rules.count_repeats,
            decimals=rules.decimals,
            designated_targets=task.designated if rules.recall == "designated" else None,
            per_query=True,
            intervals=True,
            **grouped,
        )
    else:
        ranks: list[int | None] = [None] * n
        if queries is not None and gallery is not None:
            found = first_relevant_ranks(
                torch.from_numpy(queries),
                torch.from_numpy(gallery),
                [task.relevant[i] for i in ok],
                gallery_ids=gallery_ids,
            )
            for i, r in zip(ok, found):
                ranks[i] = r
        result = retrieval_metrics(
            ranks=ranks,
            k_values=spec.cutoffs("R"),
            gallery_size=max(1, len(gallery_ids)),
            per_query=True,
            intervals=True,
            **grouped,
        )
    metrics = {name: float(result[name]) for name in spec.metrics}
    return {
        "name": spec.name,
        "metrics": metrics,
        "main_score": spec.main_score,
        "num_queries": n,
        "num_failed": len(failed_queries),
        "gallery_size": gallery_size,
        "failed_queries": failed_queries,
        **task_intervals(result, spec.metrics),
        "per_query": {
            QUERY_ID_COLUMN: list(task.query_ids),
            **({CLUSTER_COLUMN: clusters} if clusters is not None else {}),
            **result["per_query"],
        },
    }


