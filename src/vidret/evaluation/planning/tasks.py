"""Benchmark tasks derived from a built dataset repo: what to embed, what to rank, what is relevant.

A `TaskPlan` is plain data computed identically on every process:

- ``texts``: text item id → text (captions, themes, modification texts), deduplicated by content;
- ``segments``: the video spans to embed (a LoVR clip, a window of a full video, a TF-CoVR clip),
  each with a cache id built from its video reference and time span, so a clip met as a clip and as
  a segment of its full video is embedded once;
- ``visuals``: a retrievable video or clip → the segment ids whose embeddings are aggregated;
- ``tasks``: per task id, the queries and the gallery (each entry an `EmbeddingRef`), the relevant
  gallery ids per query and the ids kept out of (or pushed to the bottom of) each query's ranking.

Task ids, metric names and the protocol's rules (`vidret.benchmarks.TaskRules`: which rows form the
queries and the gallery, duplicated galleries, how a query's own video is handled, identical
captions, theme queries, text normalisation) come from `vidret.benchmarks`; this module derives
the tasks from those rules and never looks at a protocol's name.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidret.benchmarks import LOVR, TF_COVR, BenchmarkSpec, ProtocolSpec, TaskSpec, get_benchmark
from vidret.evaluation.embeddings.cache import text_item_id
from vidret.evaluation.planning.textnorm import get_normalizer

logger = logging.getLogger(__name__)

LOVR_VIDEO_COLUMNS = ("video_id", "video", "caption")
LOVR_CLIP_COLUMNS = ("clip_id", "video_id", "start", "end", "caption", "video")
LOVR_QUERY_COLUMNS = ("clip_id", "caption")
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
        spec: the task's definition under the run's protocol (`spec.rules` say how it is scored).
        query_ids: dataset ids of the queries, in dataset order.
        queries: the embedding of each query.
        gallery_ids: dataset ids of the gallery, each once.
        gallery: the embedding of each gallery entry.
        relevant: per query, the gallery ids that count as hits (ids outside the gallery still count
            in |G| for mAP; TF-CoVR: the target list as written, repeats included).
        exclude: per query, ids removed from its ranking (TF-CoVR: the query video), or None.
        push_down: per query, ids ranked after every other entry instead of removed (the official
            TF-CoVR score − 100), or None.
        gallery_copies: per gallery id, how many entries it stands for in a gallery with one entry
            per annotation row (ranked consecutively); None = each entry once.
        designated: per query, its row's own target (TF-CoVR `target_video`), or None.
    """

    spec: TaskSpec
    query_ids: list[str]
    queries: list[EmbeddingRef]
    gallery_ids: list[str]
    gallery: list[EmbeddingRef]
    relevant: list[list[str]]
    exclude: list[list[str]] | None = None
    push_down: list[list[str]] | None = None
    gallery_copies: list[int] | None = None
    designated: list[str] | None = None

    @property
    def task_id(self) -> str:
        return self.spec.task_id


@dataclass
class TaskPlan:
    """Everything one evaluation needs, derived from the dataset rows.

    Attributes:
        benchmark: the benchmark spec.
        config: dataset configs read ("videos+clips", "videos+clips+clip_queries", "triplets+videos").
        split: dataset split (`vidret.benchmarks.RELEASE_SPLIT` when the tasks read every split).
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

    @property
    def has_composed_queries(self) -> bool:
        """Whether a task's queries are composed (video + text): only then does a fusion apply."""
        return any(ref.kind == "composed" for task in self.tasks for ref in task.queries)

    def visuals_embedded_alone(self, native_composed: bool = False) -> set[str]:
        """The visual ids whose own embedding a task uses: gallery entries, visual queries, and the
        videos of composed queries unless those are embedded with their text (`native_composed`)."""
        return {
            ref.visual
            for task in self.tasks
            for ref in task.queries + task.gallery
            if ref.visual is not None and not (native_composed and ref.kind == "composed")
        }

    @property
    def ranks_full_videos(self) -> bool:
        """Whether a task ranks full videos (the `videos` config): only then is `--long-video` used."""
        return any(task.spec.config == "videos" for task in self.tasks)


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


def _add_text(plan: TaskPlan, text: Any, what: str, normalize: Callable[[str], str] | None = None) -> str:
    """Register a text to embed (after `normalize`, when the protocol names one); its item id."""
    if isinstance(text, str) and normalize is not None:
        text = normalize(text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what}: empty or missing text" + (" after normalisation" if normalize else ""))
    tid = text_item_id(text)
    plan.texts.setdefault(tid, text)
    return tid


def _relevant_captions(item_ids: list[str], text_ids: list[str], identical_relevant: bool) -> list[list[str]]:
    """Per captioned item, the items a query about it may return: itself, and (when
    `identical_relevant`) every item whose caption is the same text, in dataset order.

    Identical captions embed identically, so they can't be told apart: with only its own copy
    relevant, the tie rule ranks an earlier copy first and counts a miss. The official LoVR code
    counts it as a miss all the same; our protocol counts any copy.
    """
    if not identical_relevant:
        return [[item_id] for item_id in item_ids]
    groups: dict[str, list[str]] = {}
    for item_id, text_id in zip(item_ids, text_ids):
        groups.setdefault(text_id, []).append(item_id)
    return [groups[text_id] for text_id in text_ids]


def _caption_task(spec: TaskSpec, items: list[str], captions: list[tuple[str, str]]) -> Task:
    """A text↔visual task: caption queries against `items` (text → video/clip) or the reverse.

    Args:
        spec: the task (its `query` says the direction; its rules the relevance).
        items: ids of every video/clip of the rows read (the visual gallery, in dataset order).
        captions: (item id, text id) of the captions that are queries (text → visual) or the
            gallery (visual → text), one per item; the visual queries are their items.
    """
    caption_items = [item for item, _ in captions]
    relevant = _relevant_captions(caption_items, [t for _, t in captions], spec.rules.identical_texts_relevant)
    texts = [EmbeddingRef("text", text=t) for _, t in captions]
    if spec.query == "text":
        return Task(spec, caption_items, texts, list(items), [EmbeddingRef("visual", visual=i) for i in items], relevant)
    visuals = [EmbeddingRef("visual", visual=i) for i in caption_items]
    return Task(spec, list(caption_items), visuals, list(caption_items), texts, relevant)


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
        refs = [EmbeddingRef("text", text=_add_text(plan, t, "theme")) for _, t in themed]
        if spec.query == "theme":
            return Task(spec, entry_ids, refs, list(clip_ids), clip_refs, [[cid] for cid, _ in themed])
        themed_refs = [EmbeddingRef("visual", visual=cid) for cid, _ in themed]
        return Task(spec, [cid for cid, _ in themed], themed_refs, entry_ids, refs, [[e] for e in entry_ids])
    if not all(has_theme):
        raise ValueError(f"task {spec.task_id!r} needs a theme on every clip of {where}")
    distinct = list(dict.fromkeys(themes))
    theme_refs = [EmbeddingRef("text", text=_add_text(plan, t, "theme")) for t in distinct]
    theme_ids = [f"theme:{t}" for t in distinct]
    if spec.query == "theme":
        clips_of: dict[str, list[str]] = {}
        for cid, th in zip(clip_ids, themes):  # one pass: a scan per theme is O(themes x clips)
            clips_of.setdefault(th, []).append(cid)
        return Task(spec, theme_ids, theme_refs, list(clip_ids), clip_refs, [clips_of[t] for t in distinct])
    return Task(spec, list(clip_ids), clip_refs, theme_ids, theme_refs, [[f"theme:{th}"] for th in themes])


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
    where = f"{benchmark.title.split(':')[0]} {config}/{split}"
    _require_columns(rows, LOVR_QUERY_COLUMNS, where)
    known = set(clip_ids)
    if limited:
        rows = [r for r in rows if str(r["clip_id"]) in known]
    _check_unique([str(r["clip_id"]) for r in rows], f"{where}: clip_id")
    captions = []
    for i, row in enumerate(rows):
        cid = str(row["clip_id"])
        if cid not in known:
            raise ValueError(f"{where} row {i}: clip {cid!r} is not a clip of the dataset")
        captions.append((cid, _add_text(plan, row["caption"], f"{where} row {i} caption")))
    return captions


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
            a video without clips (clips mode), theme tasks on data without themes, or a caption
            query config the rules need and the dataset lacks (the raw file to add is named).
    """
    spec = get_benchmark(LOVR)
    protocol = protocol or spec.protocol()
    query_lists = query_lists or {}
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
    task_specs = [protocol.tasks[t] for t in task_ids]
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
            clip_seg[cid] = _add_segment(plan, seen, str(c["video_id"]), cid, "clip", source, start, end)
            plan.visuals[cid] = [clip_seg[cid]]
    need_videos = any(t.config == "videos" for t in task_specs)
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

    for task_spec in task_specs:
        rules = task_spec.rules
        if "theme" in (task_spec.query, task_spec.gallery):
            plan.tasks.append(_theme_task(plan, task_spec, clips, clip_ids, f"LoVR clips/{split}"))
        elif task_spec.config == "videos":
            captions = [
                (vid, _add_text(plan, v["caption"], f"LoVR videos/{split} row {i} caption"))
                for i, (vid, v) in enumerate(zip(video_ids, videos))
            ]
            plan.tasks.append(_caption_task(task_spec, video_ids, captions))
        elif rules.caption_queries:
            captions = _clip_query_captions(
                plan, spec, rules.caption_queries, query_lists, clip_ids, split, limited=limit is not None
            )
            plan.tasks.append(_caption_task(task_spec, clip_ids, captions))
        else:
            captions = [
                (cid, _add_text(plan, c["caption"], f"LoVR clips/{split} row {i} caption"))
                for i, (cid, c) in enumerate(zip(clip_ids, clips))
            ]
            plan.tasks.append(_caption_task(task_spec, clip_ids, captions))
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
    protocol: ProtocolSpec | None = None,
) -> TaskPlan:
    """Derive the TF-CoVR composed retrieval task from the `triplets` and `videos` configs.

    The gallery is the distinct `target_video` values of the split's triplets (in first-appearance
    order); under ``gallery == "per_row"`` rules each stands for as many entries as rows name it
    (`Task.gallery_copies`). Each query's relevant ids are `target_videos` as written (or its
    `target_video` when the list is empty), its designated target its `target_video`, and its own
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
    spec = get_benchmark(TF_COVR)
    task_spec = (protocol or spec.protocol()).tasks["cvr"]
    rules = task_spec.rules
    normalize = get_normalizer(rules.text_normalization)
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
    own: list[list[str]] = []
    designated: list[str] = []
    row_targets: list[str] = []
    for i, t in enumerate(triplets):
        where = f"TF-CoVR triplets/{split} row {i}"
        qv = visual(str(t["query_video"]), where)
        text = _add_text(plan, t["modification"], f"{where} modification", normalize)
        queries.append(EmbeddingRef("composed", text=text, visual=qv))
        target = visual(str(t["target_video"]), where)
        relevant.append(_as_id_list(t.get("target_videos"), where) or [target])
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
        )
    )
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
