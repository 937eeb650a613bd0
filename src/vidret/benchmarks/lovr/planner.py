"""LoVR's planner: the rows of the `videos` and `clips` configs (and, when a protocol asks, the
caption queries of `clip_queries`) -> the `TaskPlan` of t2v, v2t, t2c, c2t, theme2c, c2theme.

A full video is embedded from its own clips (``--long-video clips``, the default: one embedding
per clip, aggregated), from fixed windows of its file, or from all its clips' frames as one input
(``--long-video concat``: the frame stride runs on across clip boundaries, as the official scripts
read a full video); a clip from its span of the full video, or from its own file when its
timestamps are unknown. The protocol's rules decide the rest (see `vidret.benchmarks.TaskRules`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vidret.benchmarks import BenchmarkSpec, ProtocolSpec, TaskSpec
from vidret.benchmarks.lovr import BENCHMARK
from vidret.benchmarks.lovr.columns import COLUMNS
from vidret.benchmarks.lovr.spec import VIDEO_CLUSTER
from vidret.evaluation.planning.tasks import (
    EmbeddingRef,
    LongVideo,
    PlanRequest,
    Segment,
    Task,
    TaskPlan,
    add_concatenated,
    add_segment,
    add_text,
    caption_task,
    check_unique,
)


def plan(tables: Mapping[str, list[dict[str, Any]]], request: PlanRequest) -> TaskPlan:
    """`Benchmark.plan`: `plan_lovr` on the `videos` and `clips` rows `load_plan` read."""
    return plan_lovr(
        tables["videos"],
        tables["clips"],
        request.task_ids,
        request.split,
        request.resolve,
        request.long_video,
        request.limit,
        protocol=request.protocol,
        query_lists=request.query_lists,
    )


def _theme_task(plan: TaskPlan, spec: TaskSpec, clips: list[dict[str, Any]], clip_ids: list[str], where: str) -> Task:
    """theme2c / c2theme: themes against clips.

    ``themes == "distinct"``: one theme query per distinct theme text, relevant = every clip of it
    (every clip must have a theme). ``"per_clip"``: one theme entry per themed clip (id
    ``theme:<clip id>``), relevant = that clip only; clips without a theme are left out.
    """
    themes = [c.get("theme") for c in clips]
    has_theme = [isinstance(t, str) and bool(t.strip()) for t in themes]
    clip_refs = [EmbeddingRef("visual", visual=cid) for cid in clip_ids]
    if spec.rules.themes == "per_clip":
        themed = [(cid, t) for cid, t, ok in zip(clip_ids, themes, has_theme) if ok]
        if not themed:
            raise ValueError(f"task {spec.task_id!r} needs a theme on at least one clip of {where}")
        entry_ids = [f"theme:{cid}" for cid, _ in themed]
        refs = [EmbeddingRef("text", text=add_text(plan, t, "theme")) for _, t in themed]
        if spec.query == "theme":
            return Task(spec, entry_ids, refs, list(clip_ids), clip_refs, [[cid] for cid, _ in themed])
        themed_refs = [EmbeddingRef("visual", visual=cid) for cid, _ in themed]
        return Task(spec, [cid for cid, _ in themed], themed_refs, entry_ids, refs, [[e] for e in entry_ids])
    if not all(has_theme):
        raise ValueError(f"task {spec.task_id!r} needs a theme on every clip of {where}")
    distinct = list(dict.fromkeys(themes))
    theme_refs = [EmbeddingRef("text", text=add_text(plan, t, "theme")) for t in distinct]
    theme_ids = [f"theme:{t}" for t in distinct]
    if spec.query == "theme":
        clips_of: dict[str, list[str]] = {}
        for cid, th in zip(clip_ids, themes):  # one pass: a scan per theme is O(themes x clips)
            clips_of.setdefault(th, []).append(cid)
        return Task(spec, theme_ids, theme_refs, list(clip_ids), clip_refs, [clips_of[t] for t in distinct])
    return Task(spec, list(clip_ids), clip_refs, theme_ids, theme_refs, [[f"theme:{th}"] for th in themes])


def query_videos(task: Task, video_of: Mapping[str, str]) -> list[str]:
    """Each query's cluster id for a clip or theme task: the long video its clips come from.

    A clip or caption query (t2c, c2t, c2theme; both protocols) is one clip's: its video. A theme
    query (theme2c) stands for the clips relevant to it: one theme per clip (official
    ``per_clip``) is that clip's video, as is a distinct theme whose clips all come from one video.
    A distinct theme whose clips span several videos belongs to none of them: it is its own
    cluster (its query id, ``theme:<text>``, which no video id can equal). Merging every theme
    that shares a video instead could leave a single cluster, and so no interval at all.

    Args:
        task: a task of the `clips` config (query ids are clip ids, or theme ids with the clips
            relevant to each in `task.relevant`).
        video_of: clip id -> its video id.
    """
    if task.spec.query != "theme":
        return [video_of[qid] for qid in task.query_ids]
    clusters = []
    for qid, relevant in zip(task.query_ids, task.relevant):
        videos = {video_of[cid] for cid in relevant}
        clusters.append(videos.pop() if len(videos) == 1 else qid)
    return clusters


def _clip_query_captions(
    plan: TaskPlan, benchmark: BenchmarkSpec, config: str, query_lists: Mapping[str, list[dict[str, Any]]], clip_ids: list[str],
    split: str, limited: bool,
) -> list[tuple[str, str]]:
    """(clip id, text id) of the caption queries in config `config` (LoVR official: clip_queries).

    Raises:
        ValueError: the config was not loaded (the raw file to add is named), a column is missing,
            a clip is listed twice, or a listed clip is not a clip of the rows read.
    """
    if config not in query_lists:
        source = benchmark.query_configs.get(config, config)
        raise ValueError(
            f"this protocol ranks the caption queries of config {config!r}, which the dataset does not have; "
            f"add {source} of the official release to the raw folder and rebuild"
        )
    rows = query_lists[config]
    where = f"{benchmark.short_title} {config}/{split}"
    COLUMNS.require(rows, config, where)
    known = set(clip_ids)
    if limited:
        rows = [r for r in rows if str(r["clip_id"]) in known]
    check_unique([str(r["clip_id"]) for r in rows], f"{where}: clip_id")
    captions = []
    for i, row in enumerate(rows):
        cid = str(row["clip_id"])
        if cid not in known:
            raise ValueError(f"{where} row {i}: clip {cid!r} is not a clip of the dataset")
        captions.append((cid, add_text(plan, row["caption"], f"{where} row {i} caption")))
    return captions


def _partial_clip_lists(
    videos: list[dict[str, Any]], clips: list[dict[str, Any]], query_lists: Mapping[str, list[dict[str, Any]]]
) -> list[str]:
    """Ids of the videos whose clips the build does not all hold (built from ``all_clip.jsonl`` alone).

    The builder records it per video (``clips_complete``). A build made before that column (absent,
    or null in every row) tells only through its clips: when every clip it holds is one of the
    official caption queries (`clip_queries`, if loaded), its clips are that list (the published
    list names about 1,000 of 40,804 clips); otherwise it is taken as complete.
    """
    if any(v.get("clips_complete") is not None for v in videos):
        return [str(v["video_id"]) for v in videos if v.get("clips_complete") is False]
    listed = {str(r.get("clip_id")) for r in query_lists.get("clip_queries", [])}
    if listed and all(str(c["clip_id"]) in listed for c in clips):
        return [str(v["video_id"]) for v in videos]
    return []


def _check_every_clip(
    task_specs: Sequence[TaskSpec], partial: list[str], videos: list[dict[str, Any]], clips: list[dict[str, Any]],
    long_video: LongVideo, protocol: ProtocolSpec,
) -> None:
    """Refuse a task that must see every clip of the release (``rows == "release"``) on a build that lacks some.

    Such a task ranks every clip (t2c, c2t, the theme tasks), or embeds a full video from all its
    clips (t2v / v2t with ``--long-video clips|concat``). Ranking the listed clips instead would be
    another gallery under the official name.

    Raises:
        ValueError: naming the task, what the build holds, what is missing and where it comes from.
    """
    for spec in task_specs:
        if spec.rules.rows != "release" or not partial:
            continue
        if spec.config != "clips" and long_video.segments == "window":
            continue  # full videos embedded from their own file: no clip list needed
        what = (
            "ranks every clip of the release"
            if spec.config == "clips"
            else f"embeds each full video from all its clips (--long-video {long_video.segments})"
        )
        instead = "" if spec.config == "clips" else "; or embed full videos from their own file: --long-video window:<seconds>"
        raise ValueError(
            f"LoVR task {spec.task_id!r} under the {protocol.name} protocol {what}, but this build lacks the clip list of "
            f"{len(partial)} of {len(videos)} video(s) (e.g. {partial[0]!r}): its clips config holds only the {len(clips)} "
            "clip(s) that caption_data/all_clip.jsonl names (a build from the official evaluation layout alone). The "
            "official code reads every clip file under video_data/long_video_clip/; vidret takes every video's clip list "
            "from the Hub caption files caption_data/clip_{train,test}.parquet and video_{train,test}.parquet: add them "
            f"to the raw folder and rebuild with `vidret build lovr`{instead}"
        )


def _windows(duration: float, window_s: float) -> list[tuple[float, float]]:
    n = max(1, math.ceil(duration / window_s - 1e-9))
    return [(k * window_s, min((k + 1) * window_s, duration)) for k in range(n)]


def _clip_source(clip: Mapping[str, Any], resolve: Callable[[str], str]) -> tuple[str, Any, Any]:
    """Where a LoVR clip is decoded from: its span of the full video, or (timestamps unknown) its own file.

    The rule is `vidret.datasets.clip_location`, the one `with_frames` follows: a clip without
    timestamps is read whole from ``clip_video`` (builds before that column: the release's
    ``long_video_clip/<vid>/<clip_id>.mp4``); if that file is absent too, decoding fails and the
    clip counts as failed, like any undecodable clip.
    """
    from vidret.datasets import clip_location

    ref, start, end = clip_location(clip)
    return resolve(ref), start, end


def _slice_order(clip: Mapping[str, Any]) -> tuple[Any, ...]:
    """A clip's place in its video: its `slice_num`, else its start (builds always hold slice_num)."""
    n = clip.get("slice_num")
    return (n is None, n or 0, clip["start"] is None, float(clip["start"] or 0.0))


def plan_lovr(
    videos: list[dict[str, Any]],
    clips: list[dict[str, Any]],
    task_ids: Sequence[str],
    split: str,
    resolve: Callable[[str], str] = str,
    long_video: LongVideo = LongVideo(),
    limit: int | None = None,
    protocol: ProtocolSpec | None = None,
    query_lists: Mapping[str, list[dict[str, Any]]] | None = None,
) -> TaskPlan:
    """Derive the LoVR tasks from the rows of the `videos` and `clips` configs.

    Args:
        videos: rows of the `videos` config (video_id, video, duration, caption, theme, ...): the
            split's, or the whole release's when the protocol's rules read it.
        clips: rows of the `clips` config (clip_id, video_id, slice_num, start, end, caption, video, ...).
        task_ids: tasks to build (t2v, v2t, t2c, c2t, theme2c, c2theme).
        split: split name (recorded).
        resolve: maps a row's video reference to a decodable source (path/URL).
        long_video: how full videos are segmented and aggregated.
        limit: keep only the first `limit` videos and their clips (and caption queries).
        protocol: the protocol whose rules form the tasks; None = vidret's.
        query_lists: rows of the caption-query configs the rules name (LoVR official:
            ``{"clip_queries": [...]}``, columns clip_id, caption).

    Returns:
        The plan.

    Raises:
        ValueError: on missing columns, duplicate ids, empty captions, a clip of an unknown video,
            a video without clips (clips mode), theme tasks on data without themes, a caption
            query config the rules need and the dataset lacks (the raw file to add is named), or a
            task whose rules rank the whole release on a build that lacks some video's clip list
            (see `_check_every_clip`).
    """
    spec = BENCHMARK
    protocol = protocol or spec.protocol()
    query_lists = query_lists or {}
    COLUMNS.require(videos, "videos", f"LoVR videos/{split}")
    COLUMNS.require(clips, "clips", f"LoVR clips/{split}")
    # Before `limit`: an older build is recognised by its clips as a whole (see `_partial_clip_lists`).
    partial = set(_partial_clip_lists(videos, clips, query_lists))
    if limit is not None:
        videos = videos[:limit]
    video_ids = [str(v["video_id"]) for v in videos]
    check_unique(video_ids, f"LoVR videos/{split}: video_id")
    keep = set(video_ids)
    clips = [c for c in clips if str(c["video_id"]) in keep] if limit is not None else clips
    clip_ids = [str(c["clip_id"]) for c in clips]
    check_unique(clip_ids, f"LoVR clips/{split}: clip_id")
    for i, c in enumerate(clips):
        if str(c["video_id"]) not in keep:
            raise ValueError(f"LoVR clips/{split} row {i}: clip {c['clip_id']!r} names unknown video {c['video_id']!r}")
    task_specs = [protocol.tasks[t] for t in task_ids]
    _check_every_clip(task_specs, [v for v in video_ids if v in partial], videos, clips, long_video, protocol)
    query_configs = list(dict.fromkeys(t.rules.caption_queries for t in task_specs if t.rules.caption_queries))
    config = "+".join(["videos", "clips", *query_configs])
    plan = TaskPlan(spec, config, split, tables={"videos": videos, "clips": clips})
    seen: dict[str, Segment] = {}
    clip_seg: dict[str, str] = {}
    by_video: dict[str, list[dict[str, Any]]] = {v: [] for v in video_ids}
    for c in sorted(clips, key=lambda c: (str(c["video_id"]), c["start"] is None, float(c["start"] or 0.0))):
        by_video[str(c["video_id"])].append(c)
    need_clips = any(t.config == "clips" for t in task_specs) or long_video.segments == "clips"
    if need_clips:
        for c in clips:
            cid = str(c["clip_id"])
            source, start, end = _clip_source(c, resolve)
            clip_seg[cid] = add_segment(plan, seen, str(c["video_id"]), cid, "clip", source, start, end)
            plan.visuals[cid] = [clip_seg[cid]]
    need_videos = any(t.config == "videos" for t in task_specs)
    if need_videos:
        for i, v in enumerate(videos):
            vid = str(v["video_id"])
            if long_video.segments in ("clips", "concat") and not by_video[vid]:
                raise ValueError(
                    f"LoVR videos/{split} row {i}: video {vid!r} has no clips to "
                    f"{'aggregate' if long_video.segments == 'clips' else 'join'} "
                    "(use --long-video window:<seconds>, or only the clip tasks: --tasks t2c,c2t)"
                )
            if long_video.segments == "clips":
                plan.visuals[vid] = [clip_seg[str(c["clip_id"])] for c in by_video[vid]]
            elif long_video.segments == "concat":
                # One input: every clip's frames in slice order, sampled as one video.
                ordered = sorted(by_video[vid], key=_slice_order)
                parts = [_clip_source(c, resolve) for c in ordered]
                plan.visuals[vid] = [add_concatenated(plan, seen, vid, resolve(str(v["video"])), parts)]
            else:
                duration = v.get("duration")
                if duration is None or not float(duration) > 0:
                    raise ValueError(f"LoVR videos/{split} row {i}: video {vid!r} has no positive duration for windows")
                src = resolve(str(v["video"]))
                plan.visuals[vid] = [
                    add_segment(plan, seen, vid, f"{vid}@{a:.3f}-{b:.3f}", "window", src, a, b)
                    for a, b in _windows(float(duration), long_video.window_s or 0)
                ]

    for task_spec in task_specs:
        rules = task_spec.rules
        if "theme" in (task_spec.query, task_spec.gallery):
            plan.tasks.append(_theme_task(plan, task_spec, clips, clip_ids, f"LoVR clips/{split}"))
        elif task_spec.config == "videos":
            captions = [
                (vid, add_text(plan, v["caption"], f"LoVR videos/{split} row {i} caption"))
                for i, (vid, v) in enumerate(zip(video_ids, videos))
            ]
            plan.tasks.append(caption_task(task_spec, video_ids, captions))
        elif rules.caption_queries:
            captions = _clip_query_captions(
                plan, spec, rules.caption_queries, query_lists, clip_ids, split, limited=limit is not None
            )
            plan.tasks.append(caption_task(task_spec, clip_ids, captions))
        else:
            captions = [
                (cid, add_text(plan, c["caption"], f"LoVR clips/{split} row {i} caption"))
                for i, (cid, c) in enumerate(zip(clip_ids, clips))
            ]
            plan.tasks.append(caption_task(task_spec, clip_ids, captions))
    video_of = {cid: str(c["video_id"]) for cid, c in zip(clip_ids, clips)}
    for task in plan.tasks:
        if task.spec.cluster is not None:
            if task.spec.cluster != VIDEO_CLUSTER or task.spec.config != "clips":
                raise ValueError(
                    f"LoVR task {task.task_id!r} declares cluster {task.spec.cluster!r}; the LoVR planner gives "
                    f"the clip tasks' queries {VIDEO_CLUSTER!r} ids only"
                )
            task.clusters = query_videos(task, video_of)
    return plan
