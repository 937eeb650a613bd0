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
captions, theme queries, text normalisation) come from `vidret.benchmarks`. Each benchmark's
planner (``vidret.benchmarks.<name>.planner``: rows -> `TaskPlan`, given a `PlanRequest`) derives
its tasks from those rules with the shared helpers here (`add_segment`, `add_text`,
`caption_task`, `check_unique`), and never looks at a protocol's name.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidret.benchmarks import BenchmarkSpec, ProtocolSpec, TaskSpec
from vidret.evaluation.embeddings.cache import text_item_id

logger = logging.getLogger(__name__)


#: The ways a full video is embedded (``--long-video``): see `LongVideo`.
LONG_VIDEO_MODES = ("clips", "window:<seconds>", "concat")


@dataclass(frozen=True)
class LongVideo:
    """How a LoVR full video is embedded.

    Attributes:
        segments: "clips" (its own clips, one embedding each, aggregated), "window" (fixed
            windows of `window_s` seconds of its file, aggregated) or "concat" (ONE embedding of
            the frames of all its clips, sampled as if the clips were one video, so a frame
            stride runs on across clip boundaries: what the official LoVR scripts feed a model).
        window_s: window length in seconds when `segments == "window"`.
        aggregate: "mean" or "max" over segment embeddings (None with "concat": nothing to aggregate).
    """

    segments: str = "clips"
    window_s: float | None = None
    aggregate: str | None = "mean"

    def as_dict(self) -> dict[str, Any]:
        return {"segments": self.segments, "window_s": self.window_s, "aggregate": self.aggregate}


def parse_long_video(value: str, aggregate: str = "mean") -> LongVideo:
    """Parse ``--long-video clips|window:<seconds>|concat`` and ``--aggregate mean|max``.

    Raises:
        ValueError: naming the bad value and the accepted forms (``--aggregate max`` with
            "concat", which embeds each video once, is refused too).
    """
    if aggregate not in ("mean", "max"):
        raise ValueError(f"--aggregate must be 'mean' or 'max', not {aggregate!r}")
    if value == "clips":
        return LongVideo("clips", None, aggregate)
    if value == "concat":
        if aggregate != "mean":
            raise ValueError(
                f"--aggregate {aggregate}: --long-video concat embeds each full video once (all its clips' frames in "
                "one input), so there are no segment embeddings to aggregate; drop --aggregate"
            )
        return LongVideo("concat", None, None)
    if value.startswith("window:"):
        try:
            seconds = float(value.split(":", 1)[1])
        except ValueError:
            seconds = float("nan")
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"--long-video {value!r}: the window must be a positive number of seconds")
        return LongVideo("window", seconds, aggregate)
    raise ValueError(f"--long-video must be one of {', '.join(repr(m) for m in LONG_VIDEO_MODES)}, not {value!r}")


@dataclass(frozen=True)
class Segment:
    """One video span to embed.

    Attributes:
        item_id: cache / gather id (video reference + span).
        video_id: dataset id of the video file the span is cut from.
        name: dataset id of what the span is (a clip id, a TF-CoVR or LoVR video id, or
            ``<video_id>@<start>-<end>`` for a window), used in failure reports.
        kind: "clip", "window" or "video".
        source: the video reference (resolved path or URL).
        start: span start in seconds (None = start of the file).
        end: span end in seconds (None = end of the file).
        parts: for a full video embedded from its clips in one input (``--long-video concat``):
            the (source, start, end) spans of its clips in temporal order, whose frames are sampled
            as one video (`vidret.video.sample_concatenated`); `source` is then the full video's
            reference and `start`/`end` are None. Empty for a plain span.
    """

    item_id: str
    video_id: str
    name: str
    kind: str
    source: str
    start: float | None
    end: float | None
    parts: tuple[tuple[str, float | None, float | None], ...] = ()


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
        clusters: per query, its cluster id (what `spec.cluster` names: e.g. the long video of
            a LoVR clip query), or None when the task declares no cluster (independent queries).
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
    clusters: list[str] | None = None

    @property
    def task_id(self) -> str:
        return self.spec.task_id

    def query_clusters(self) -> list[str] | None:
        """Each query's cluster id when the task declares a cluster (`TaskSpec.cluster`), else None.

        Raises:
            ValueError: the task declares a cluster but its planner gave no ids, or not one per query.
        """
        key = self.spec.cluster
        if key is None:
            return None
        if self.clusters is None or len(self.clusters) != len(self.query_ids):
            got = "none" if self.clusters is None else f"{len(self.clusters)} for {len(self.query_ids)} queries"
            raise ValueError(
                f"task {self.task_id!r} declares that its queries cluster on {key!r}, but its planner gave "
                f"{got}; a planner sets Task.clusters to one id per query"
            )
        return list(self.clusters)


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


@dataclass(frozen=True)
class PlanRequest:
    """What `load_plan` asks a benchmark's planner for (`Benchmark.plan(tables, request)`).

    The planner gets the rows of each of the benchmark's `plan_configs()` as ``tables`` (the
    split's, or every split's when `split` is `RELEASE_SPLIT`) and this request.

    Attributes:
        task_ids: the tasks to build, in the order asked.
        split: the split recorded in the plan (`vidret.benchmarks.RELEASE_SPLIT` when the rows
            are the whole release's).
        protocol: the protocol whose rules form the tasks.
        resolve: maps a row's video reference to a decodable source (path/URL).
        long_video: how full videos are segmented and aggregated (planners with no full videos ignore it).
        limit: keep only the first `limit` units of the benchmark (smoke tests).
        query_lists: rows of the caption-query configs the rules name (`TaskRules.caption_queries`).
    """

    task_ids: tuple[str, ...]
    split: str
    protocol: ProtocolSpec
    resolve: Callable[[str], str] = str
    long_video: LongVideo = LongVideo()
    limit: int | None = None
    query_lists: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)


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


def _span_id(source: str, start: float | None, end: float | None) -> str:
    """Cache id of a span: the video reference plus the span to the millisecond ("all" = whole file)."""
    if start is None and end is None:
        return f"seg:{source}@all"
    stop = "end" if end is None else f"{float(end):.3f}"
    return f"seg:{source}@{float(start or 0.0):.3f}-{stop}"


def add_segment(
    plan: TaskPlan, seen: dict[str, Segment], video_id: str, name: str, kind: str, source: str, start: Any, end: Any
) -> str:
    """Register a span to embed (once per video reference and span, in `seen`); its item id.

    Args:
        plan: the plan whose `segments` it joins.
        seen: item id -> segment, of every span registered so far.
        video_id, name, kind, source: see `Segment`.
        start, end: the span in seconds (None = the file's start / end).
    """
    start_f = None if start is None else float(start)
    end_f = None if end is None else float(end)
    seg = Segment(_span_id(source, start_f, end_f), video_id, name, kind, source, start_f, end_f)
    if seg.item_id not in seen:
        seen[seg.item_id] = seg
        plan.segments.append(seg)
    return seg.item_id


def add_concatenated(
    plan: TaskPlan, seen: dict[str, Segment], video_id: str, source: str, parts: Sequence[tuple[str, Any, Any]]
) -> str:
    """Register a full video embedded from its clips' frames as one input (see `Segment.parts`); its item id.

    The item id names the spans and the way they are joined, so the cache never mixes it with a
    clip, a window or the whole file.

    Args:
        plan: the plan whose `segments` it joins.
        seen: item id -> segment, of every span registered so far.
        video_id: the full video's dataset id (also its name).
        source: the full video's reference (for messages; decoding reads `parts`).
        parts: (source, start, end) of each clip, in temporal order (None bounds: the whole file).
    """
    spans = tuple((str(src), None if a is None else float(a), None if b is None else float(b)) for src, a, b in parts)
    if not spans:
        raise ValueError(f"video {video_id!r}: no clips to concatenate")
    # A digest of every span's own id: a video of ~90 clips would otherwise make a 5 kB key.
    joined = hashlib.sha256("\n".join(_span_id(*span) for span in spans).encode()).hexdigest()[:24]
    item_id = f"concat:{source}@{len(spans)}:{joined}"
    if item_id not in seen:
        seen[item_id] = Segment(item_id, video_id, video_id, "video", source, None, None, spans)
        plan.segments.append(seen[item_id])
    return item_id


def add_text(plan: TaskPlan, text: Any, what: str, normalize: Callable[[str], str] | None = None) -> str:
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


def caption_task(spec: TaskSpec, items: list[str], captions: list[tuple[str, str]]) -> Task:
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


def check_unique(ids: list[str], what: str) -> None:
    """Raise ValueError naming `what`, the id and its row when an id repeats."""
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
