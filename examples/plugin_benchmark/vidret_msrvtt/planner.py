"""The planner: the rows of the `videos` and `captions` configs -> the `TaskPlan` of t2v and v2t.

vidret calls `plan(tables, request)` (`Benchmark.plan`) with the rows of every config of the column
contract except the caption-query config, and a `PlanRequest` (task ids, split, protocol, how to
resolve a video reference, ``--limit``). The protocol's `TaskRules` decide the queries; this
module never looks at a protocol's name:

- ``caption_queries`` set (the official 1k-A protocol): one sentence per video, from that config
  (`request.query_lists`), ranked with vidret's `caption_task`;
- otherwise: every caption is a t2v query, and a v2t query finds any caption of its video;
  ``identical_texts_relevant`` makes a caption written identically for several videos count for all.

Each video is embedded once, whole (one segment per video file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vidret.benchmarks import TaskSpec, get_benchmark
from vidret.evaluation.planning.tasks import (
    EmbeddingRef,
    PlanRequest,
    Segment,
    Task,
    TaskPlan,
    add_segment,
    add_text,
    caption_task,
    check_unique,
)

from vidret_msrvtt.benchmark import MSRVTT1K
from vidret_msrvtt.columns import COLUMNS


def plan(tables: Mapping[str, list[dict[str, Any]]], request: PlanRequest) -> TaskPlan:
    """Derive the MSR-VTT tasks from the built rows.

    Args:
        tables: ``{"videos": rows, "captions": rows}`` of the split asked for.
        request: what to plan (see `vidret.evaluation.planning.tasks.PlanRequest`); ``limit``
            keeps the first N videos and their captions.

    Returns:
        The plan: one segment per video, the texts, and one `Task` per task id asked for.

    Raises:
        ValueError: a missing column, a duplicate id, an empty caption, a caption of an unknown
            video, a video without captions, or (official protocol) a missing sentence list.
    """
    split = request.split
    videos, captions = tables["videos"], tables["captions"]
    COLUMNS.require(videos, "videos", f"MSR-VTT videos/{split}")
    COLUMNS.require(captions, "captions", f"MSR-VTT captions/{split}")
    if request.limit is not None:
        videos = videos[: request.limit]
    video_ids = [str(v["video_id"]) for v in videos]
    check_unique(video_ids, f"MSR-VTT videos/{split}: video_id")
    captions = _of_videos(captions, set(video_ids), f"MSR-VTT captions/{split}", request.limit is not None)

    specs = [request.protocol.tasks[t] for t in request.task_ids]
    query_configs = list(dict.fromkeys(s.rules.caption_queries for s in specs if s.rules.caption_queries))
    benchmark = get_benchmark(MSRVTT1K)  # the registered object (it knows which package provides it)
    result = TaskPlan(benchmark, "+".join(["videos", "captions", *query_configs]), split, tables={"videos": videos, "captions": captions})
    seen: dict[str, Segment] = {}
    for v in videos:  # a video is one segment: the whole file
        vid = str(v["video_id"])
        result.visuals[vid] = [add_segment(result, seen, vid, vid, "video", request.resolve(str(v["video"])), None, None)]

    for spec in specs:
        config = spec.rules.caption_queries
        if config:
            sentences = _sentence_per_video(result, request, config, video_ids)
            result.tasks.append(caption_task(spec, video_ids, sentences))
        else:
            result.tasks.append(_every_caption_task(result, spec, video_ids, captions, f"MSR-VTT captions/{split}"))
    return result


def _of_videos(rows: list[dict[str, Any]], video_ids: set[str], where: str, limited: bool) -> list[dict[str, Any]]:
    """The rows naming one of `video_ids` (a limited run drops the others; otherwise one is an error)."""
    if limited:
        return [r for r in rows if str(r["video_id"]) in video_ids]
    for i, r in enumerate(rows):
        if str(r["video_id"]) not in video_ids:
            raise ValueError(f"{where} row {i}: video {r['video_id']!r} is not in the videos config")
    return rows


def _sentence_per_video(plan: TaskPlan, request: PlanRequest, config: str, video_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(video id, text id) of the one sentence per video that config `config` lists (JSFusion's)."""
    if config not in request.query_lists:
        raise ValueError(f"this protocol ranks the sentences of config {config!r}, which was not loaded")
    where = f"MSR-VTT {config}/{request.split}"
    rows = request.query_lists[config]
    COLUMNS.require(rows, config, where)
    rows = _of_videos(rows, set(video_ids), where, request.limit is not None)
    check_unique([str(r["video_id"]) for r in rows], f"{where}: video_id")
    listed = {str(r["video_id"]) for r in rows}
    unlisted = [v for v in video_ids if v not in listed]
    if unlisted:
        raise ValueError(f"{where}: no sentence for video(s) {unlisted[:5]}")
    return [(str(r["video_id"]), add_text(plan, r["caption"], f"{where} row {i} caption")) for i, r in enumerate(rows)]


def _every_caption_task(plan: TaskPlan, spec: TaskSpec, video_ids: list[str], captions: list[dict[str, Any]], where: str) -> Task:
    """t2v: each caption against the videos; v2t: each video against every caption."""
    caption_ids = [str(c["caption_id"]) for c in captions]
    check_unique(caption_ids, f"{where}: caption_id")
    owners = [str(c["video_id"]) for c in captions]
    text_ids = [add_text(plan, c["caption"], f"{where} row {i} caption") for i, c in enumerate(captions)]
    # Captions with the same text get the same embedding, so a model cannot tell them apart.
    same_text: dict[str, list[int]] = {}
    for i, text_id in enumerate(text_ids):
        same_text.setdefault(text_id, []).append(i)

    def counted_as(i: int) -> list[int]:
        """The captions a hit on caption i stands for: itself, and its identical twins when the rules say so."""
        return same_text[text_ids[i]] if spec.rules.identical_texts_relevant else [i]

    texts = [EmbeddingRef("text", text=t) for t in text_ids]
    visuals = [EmbeddingRef("visual", visual=v) for v in video_ids]
    if spec.query == "text":
        relevant = [list(dict.fromkeys(owners[j] for j in counted_as(i))) for i in range(len(captions))]
        return Task(spec, caption_ids, texts, list(video_ids), visuals, relevant)
    found: dict[str, list[str]] = {v: [] for v in video_ids}
    for i, owner in enumerate(owners):
        found[owner] += [caption_ids[j] for j in counted_as(i)]
    empty = [v for v, c in found.items() if not c]
    if empty:
        raise ValueError(f"{where}: video(s) {empty[:5]} have no caption, so a video-to-text query could never hit")
    return Task(spec, list(video_ids), visuals, caption_ids, texts, [list(dict.fromkeys(found[v])) for v in video_ids])
