"""Benchmark tasks derived from a built dataset repo: what to embed, what to rank, what is relevant.

A `TaskPlan` is plain data computed identically on every process:

- ``texts``: text item id → text (captions, themes, modification texts), deduplicated by content;
- ``segments``: the video spans to embed (a LoVR clip, a window of a full video, a TF-CoVR clip),
  each with a cache id built from its video reference and time span, so a clip met as a clip and as
  a segment of its full video is embedded once;
- ``visuals``: a retrievable video or clip → the segment ids whose embeddings are aggregated;
- ``tasks``: per task id, the queries and the gallery (each entry an `EmbeddingRef`), the relevant
  gallery ids per query and the ids excluded from each query's ranking.

Task ids and metric names come from `vidret.benchmarks`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidret.benchmarks import LOVR, TF_COVR, BenchmarkSpec, TaskSpec, get_benchmark
from vidret.evaluation.cache import text_item_id

logger = logging.getLogger(__name__)

LOVR_VIDEO_COLUMNS = ("video_id", "video", "caption")
LOVR_CLIP_COLUMNS = ("clip_id", "video_id", "start", "end", "caption", "video")
TFCOVR_TRIPLET_COLUMNS = ("query_id", "query_video", "modification", "target_video")
TFCOVR_VIDEO_COLUMNS = ("video_id", "video")


@dataclass(frozen=True)
class LongVideo:
    """How a LoVR full video is embedded.

    Attributes:
        segments: "clips" (the video's own clips) or "window" (fixed windows of `window_s` seconds).
        window_s: window length in seconds when `segments == "window"`.
        aggregate: "mean" or "max" over segment embeddings.
    """

    segments: str = "clips"
    window_s: float | None = None
    aggregate: str = "mean"

    def as_dict(self) -> dict[str, Any]:
        return {"segments": self.segments, "window_s": self.window_s, "aggregate": self.aggregate}


def parse_long_video(value: str, aggregate: str = "mean") -> LongVideo:
    """Parse ``--long-video clips|window:<seconds>`` and ``--aggregate mean|max``.

    Raises:
        ValueError: naming the bad value and the accepted forms.
    """
    if aggregate not in ("mean", "max"):
        raise ValueError(f"--aggregate must be 'mean' or 'max', not {aggregate!r}")
    if value == "clips":
        return LongVideo("clips", None, aggregate)
    if value.startswith("window:"):
        try:
            seconds = float(value.split(":", 1)[1])
        except ValueError:
            seconds = float("nan")
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"--long-video {value!r}: the window must be a positive number of seconds")
        return LongVideo("window", seconds, aggregate)
    raise ValueError(f"--long-video must be 'clips' or 'window:<seconds>', not {value!r}")


@dataclass(frozen=True)
class Segment:
    """One video span to embed.

    Attributes:
        item_id: cache / gather id (video reference + span).
        video_id: dataset id of the video file the span is cut from.
        name: dataset id of what the span is (a clip id, a TF-CoVR video id, or
            ``<video_id>@<start>-<end>`` for a window), used in failure reports.
        kind: "clip", "window" or "video".
        source: the video reference (resolved path or URL).
        start: span start in seconds (None = start of the file).
        end: span end in seconds (None = end of the file).
    """

    item_id: str
    video_id: str
    name: str
    kind: str
    source: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class EmbeddingRef:
    """Which embedding stands for a query or gallery entry.

    Attributes:
        kind: "text", "visual" or "composed".
        text: text item id ("text" and "composed").
        visual: visual id ("visual" and "composed").
    """

    kind: str
    text: str | None = None
    visual: str | None = None


@dataclass
class Task:
    """One scored task.

    Attributes:
        spec: the task's definition from `vidret.benchmarks`.
        query_ids: dataset ids of the queries, in dataset order.
        queries: the embedding of each query.
        gallery_ids: dataset ids of the gallery, deduplicated.
        gallery: the embedding of each gallery entry.
        relevant: per query, the gallery ids that count as hits (ids outside the gallery still count
            in |G| for mAP).
        exclude: per query, ids removed from its ranking (TF-CoVR: the query video), or None.
    """

    spec: TaskSpec
    query_ids: list[str]
    queries: list[EmbeddingRef]
    gallery_ids: list[str]
    gallery: list[EmbeddingRef]
    relevant: list[list[str]]
    exclude: list[list[str]] | None = None

    @property
    def task_id(self) -> str:
        return self.spec.task_id


@dataclass
class TaskPlan:
    """Everything one evaluation needs, derived from the dataset rows.

    Attributes:
        benchmark: the benchmark spec.
        config: dataset configs read ("videos+clips", "triplets+videos").
        split: dataset split.
        texts: text item id → text.
        segments: segments to embed, deduplicated, in a stable order.
        visuals: visual id → segment ids aggregated into it.
        tasks: the tasks to score, in the order asked.
        tables: the raw id tables (rows of each config) the oracle adapter reads.
    """

    benchmark: BenchmarkSpec
    config: str
    split: str
    texts: dict[str, str] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    visuals: dict[str, list[str]] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def resolve_task_ids(benchmark: BenchmarkSpec, tasks: str | Sequence[str] | None) -> list[str]:
    """The task ids to run: the benchmark's defaults, or the comma-separated list asked for.

    Raises:
        ValueError: for an unknown task id (the valid ones are listed) or an empty list.
    """
    if tasks is None:
        return benchmark.default_tasks()
    names = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
    if not names:
        raise ValueError("--tasks is empty")
    unknown = [t for t in names if t not in benchmark.tasks]
    if unknown:
        raise ValueError(
            f"unknown task(s) {unknown} for benchmark {benchmark.benchmark!r}; choose from {sorted(benchmark.tasks)}"
        )
    return list(dict.fromkeys(names))


def _require_columns(rows: list[dict[str, Any]], columns: Sequence[str], what: str) -> None:
    if not rows:
        raise ValueError(f"{what}: no rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; found {sorted(rows[0])}")


def _span_id(source: str, start: float | None, end: float | None) -> str:
    """Cache id of a span: the video reference plus the span to the millisecond ("all" = whole file)."""
    if start is None and end is None:
        return f"seg:{source}@all"
    stop = "end" if end is None else f"{float(end):.3f}"
    return f"seg:{source}@{float(start or 0.0):.3f}-{stop}"


def _add_segment(
    plan: TaskPlan, seen: dict[str, Segment], video_id: str, name: str, kind: str, source: str, start: Any, end: Any
) -> str:
    start_f = None if start is None else float(start)
    end_f = None if end is None else float(end)
    seg = Segment(_span_id(source, start_f, end_f), video_id, name, kind, source, start_f, end_f)
    if seg.item_id not in seen:
        seen[seg.item_id] = seg
        plan.segments.append(seg)
    return seg.item_id


def _add_text(plan: TaskPlan, text: Any, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what}: empty or missing text")
    tid = text_item_id(text)
    plan.texts.setdefault(tid, text)
    return tid


def _same_text(item_ids: list[str], text_ids: list[str]) -> list[list[str]]:
    """Per item, every item whose caption is the same text (itself included), in dataset order.

    Identical captions embed identically, so they can't be told apart: a caption query is
    answered by any item it captions, and a video/clip query by any copy of its caption (with
    only its own copy relevant, the tie rule would rank an earlier copy first and count a miss).
    """
    groups: dict[str, list[str]] = {}
    for item_id, text_id in zip(item_ids, text_ids):
        groups.setdefault(text_id, []).append(item_id)
    return [groups[text_id] for text_id in text_ids]


def _windows(duration: float, window_s: float) -> list[tuple[float, float]]:
    n = max(1, math.ceil(duration / window_s - 1e-9))
    return [(k * window_s, min((k + 1) * window_s, duration)) for k in range(n)]


def _clip_source(clip: Mapping[str, Any], resolve: Callable[[str], str]) -> tuple[str, Any, Any]:
    """Where a LoVR clip is decoded from: its span of the full video, or (timestamps unknown) its own file.

    A clip without timestamps is read whole from ``clip_video`` (builds before that column: the
    release's ``long_video_clip/<vid>/<clip_id>.mp4``); if that file is absent too, decoding fails
    and the clip counts as failed, like any undecodable clip.
    """
    if clip["start"] is not None and clip["end"] is not None:
        return resolve(str(clip["video"])), clip["start"], clip["end"]
    own = clip.get("clip_video") or f"long_video_clip/{clip['video_id']}/{clip['clip_id']}.mp4"
    return resolve(str(own)), None, None


def plan_lovr(
    videos: list[dict[str, Any]],
    clips: list[dict[str, Any]],
    task_ids: Sequence[str],
    split: str,
    resolve: Callable[[str], str] = str,
    long_video: LongVideo = LongVideo(),
    limit: int | None = None,
) -> TaskPlan:
    """Derive the LoVR tasks from the rows of the `videos` and `clips` configs.

    Args:
        videos: rows of the `videos` config (video_id, video, duration, caption, theme, ...).
        clips: rows of the `clips` config (clip_id, video_id, slice_num, start, end, caption, video, ...).
        task_ids: tasks to build (t2v, v2t, t2c, c2t, theme2c, c2theme).
        split: split name (recorded).
        resolve: maps a row's video reference to a decodable source (path/URL).
        long_video: how full videos are segmented and aggregated.
        limit: keep only the first `limit` videos of the split and their clips.

    Returns:
        The plan.

    Raises:
        ValueError: on missing columns, duplicate ids, empty captions, a clip of an unknown video,
            a video without clips (clips mode), or theme tasks on data without themes.
    """
    spec = get_benchmark(LOVR)
    _require_columns(videos, LOVR_VIDEO_COLUMNS, f"LoVR videos/{split}")
    _require_columns(clips, LOVR_CLIP_COLUMNS, f"LoVR clips/{split}")
    if limit is not None:
        videos = videos[:limit]
    video_ids = [str(v["video_id"]) for v in videos]
    _check_unique(video_ids, f"LoVR videos/{split}: video_id")
    keep = set(video_ids)
    clips = [c for c in clips if str(c["video_id"]) in keep] if limit is not None else clips
    clip_ids = [str(c["clip_id"]) for c in clips]
    _check_unique(clip_ids, f"LoVR clips/{split}: clip_id")
    for i, c in enumerate(clips):
        if str(c["video_id"]) not in keep:
            raise ValueError(f"LoVR clips/{split} row {i}: clip {c['clip_id']!r} names unknown video {c['video_id']!r}")

    plan = TaskPlan(spec, "videos+clips", split, tables={"videos": videos, "clips": clips})
    seen: dict[str, Segment] = {}
    clip_seg: dict[str, str] = {}
    by_video: dict[str, list[dict[str, Any]]] = {v: [] for v in video_ids}
    for c in sorted(clips, key=lambda c: (str(c["video_id"]), c["start"] is None, float(c["start"] or 0.0))):
        by_video[str(c["video_id"])].append(c)
    need_clips = any(spec.tasks[t].config == "clips" for t in task_ids) or long_video.segments == "clips"
    if need_clips:
        for c in clips:
            cid = str(c["clip_id"])
            source, start, end = _clip_source(c, resolve)
            clip_seg[cid] = _add_segment(plan, seen, str(c["video_id"]), cid, "clip", source, start, end)
            plan.visuals[cid] = [clip_seg[cid]]
    need_videos = any(spec.tasks[t].config == "videos" for t in task_ids)
    if need_videos:
        for i, v in enumerate(videos):
            vid = str(v["video_id"])
            if long_video.segments == "clips":
                if not by_video[vid]:
                    raise ValueError(
                        f"LoVR videos/{split} row {i}: video {vid!r} has no clips to aggregate "
                        "(use --long-video window:<seconds>, or only the clip tasks: --tasks t2c,c2t)"
                    )
                plan.visuals[vid] = [clip_seg[str(c["clip_id"])] for c in by_video[vid]]
            else:
                duration = v.get("duration")
                if duration is None or not float(duration) > 0:
                    raise ValueError(f"LoVR videos/{split} row {i}: video {vid!r} has no positive duration for windows")
                src = resolve(str(v["video"]))
                plan.visuals[vid] = [
                    _add_segment(plan, seen, vid, f"{vid}@{a:.3f}-{b:.3f}", "window", src, a, b)
                    for a, b in _windows(float(duration), long_video.window_s or 0)
                ]

    for task_id in task_ids:
        task_spec = spec.tasks[task_id]
        if task_id in ("t2v", "v2t"):
            caps = [_add_text(plan, v["caption"], f"LoVR videos/{split} row {i} caption") for i, v in enumerate(videos)]
            texts = [EmbeddingRef("text", text=t) for t in caps]
            vis = [EmbeddingRef("visual", visual=vid) for vid in video_ids]
            q, g = (texts, vis) if task_id == "t2v" else (vis, texts)
            plan.tasks.append(Task(task_spec, list(video_ids), q, list(video_ids), g, _same_text(video_ids, caps)))
        elif task_id in ("t2c", "c2t"):
            caps = [_add_text(plan, c["caption"], f"LoVR clips/{split} row {i} caption") for i, c in enumerate(clips)]
            texts = [EmbeddingRef("text", text=t) for t in caps]
            vis = [EmbeddingRef("visual", visual=cid) for cid in clip_ids]
            q, g = (texts, vis) if task_id == "t2c" else (vis, texts)
            plan.tasks.append(Task(task_spec, list(clip_ids), q, list(clip_ids), g, _same_text(clip_ids, caps)))
        else:  # theme2c / c2theme
            themes = [c.get("theme") for c in clips]
            if not all(isinstance(t, str) and t.strip() for t in themes):
                raise ValueError(f"task {task_id!r} needs a theme on every clip of LoVR clips/{split}")
            distinct = list(dict.fromkeys(themes))
            theme_refs = [EmbeddingRef("text", text=_add_text(plan, t, "theme")) for t in distinct]
            theme_ids = [f"theme:{t}" for t in distinct]
            clip_refs = [EmbeddingRef("visual", visual=cid) for cid in clip_ids]
            if task_id == "theme2c":
                clips_of: dict[str, list[str]] = {}
                for cid, th in zip(clip_ids, themes):  # one pass: a scan per theme is O(themes x clips)
                    clips_of.setdefault(th, []).append(cid)
                rel = [clips_of[t] for t in distinct]
                plan.tasks.append(Task(task_spec, theme_ids, theme_refs, list(clip_ids), clip_refs, rel))
            else:
                rel = [[f"theme:{th}"] for th in themes]
                plan.tasks.append(Task(task_spec, list(clip_ids), clip_refs, theme_ids, theme_refs, rel))
    return plan


def _as_id_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        # A list literal left as text (the raw CSV form); parse it safely, never with eval().
        import ast

        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError) as err:
            raise ValueError(f"{where}: target_videos {value!r} is not a list literal") from err
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: target_videos must be a list, got {type(value).__name__}")
    return [str(v) for v in value]


def plan_tfcovr(
    triplets: list[dict[str, Any]],
    videos: list[dict[str, Any]],
    split: str,
    resolve: Callable[[str], str] = str,
    limit: int | None = None,
) -> TaskPlan:
    """Derive the TF-CoVR composed retrieval task from the `triplets` and `videos` configs.

    The gallery is the distinct `target_video` values of the split's triplets (deduplicated, in
    first-appearance order); each query's relevant set is `target_videos` (or its `target_video`
    when the list is empty), and the query video is excluded from its own ranking.

    Args:
        triplets: rows of the `triplets` config.
        videos: rows of the `videos` config (every query and target video must be there).
        split: split name.
        resolve: maps a row's video reference to a decodable source.
        limit: keep only the first `limit` triplets (the gallery shrinks to their targets).

    Returns:
        The plan.

    Raises:
        ValueError: on missing columns, duplicate query ids, empty modification texts, or a
            query/target video absent from the `videos` config.
    """
    spec = get_benchmark(TF_COVR)
    _require_columns(triplets, TFCOVR_TRIPLET_COLUMNS, f"TF-CoVR triplets/{split}")
    _require_columns(videos, TFCOVR_VIDEO_COLUMNS, f"TF-CoVR videos/{split}")
    if limit is not None:
        triplets = triplets[:limit]
    query_ids = [str(t["query_id"]) for t in triplets]
    _check_unique(query_ids, f"TF-CoVR triplets/{split}: query_id")
    by_id = {str(v["video_id"]): v for v in videos}
    plan = TaskPlan(spec, "triplets+videos", split, tables={"triplets": triplets, "videos": videos})
    seen: dict[str, Segment] = {}

    def visual(vid: str, where: str) -> str:
        if vid not in by_id:
            raise ValueError(f"{where}: video {vid!r} is not in the TF-CoVR videos config")
        if vid not in plan.visuals:
            source = resolve(str(by_id[vid]["video"]))
            plan.visuals[vid] = [_add_segment(plan, seen, vid, vid, "video", source, None, None)]
        return vid

    queries: list[EmbeddingRef] = []
    relevant: list[list[str]] = []
    exclude: list[list[str]] = []
    gallery_ids: list[str] = []
    for i, t in enumerate(triplets):
        where = f"TF-CoVR triplets/{split} row {i}"
        qv = visual(str(t["query_video"]), where)
        text = _add_text(plan, t["modification"], f"{where} modification")
        queries.append(EmbeddingRef("composed", text=text, visual=qv))
        targets = _as_id_list(t.get("target_videos"), where) or [str(t["target_video"])]
        relevant.append(list(dict.fromkeys(targets)))
        exclude.append([qv])
        gallery_ids.append(visual(str(t["target_video"]), where))
    gallery_ids = list(dict.fromkeys(gallery_ids))
    gallery = [EmbeddingRef("visual", visual=g) for g in gallery_ids]
    plan.tasks.append(Task(spec.tasks["cvr"], query_ids, queries, gallery_ids, gallery, relevant, exclude))
    return plan


def _check_unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise ValueError(f"{what}: duplicate id {x!r} (row {i})")
        seen.add(x)


def rows_of(dataset: Any) -> list[dict[str, Any]]:
    """A loaded `datasets.Dataset` (or any iterable of mappings) as a list of plain dicts."""
    if hasattr(dataset, "to_list"):
        return list(dataset.to_list())
    return [dict(r) for r in dataset]


def task_dict(plan: TaskPlan) -> Mapping[str, Task]:
    """The plan's tasks keyed by task id."""
    return {t.task_id: t for t in plan.tasks}
