"""The evaluation pipeline: dataset → tasks → embeddings (sharded, cached) → scores → results.

Every process derives the same `TaskPlan`, embeds its contiguous share of the texts and video
segments that are not cached yet (decoding in DataLoader workers while the model runs), writes
each batch to the embedding cache, and sends (ids, embeddings, failures) to the others. The
main process merges them by id, aggregates segments into videos, fuses composed queries,
ranks and scores with `vidret.scoring`, and writes the results file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidret.benchmarks import LOVR, TF_COVR, get_benchmark
from vidret.evaluation.cache import EmbeddingCache
from vidret.evaluation.distributed import (
    ProcessInfo,
    barrier,
    gather_embeddings,
    gather_objects,
    init_processes,
    shard,
)
from vidret.evaluation.oracle import build_oracle, is_oracle
from vidret.evaluation.results import build_record, write_results
from vidret.evaluation.tasks import (
    LongVideo,
    Segment,
    Task,
    TaskPlan,
    parse_long_video,
    plan_lovr,
    plan_tfcovr,
    resolve_task_ids,
    rows_of,
)

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter

logger = logging.getLogger(__name__)

#: Test hook: stop the run (exit code 75) after this many embedding batches on a process, as if
#: it had been killed; the batches written so far stay in the cache.
STOP_AFTER_ENV = "VIDRET_STOP_AFTER_BATCHES"
RETRIEVAL_K = (1, 5, 10, 50)
COMPOSED_MAP_K = (5, 10, 25, 50)
COMPOSED_RECALL_K = (1, 5, 10, 50)
DECODE_MODES = ("exact", "keyframe")
# Segments of one video decoded per DataLoader item (bounds a worker's memory on long videos).
MAX_SEGMENTS_PER_GROUP = 64


class EvaluationError(RuntimeError):
    """The run cannot produce results (e.g. a video failed to decode under ``strict``)."""


class RunInterrupted(SystemExit):
    """Raised by the `VIDRET_STOP_AFTER_BATCHES` test hook (exit code 75)."""

    def __init__(self, batches: int) -> None:
        super().__init__(75)
        self.batches = batches


@dataclass
class EvalSettings:
    """Everything `vidret evaluate` accepts.

    Attributes:
        benchmark: "lovr" or "tf-covr".
        data: built dataset repo: a local folder or a Hub dataset id.
        model: Hub id or local folder of the model, or "oracle" / "oracle-shuffled".
        revision: dataset revision (Hub tag/commit); recorded.
        split: dataset split.
        model_revision: model revision; recorded.
        tasks: task ids (comma-separated or list); None = the benchmark's default tasks.
        frames: frames per clip; None = the adapter preset's.
        batch_size: clips / texts per forward pass.
        fusion: composed-query fusion (TF-CoVR); None = the adapter's default.
        cache_dir: embedding cache folder; None = no cache.
        output: results JSON path; None = don't write (the record is still returned).
        limit: LoVR: first N videos and their clips; TF-CoVR: first N triplets (smoke tests;
            the numbers are not comparable to full runs).
        strict: a video that fails to decode stops the run instead of counting as a miss.
        num_workers: DataLoader worker processes decoding videos (0 = decode in the main loop).
        trust_remote_code: allow models whose code lives on the Hub.
        long_video: "clips" or "window:<seconds>" (how LoVR full videos are segmented).
        aggregate: "mean" or "max" over a full video's segment embeddings.
        preset: adapter preset name; None = found from the model id / config.
        video_root: folder holding the videos of an annotations-only dataset repo.
        decode_mode: "exact" or "keyframe" frame sampling.
        device: torch device for the model; None = this process's accelerate device.
        random_weights: the model is a locally built random-weight model (recorded, labelled).
    """

    benchmark: str
    data: str
    model: str
    revision: str | None = None
    split: str = "test"
    model_revision: str | None = None
    tasks: str | list[str] | None = None
    frames: int | None = None
    batch_size: int = 16
    fusion: str | None = None
    cache_dir: str | None = None
    output: str | None = None
    limit: int | None = None
    strict: bool = False
    num_workers: int = 0
    trust_remote_code: bool = False
    long_video: str = "clips"
    aggregate: str = "mean"
    preset: str | None = None
    video_root: str | None = None
    decode_mode: str = "exact"
    device: str | None = None
    random_weights: bool = False

    def check(self) -> None:
        """Validate the settings before any work starts.

        Raises:
            ValueError: naming the bad argument and what is accepted.
        """
        get_benchmark(self.benchmark)
        if not self.data:
            raise ValueError("--data is required: a built dataset folder or a Hub dataset repo id")
        if not _is_local(self.data) and (self.data.startswith((".", "/", "~")) or self.data.count("/") > 1):
            raise ValueError(f"--data {self.data!r}: no such folder (a Hub dataset id looks like 'org/name')")
        if not self.model:
            raise ValueError("--model is required: a Hub model id, a local model folder, or 'oracle'")
        if self.frames is not None and int(self.frames) < 1:
            raise ValueError(f"--frames must be >= 1, got {self.frames}")
        if int(self.batch_size) < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.limit is not None and int(self.limit) < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")
        if int(self.num_workers) < 0:
            raise ValueError(f"--num-workers must be >= 0, got {self.num_workers}")
        if self.decode_mode not in DECODE_MODES:
            raise ValueError(f"--decode-mode must be one of {DECODE_MODES}, got {self.decode_mode!r}")
        if self.fusion is not None:
            from vidret.adapters.fusion import parse_fusion

            parse_fusion(self.fusion)
        parse_long_video(self.long_video, self.aggregate)
        resolve_task_ids(get_benchmark(self.benchmark), self.tasks)
        if self.video_root is not None and not Path(self.video_root).is_dir():
            raise ValueError(f"--video-root {self.video_root!r} is not a folder")


# ---- dataset --------------------------------------------------------------------------------------
def _is_local(data: str) -> bool:
    return Path(data).expanduser().exists()


def make_resolver(data: str, revision: str | None, video_root: str | None) -> Callable[[str], str]:
    """Map a dataset row's video reference to a decodable source.

    Absolute paths and URLs are kept; a relative path resolves against `video_root` when given,
    else against the dataset repo (a local folder, or ``hf://datasets/<repo>@<revision>/``).
    """
    if video_root is not None:
        base: str | None = str(Path(video_root).expanduser().resolve())
    elif _is_local(data):
        base = str(Path(data).expanduser().resolve())
    else:
        base = f"hf://datasets/{data}@{revision or 'main'}"

    def resolve(ref: str) -> str:
        if "://" in ref or os.path.isabs(ref):
            return ref
        return f"{base}/{ref}" if base.startswith("hf://") else os.path.join(base, ref)

    return resolve


def _load_rows(data: str, config: str, split: str, revision: str | None) -> tuple[list[dict[str, Any]], str | None]:
    import datasets

    path = str(Path(data).expanduser()) if _is_local(data) else data
    verbosity = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity_error()  # card-parsing chatter would bury the run's own log
    try:
        ds = datasets.load_dataset(path, config, split=split, revision=revision)
    except ValueError as err:
        raise ValueError(f"cannot load config {config!r} split {split!r} of {data!r}: {err}") from err
    finally:
        datasets.logging.set_verbosity(verbosity)
    # Keep the raw video reference (path/URL), never decoded video objects.
    for name, feature in ds.features.items():
        if type(feature).__name__ == "Video":
            ds = ds.cast_column(name, type(feature)(decode=False))
    rows = rows_of(ds)
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dict) and "path" in value and "bytes" in value:
                row[key] = value["path"]
    return rows, getattr(ds, "_fingerprint", None)


def _local_version(data: str) -> str | None:
    """The version a local build records (its manifest or card), or None."""
    import json

    root = Path(data).expanduser()
    for name in ("manifest.json", "build_manifest.json"):
        f = root / name
        if f.is_file():
            try:
                meta = json.loads(f.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            version = meta.get("version") if isinstance(meta, dict) else None
            if version:
                return str(version)
    return None


def load_plan(settings: EvalSettings) -> tuple[TaskPlan, dict[str, Any]]:
    """Load the dataset configs a benchmark needs and derive its tasks.

    Returns:
        (plan, dataset record {"repo", "revision", "fingerprint"}).

    Raises:
        ValueError: bad settings, or data that does not fit the benchmark (file/row named).
    """
    spec = get_benchmark(settings.benchmark)
    task_ids = resolve_task_ids(spec, settings.tasks)
    resolve = make_resolver(settings.data, settings.revision, settings.video_root)
    if spec.benchmark == LOVR:
        videos, fp1 = _load_rows(settings.data, "videos", settings.split, settings.revision)
        clips, fp2 = _load_rows(settings.data, "clips", settings.split, settings.revision)
        plan = plan_lovr(
            videos, clips, task_ids, settings.split, resolve, parse_long_video(settings.long_video, settings.aggregate), settings.limit
        )
    else:
        triplets, fp1 = _load_rows(settings.data, "triplets", settings.split, settings.revision)
        videos, fp2 = _load_rows(settings.data, "videos", settings.split, settings.revision)
        plan = plan_tfcovr(triplets, videos, settings.split, resolve, settings.limit)
    fingerprint = hashlib.sha256(f"{fp1}|{fp2}".encode()).hexdigest()[:16] if fp1 and fp2 else None
    revision = settings.revision or (_local_version(settings.data) if _is_local(settings.data) else None)
    dataset = {"repo": settings.data, "revision": revision, "fingerprint": fingerprint}
    return plan, dataset


# ---- model ----------------------------------------------------------------------------------------
def make_adapter(settings: EvalSettings, plan: TaskPlan, info: ProcessInfo) -> EmbeddingAdapter:
    """The oracle for "oracle"/"oracle-shuffled", else `vidret.adapters.load_adapter`."""
    if is_oracle(settings.model):
        return build_oracle(plan, settings.model, num_frames=settings.frames)
    from vidret.adapters import load_adapter

    return load_adapter(
        settings.model,
        revision=settings.model_revision,
        preset=settings.preset,
        frames=settings.frames,
        device=settings.device or info.device,
        batch_size=settings.batch_size,
        trust_remote_code=settings.trust_remote_code,
    )


def _model_fingerprint(model: str) -> str | None:
    """For a local model folder: a hash of its files' names, sizes and mtimes (rebuilt → new key)."""
    root = Path(model).expanduser()
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def cache_key(settings: EvalSettings, adapter: EmbeddingAdapter, plan: TaskPlan) -> dict[str, Any]:
    """What makes two runs' unit embeddings interchangeable (fusion/aggregation are applied later)."""
    described = dict(adapter.describe())
    for later in ("fusion", "segment_aggregation"):
        described.pop(later, None)
    key: dict[str, Any] = {
        "model": settings.model,
        "model_revision": settings.model_revision,
        "model_fingerprint": _model_fingerprint(settings.model),
        "preset": getattr(adapter, "preset", None) or settings.preset,
        "adapter": described,
        "decode_mode": settings.decode_mode,
    }
    if is_oracle(settings.model):
        # The oracle's space depends on the split's id table.
        key["oracle_table"] = hashlib.sha256(repr(sorted(plan.visuals)).encode()).hexdigest()[:16]
    return key


# ---- embedding ------------------------------------------------------------------------------------
class _NoCache:
    """Stands in for `EmbeddingCache` when caching is off."""

    def missing(self, ids: Sequence[str]) -> list[str]:
        return list(ids)

    def get(self, item_id: str) -> None:
        return None

    def put(self, ids: list[str], embeddings: np.ndarray) -> None:
        return None


@dataclass
class _Progress:
    """Per-process counters: batches embedded (for the stop hook), cache hits and misses."""

    stop_after: int | None
    batches: int = 0
    hits: int = 0
    misses: int = 0
    truncated: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def batch_done(self) -> None:
        self.batches += 1
        if self.stop_after is not None and self.batches >= self.stop_after:
            logger.warning("%s=%d: stopping after %d batches", STOP_AFTER_ENV, self.stop_after, self.batches)
            raise RunInterrupted(self.batches)


def _tqdm(iterable: Any, info: ProcessInfo, **kwargs: Any) -> Any:
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not info.is_main, dynamic_ncols=True, **kwargs)


def embed_texts(
    plan: TaskPlan,
    adapter: EmbeddingAdapter,
    cache: Any,
    info: ProcessInfo,
    batch_size: int,
    progress: _Progress,
    todo: list[str],
) -> dict[str, np.ndarray]:
    """Embed this process's share of `todo` (the uncached texts) and gather every text's embedding."""
    ids = list(plan.texts)
    mine = shard(todo, info.rank, info.world_size)
    if info.is_main:
        progress.hits += len(ids) - len(todo)
        progress.misses += len(todo)
    before = getattr(adapter, "num_truncated_texts", 0)
    out_ids: list[str] = []
    out_rows: list[np.ndarray] = []
    batches = [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]
    for batch in _tqdm(batches, info, desc="texts", unit="batch"):
        emb = adapter.encode_text([plan.texts[i] for i in batch]).numpy().astype(np.float32)
        cache.put(batch, emb)
        out_ids += batch
        out_rows.append(emb)
        progress.batch_done()
    progress.truncated += getattr(adapter, "num_truncated_texts", 0) - before
    return _merge(ids, out_ids, out_rows, cache, info)


def _merge(
    all_ids: list[str], out_ids: list[str], out_rows: list[np.ndarray], cache: Any, info: ProcessInfo
) -> dict[str, np.ndarray]:
    local = np.concatenate(out_rows) if out_rows else None
    merged, _ = gather_embeddings(out_ids, local, info)
    if info.is_main:
        for item_id in all_ids:
            if item_id not in merged:
                row = cache.get(item_id)
                if row is not None:
                    merged[item_id] = row
    return merged


def _identity(batch: Any) -> Any:
    return batch


class SegmentDecoder:
    """A map-style dataset over groups of segments of one video each; item = decoded group.

    Decoding happens here, so with `num_workers > 0` it runs in DataLoader worker processes
    while the main loop runs the model. A failed segment comes back with its error text.

    Args:
        groups: lists of segments, each list from one video source.
        num_frames: frames per segment.
        size: (width, height) to decode at, or None for the native size.
        mode: "exact" or "keyframe".
    """

    def __init__(self, groups: list[list[Segment]], num_frames: int, size: tuple[int, int] | None, mode: str) -> None:
        self.groups = groups
        self.num_frames = num_frames
        self.size = tuple(size) if size else None
        self.mode = mode

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index: int) -> list[tuple[Segment, np.ndarray | None, str | None]]:
        group = self.groups[index]
        try:
            return [(seg, frames, None) for seg, frames in zip(group, self._decode_group(group))]
        except Exception:  # noqa: BLE001 - isolate the failing segment(s) one by one below
            out: list[tuple[Segment, np.ndarray | None, str | None]] = []
            for seg in group:
                try:
                    out.append((seg, self._decode_group([seg])[0], None))
                except Exception as err:  # noqa: BLE001 - reported as a failure with its reason
                    out.append((seg, None, f"{type(err).__name__}: {err}"))
            return out

    def _decode_group(self, group: list[Segment]) -> list[np.ndarray]:
        from vidret.video import sample_frames, sample_segments

        whole = [s for s in group if s.start is None and s.end is None]
        if whole:
            return [sample_frames(s.source, num_frames=self.num_frames, size=self.size, mode=self.mode) for s in group]
        spans = [(s.start or 0.0, s.end) for s in group]
        return list(sample_segments(group[0].source, spans, num_frames=self.num_frames, size=self.size, mode=self.mode))


def _group_segments(segments: list[Segment]) -> list[list[Segment]]:
    by_source: dict[str, list[Segment]] = {}
    for seg in segments:
        by_source.setdefault(seg.source, []).append(seg)
    groups: list[list[Segment]] = []
    for segs in by_source.values():
        segs = sorted(segs, key=lambda s: (s.start or 0.0, s.end or 0.0))
        groups += [segs[i : i + MAX_SEGMENTS_PER_GROUP] for i in range(0, len(segs), MAX_SEGMENTS_PER_GROUP)]
    return groups


def embed_segments(
    plan: TaskPlan,
    adapter: EmbeddingAdapter,
    cache: Any,
    info: ProcessInfo,
    settings: EvalSettings,
    progress: _Progress,
    todo_ids: list[str],
) -> dict[str, np.ndarray]:
    """Decode and embed this process's share of `todo_ids` (uncached segments); gather all of them."""
    import torch.utils.data

    ids = [s.item_id for s in plan.segments]
    todo = set(todo_ids)
    if info.is_main:
        progress.hits += len(ids) - len(todo)
        progress.misses += len(todo)
    groups = _group_segments([s for s in plan.segments if s.item_id in todo])
    mine = shard(groups, info.rank, info.world_size)
    decoder = SegmentDecoder(mine, adapter.num_frames, adapter.frame_size, settings.decode_mode)
    loader = torch.utils.data.DataLoader(
        decoder, batch_size=None, shuffle=False, num_workers=settings.num_workers, collate_fn=_identity
    )
    out_ids: list[str] = []
    out_rows: list[np.ndarray] = []
    pending: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        if not pending:
            return
        batch_ids = [i for i, _ in pending]
        emb = adapter.encode_video([f for _, f in pending]).numpy().astype(np.float32)
        cache.put(batch_ids, emb)
        out_ids.extend(batch_ids)
        out_rows.append(emb)
        pending.clear()
        progress.batch_done()

    total = sum(len(g) for g in mine)
    with _tqdm(None, info, total=total, desc="videos", unit="segment") as bar:
        for group in loader:
            for seg, frames, error in group:
                bar.update(1)
                if error is not None:
                    failure = {"item_id": seg.name, "kind": seg.kind, "source": seg.source, "reason": error}
                    logger.warning("could not decode %s %s (%s): %s", seg.kind, seg.name, seg.source, error)
                    if settings.strict and info.world_size == 1:
                        raise EvaluationError(f"--strict: {seg.kind} {seg.name!r} ({seg.source}) failed to decode: {error}")
                    progress.failures.append(failure)
                    continue
                pending.append((seg.item_id, frames))
                if len(pending) >= settings.batch_size:
                    flush()
        flush()
    local = np.concatenate(out_rows) if out_rows else None
    merged, extras = gather_embeddings(out_ids, local, info, extra=progress.failures)
    failures = [f for rank_failures in extras for f in rank_failures]
    if settings.strict and failures:
        f = failures[0]
        raise EvaluationError(f"--strict: {f['kind']} {f['item_id']!r} ({f['source']}) failed to decode: {f['reason']}")
    progress.failures = failures
    if info.is_main:
        for item_id in ids:
            if item_id not in merged:
                row = cache.get(item_id)
                if row is not None:
                    merged[item_id] = row
    return merged


# ---- scoring --------------------------------------------------------------------------------------
def build_visuals(
    plan: TaskPlan, segment_emb: dict[str, np.ndarray], aggregate: str, failures: list[dict[str, Any]]
) -> dict[str, np.ndarray]:
    """Aggregate segment embeddings into one embedding per video/clip; a visual with a failed
    segment fails too (added to `failures` when it is more than that one segment)."""
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


def score_task(
    task: Task, texts: dict[str, np.ndarray], visuals: dict[str, np.ndarray], fusion: str
) -> dict[str, Any]:
    """Rank and score one task on the main process.

    Queries whose own embedding failed count as misses (listed in ``failed_queries``); gallery
    entries that failed are not ranked, so the queries that needed them miss too.
    """
    import torch

    from vidret.adapters.fusion import fuse
    from vidret.scoring import composed_map, first_relevant_ranks, rank_from_embeddings, retrieval_metrics

    gallery_pairs = [(gid, _ref_embedding(ref, texts, visuals)) for gid, ref in zip(task.gallery_ids, task.gallery)]
    gallery_ids = [gid for gid, e in gallery_pairs if e is not None]
    gallery = np.stack([e[0] for _, e in gallery_pairs if e is not None]) if gallery_ids else None
    ok: list[int] = []
    q_rows: list[np.ndarray] = []
    composed_v: list[np.ndarray] = []
    composed_t: list[np.ndarray] = []
    for i, ref in enumerate(task.queries):
        e = _ref_embedding(ref, texts, visuals)
        if e is None:
            continue
        ok.append(i)
        if ref.kind == "composed":
            composed_v.append(e[0])
            composed_t.append(e[1])
        else:
            q_rows.append(e[0])
    failed_queries = [task.query_ids[i] for i in range(len(task.queries)) if i not in set(ok)]
    if composed_v:
        queries = fuse(torch.from_numpy(np.stack(composed_v)), torch.from_numpy(np.stack(composed_t)), fusion).numpy()
    else:
        queries = np.stack(q_rows) if q_rows else None

    spec = task.spec
    n = len(task.queries)
    if spec.query == "video+text":  # composed retrieval (TF-CoVR): mAP@K over the top K
        rankings: list[list[str]] = [[] for _ in range(n)]
        if queries is not None and gallery is not None:
            ranked = rank_from_embeddings(
                torch.from_numpy(queries),
                torch.from_numpy(gallery),
                gallery_ids,
                k=max(COMPOSED_MAP_K + COMPOSED_RECALL_K),
                exclude=[task.exclude[i] for i in ok] if task.exclude else None,
            )
            for i, r in zip(ok, ranked):
                rankings[i] = list(r)
        result = composed_map(rankings, task.relevant, k_values=COMPOSED_MAP_K, recall_k_values=COMPOSED_RECALL_K)
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
        result = retrieval_metrics(ranks=ranks, k_values=RETRIEVAL_K, gallery_size=max(1, len(gallery_ids)))
    metrics = {name: float(result[name]) for name in spec.metrics}
    return {
        "name": spec.name,
        "metrics": metrics,
        "main_score": spec.main_score,
        "num_queries": n,
        "num_failed": len(failed_queries),
        "gallery_size": len(gallery_ids),
        "failed_queries": failed_queries,
    }


# ---- the pipeline ---------------------------------------------------------------------------------
def _stop_after() -> int | None:
    value = os.environ.get(STOP_AFTER_ENV)
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{STOP_AFTER_ENV}={value!r} must be a positive integer") from None
    if n < 1:
        raise ValueError(f"{STOP_AFTER_ENV}={value!r} must be a positive integer")
    return n


def evaluate(
    settings: EvalSettings, adapter: EmbeddingAdapter | None = None, info: ProcessInfo | None = None
) -> dict[str, Any] | None:
    """Run one evaluation end to end.

    Args:
        settings: what to evaluate and how (see `EvalSettings`).
        adapter: a ready adapter (tests, the demo); None = built from `settings.model`.
        info: this process's place in the run; None = join the launcher's process group.

    Returns:
        The results record on the main process (also written to `settings.output` when set);
        None on the other processes.

    Raises:
        ValueError: bad settings or data (the argument, file or row is named).
        EvaluationError: a video failed to decode with ``strict``.
    """
    settings.check()
    start = time.perf_counter()
    info = info or init_processes()
    progress = _Progress(stop_after=_stop_after())
    plan, dataset = load_plan(settings)
    if adapter is None:
        adapter = make_adapter(settings, plan, info)
    cache: Any = _NoCache()
    namespace = None
    if settings.cache_dir:
        cache = EmbeddingCache(settings.cache_dir, cache_key(settings, adapter, plan))
        namespace = cache.namespace
    if info.is_main:
        logger.info(
            "%s/%s: %d texts, %d video segments, tasks %s, %d process(es)",
            plan.benchmark.benchmark, plan.split, len(plan.texts), len(plan.segments),
            [t.task_id for t in plan.tasks], info.world_size,
        )
    # Every process must shard the same work lists, but each sees the cache at its own moment
    # (another rank may already be writing): take the main process's view.
    text_todo, segment_todo = gather_objects(
        (cache.missing(list(plan.texts)), cache.missing([s.item_id for s in plan.segments])), info
    )[0]
    timings = {"load_s": time.perf_counter() - start}
    mark = time.perf_counter()
    text_emb = embed_texts(plan, adapter, cache, info, settings.batch_size, progress, text_todo)
    timings["texts_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    segment_emb = embed_segments(plan, adapter, cache, info, settings, progress, segment_todo)
    timings["videos_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    truncated = sum(_gather_ints(progress.truncated, info))
    if not info.is_main:
        barrier(info)
        return None

    failures = list(progress.failures)
    long_video = parse_long_video(settings.long_video, settings.aggregate)
    visuals = build_visuals(plan, segment_emb, long_video.aggregate, failures)
    fusion = settings.fusion or adapter.default_fusion
    tasks = {}
    for task in _tqdm(plan.tasks, info, desc="scoring", unit="task"):
        tasks[task.task_id] = score_task(task, text_emb, visuals, fusion)
        if truncated:
            tasks[task.task_id]["num_truncated_texts"] = truncated
    timings["scoring_s"] = time.perf_counter() - mark
    record = build_record(
        benchmark=plan.benchmark.benchmark,
        config=plan.config,
        split=plan.split,
        dataset=dataset,
        model=_model_record(settings, adapter),
        settings=_settings_record(settings, adapter, plan, long_video, fusion),
        tasks=tasks,
        failures=failures,
        num_processes=info.world_size,
        wall_time_s=time.perf_counter() - start,
        cache={"dir": settings.cache_dir, "namespace": namespace, "hits": progress.hits, "misses": progress.misses},
        timings=timings,
    )
    if settings.output:
        write_results(record, settings.output)
        logger.info("results written to %s", settings.output)
    barrier(info)
    return record


def _gather_ints(value: int, info: ProcessInfo) -> list[int]:
    return [int(v) for v in gather_objects(value, info)]


def _model_record(settings: EvalSettings, adapter: EmbeddingAdapter) -> dict[str, Any]:
    oracle = is_oracle(settings.model)
    return {
        "id": settings.model,
        "revision": getattr(adapter, "revision", None) or settings.model_revision,
        "adapter": "oracle" if oracle else (getattr(adapter, "preset", None) or settings.preset or type(adapter).__name__),
        "adapter_class": type(adapter).__name__,
        "random_weights": bool(settings.random_weights or getattr(adapter, "random_weights", False)),
        "trust_remote_code": bool(settings.trust_remote_code),
    }


def _settings_record(
    settings: EvalSettings, adapter: EmbeddingAdapter, plan: TaskPlan, long_video: LongVideo, fusion: str
) -> dict[str, Any]:
    described = adapter.describe()
    dtype = getattr(adapter, "dtype", None)
    needs_videos = any(t.spec.config == "videos" for t in plan.tasks)
    return {
        "frames": int(adapter.num_frames),
        "resolution": list(adapter.frame_size) if adapter.frame_size else None,
        "fusion": fusion if plan.benchmark.benchmark == TF_COVR else None,
        "pooling": described.get("pooling"),
        "text_max_length": adapter.text_max_length,
        "long_video": long_video.as_dict() if plan.benchmark.benchmark == LOVR and needs_videos else None,
        "decode_mode": settings.decode_mode,
        "batch_size": int(settings.batch_size),
        "limit": settings.limit,
        "dtype": str(dtype).replace("torch.", "") if dtype is not None else "float32",
        "num_workers": int(settings.num_workers),
        "strict": bool(settings.strict),
    }


def settings_from_dict(values: dict[str, Any]) -> EvalSettings:
    """`EvalSettings` from a dict, rejecting unknown keys by name.

    Raises:
        ValueError: an unknown setting.
    """
    known = set(EvalSettings.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown evaluation setting(s) {unknown}; known: {sorted(known)}")
    return EvalSettings(**values)


__all__ = [
    "EvalSettings",
    "EvaluationError",
    "RunInterrupted",
    "evaluate",
    "load_plan",
    "make_adapter",
    "score_task",
    "settings_from_dict",
]
