"""TF-CoVR's planner: the rows of the `triplets` and `videos` configs -> the `TaskPlan` of `cvr`.

Each triplet is a composed query (its query video + its modification text, normalised when the
protocol names a normalisation) against the split's distinct target videos.
"""

from __future__ import annotations

import ast
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from vidret.benchmarks import ProtocolSpec, get_normalizer
from vidret.benchmarks.tf_covr import BENCHMARK
from vidret.benchmarks.tf_covr.columns import COLUMNS
from vidret.evaluation.planning.tasks import EmbeddingRef, PlanRequest, Segment, Task, TaskPlan, add_segment, add_text, check_unique

logger = logging.getLogger(__name__)

#: The column holding each row's target list as the release writes it (repeats kept).
AS_WRITTEN = "target_videos_as_written"


def plan(tables: Mapping[str, list[dict[str, Any]]], request: PlanRequest) -> TaskPlan:
    """`Benchmark.plan`: `plan_tfcovr` on the `triplets` and `videos` rows `load_plan` read."""
    return plan_tfcovr(
        tables["triplets"], tables["videos"], request.split, request.resolve, request.limit, protocol=request.protocol
    )


def _as_id_list(value: Any, where: str, column: str = "target_videos") -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        # A list literal left as text (the raw CSV form); parse it safely, never with eval().
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError) as err:
            raise ValueError(f"{where}: {column} {value!r} is not a list literal") from err
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: {column} must be a list, got {type(value).__name__}")
    return [str(v) for v in value]


def _target_column(triplets: list[dict[str, Any]], count_repeats: bool, split: str) -> str:
    """Which column holds the relevant ids: the list as written where repeats count (official), else
    the de-duplicated one. A build made before the as-written column cannot honour repeats: said once."""
    if not count_repeats:
        return "target_videos"
    if triplets and AS_WRITTEN in triplets[0]:
        return AS_WRITTEN
    logger.warning(
        "TF-CoVR triplets/%s has no %r column (a build made before it): each query's targets are the "
        "de-duplicated target_videos, so an id the release repeats in target_videos_ids counts once in |G| where "
        "the official code counts every copy (its AP@K would come out lower); rebuild with `vidret build tf-covr` "
        "to honour repeats",
        split,
        AS_WRITTEN,
    )
    return "target_videos"


def plan_tfcovr(
    triplets: list[dict[str, Any]],
    videos: list[dict[str, Any]],
    split: str,
    resolve: Callable[[str], str] = str,
    limit: int | None = None,
    protocol: ProtocolSpec | None = None,
) -> TaskPlan:
    """Derive the TF-CoVR composed retrieval task from the `triplets` and `videos` configs.

    The gallery is the distinct `target_video` values of the split's triplets (in first-appearance
    order); under ``gallery == "per_row"`` rules each stands for as many entries as rows name it
    (`Task.gallery_copies`). Each query's relevant ids are its `target_videos` (each once), or,
    where the rules count repeats, `target_videos_as_written` (the release's list, repeats kept;
    a build without that column falls back to `target_videos` with a warning); its `target_video`
    when the list is empty. Its designated target is its `target_video`, and its own
    video is excluded from its ranking or pushed to the bottom (``own_video``). Modification
    texts go through the rules' text normalisation.

    Args:
        triplets: rows of the `triplets` config.
        videos: rows of the `videos` config (every query and target video must be there).
        split: split name.
        resolve: maps a row's video reference to a decodable source.
        limit: keep only the first `limit` triplets (the gallery shrinks to their targets).
        protocol: the protocol whose rules form the task; None = vidret's.

    Returns:
        The plan.

    Raises:
        ValueError: on missing columns, duplicate query ids, empty modification texts, or a
            query/target video absent from the `videos` config.
    """
    spec = BENCHMARK
    task_spec = (protocol or spec.protocol()).tasks["cvr"]
    rules = task_spec.rules
    normalize = get_normalizer(rules.text_normalization)
    COLUMNS.require(triplets, "triplets", f"TF-CoVR triplets/{split}")
    COLUMNS.require(videos, "videos", f"TF-CoVR videos/{split}")
    if limit is not None:
        triplets = triplets[:limit]
    query_ids = [str(t["query_id"]) for t in triplets]
    check_unique(query_ids, f"TF-CoVR triplets/{split}: query_id")
    by_id = {str(v["video_id"]): v for v in videos}
    plan = TaskPlan(spec, "triplets+videos", split, tables={"triplets": triplets, "videos": videos})
    seen: dict[str, Segment] = {}
    targets_column = _target_column(triplets, rules.count_repeats, split)

    def visual(vid: str, where: str) -> str:
        if vid not in by_id:
            raise ValueError(f"{where}: video {vid!r} is not in the TF-CoVR videos config")
        if vid not in plan.visuals:
            source = resolve(str(by_id[vid]["video"]))
            plan.visuals[vid] = [add_segment(plan, seen, vid, vid, "video", source, None, None)]
        return vid

    queries: list[EmbeddingRef] = []
    relevant: list[list[str]] = []
    own: list[list[str]] = []
    designated: list[str] = []
    row_targets: list[str] = []
    for i, t in enumerate(triplets):
        where = f"TF-CoVR triplets/{split} row {i}"
        qv = visual(str(t["query_video"]), where)
        text = add_text(plan, t["modification"], f"{where} modification", normalize)
        queries.append(EmbeddingRef("composed", text=text, visual=qv))
        target = visual(str(t["target_video"]), where)
        relevant.append(_as_id_list(t.get(targets_column), where, targets_column) or [target])
        own.append([qv])
        designated.append(target)
        row_targets.append(target)
    copies = Counter(row_targets)
    gallery_ids = list(copies)  # distinct, in first-appearance order
    gallery = [EmbeddingRef("visual", visual=g) for g in gallery_ids]
    plan.tasks.append(
        Task(
            task_spec,
            query_ids,
            queries,
            gallery_ids,
            gallery,
            relevant,
            exclude=own if rules.own_video == "exclude" else None,
            push_down=own if rules.own_video == "push_down" else None,
            gallery_copies=[copies[g] for g in gallery_ids] if rules.gallery == "per_row" else None,
            designated=designated,
            # Triplets of one query video share its difficulty (`TaskSpec.cluster`: "query_video").
            clusters=[str(t["query_video"]) for t in triplets] if task_spec.cluster == "query_video" else None,
        )
    )
    return plan
