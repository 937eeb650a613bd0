"""The embedding stages: texts and video segments, sharded, cached, gathered by id.

Each process embeds its contiguous share of the uncached items (decoding video segments in
DataLoader workers while the model runs), writes every batch to the embedding cache, and the
(ids, embeddings, failures) of all processes are gathered and merged by id.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vidret.evaluation.distributed import ProcessInfo, gather_embeddings, shard
from vidret.evaluation.tasks import Segment, TaskPlan

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter

logger = logging.getLogger(__name__)

#: Test hook: stop the run (exit code 75) after this many embedding batches on a process, as if
#: it had been killed; the batches written so far stay in the cache.
STOP_AFTER_ENV = "VIDRET_STOP_AFTER_BATCHES"
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


def stop_after_from_env() -> int | None:
    """The `VIDRET_STOP_AFTER_BATCHES` test hook's value (None when unset).

    Raises:
        ValueError: the value is not a positive integer.
    """
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


class NoCache:
    """Stands in for `EmbeddingCache` when caching is off."""

    def missing(self, ids: Sequence[str]) -> list[str]:
        return list(ids)

    def get(self, item_id: str) -> None:
        return None

    def is_truncated(self, item_id: str) -> bool:
        return False

    def put(self, ids: list[str], embeddings: np.ndarray, truncated: Sequence[bool] | None = None) -> None:
        return None


@dataclass
class Progress:
    """Per-process counters: batches embedded (for the stop hook), cache hits and misses, the
    text ids the model truncated (every process's, after `embed_texts`) and decode failures."""

    stop_after: int | None
    batches: int = 0
    hits: int = 0
    misses: int = 0
    truncated: set[str] = field(default_factory=set)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def batch_done(self) -> None:
        self.batches += 1
        if self.stop_after is not None and self.batches >= self.stop_after:
            logger.warning("%s=%d: stopping after %d batches", STOP_AFTER_ENV, self.stop_after, self.batches)
            raise RunInterrupted(self.batches)


def tqdm_main(iterable: Any, info: ProcessInfo, **kwargs: Any) -> Any:
    """A tqdm bar shown on the main process only."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not info.is_main, dynamic_ncols=True, **kwargs)


def embed_texts(
    plan: TaskPlan,
    adapter: EmbeddingAdapter,
    cache: Any,
    info: ProcessInfo,
    batch_size: int,
    progress: Progress,
    todo: list[str],
) -> dict[str, np.ndarray]:
    """Embed this process's share of `todo` (the uncached texts) and gather every text's embedding.

    The ids of texts the model truncated (embedded now by any process, or flagged in the cache)
    are collected in ``progress.truncated`` on the main process.

    Args:
        plan: the plan (its `texts`).
        adapter: the model.
        cache: `EmbeddingCache` or `NoCache`; each batch is stored as soon as it is embedded.
        info: this process.
        batch_size: texts per `encode_text` call.
        progress: counters (cache hits/misses on the main process, batches for the stop hook).
        todo: the uncached text ids, identical on every process.

    Returns:
        On the main process, text id → embedding for every text; on the others, what was gathered.

    Raises:
        RunInterrupted: the stop hook fired.
    """
    ids = list(plan.texts)
    mine = shard(todo, info.rank, info.world_size)
    if info.is_main:
        progress.hits += len(ids) - len(todo)
        progress.misses += len(todo)
    out_ids: list[str] = []
    out_rows: list[np.ndarray] = []
    cut: list[str] = []
    batches = [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]
    for batch in tqdm_main(batches, info, desc="texts", unit="batch"):
        texts = [plan.texts[i] for i in batch]
        emb = adapter.encode_text(texts).numpy().astype(np.float32)
        flags = truncation_flags(adapter, texts)
        cache.put(batch, emb, flags)
        out_ids += batch
        out_rows.append(emb)
        cut += [i for i, flag in zip(batch, flags) if flag]
        progress.batch_done()
    merged, extras = _gather(ids, out_ids, out_rows, cut, cache, info)
    progress.truncated = {i for rank_cut in extras for i in rank_cut}
    if info.is_main:
        progress.truncated |= {i for i in ids if cache.is_truncated(i)}
    return merged


def truncation_flags(adapter: EmbeddingAdapter, texts: list[str]) -> list[bool]:
    """Which of `texts` the adapter truncates: its `truncated` answer, checked for shape.

    Raises:
        ValueError: the adapter answered with a different number of flags than texts.
    """
    flags = [bool(flag) for flag in adapter.truncated(texts)]
    if len(flags) != len(texts):
        raise ValueError(
            f"{type(adapter).__name__}.truncated returned {len(flags)} flags for {len(texts)} texts; "
            "it must answer one flag per text"
        )
    return flags


def _gather(
    all_ids: list[str], out_ids: list[str], out_rows: list[np.ndarray], extra: Any, cache: Any, info: ProcessInfo
) -> tuple[dict[str, np.ndarray], list[Any]]:
    """Gather every process's rows (and `extra`); on the main process fill the rest from the cache."""
    local = np.concatenate(out_rows) if out_rows else None
    merged, extras = gather_embeddings(out_ids, local, info, extra=extra)
    if info.is_main:
        for item_id in all_ids:
            if item_id not in merged:
                row = cache.get(item_id)
                if row is not None:
                    merged[item_id] = row
    return merged, extras


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
        from vidret.video import sample_segments

        group = self.groups[index]
        # One pass over the video; `errors="collect"` isolates a failing segment (decode errors
        # only: anything else is a bug and propagates).
        decoded = sample_segments(
            group[0].source,
            [(s.start, s.end) for s in group],  # (None, None) = the whole video
            num_frames=self.num_frames,
            size=self.size,
            mode=self.mode,
            errors="collect",
        )
        out: list[tuple[Segment, np.ndarray | None, str | None]] = []
        for seg, outcome in zip(group, decoded):
            if isinstance(outcome, Exception):
                out.append((seg, None, f"{type(outcome).__name__}: {outcome}"))
            else:
                out.append((seg, outcome, None))
        return out


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
    progress: Progress,
    todo_ids: list[str],
    *,
    batch_size: int,
    num_workers: int = 0,
    decode_mode: str = "exact",
    strict: bool = False,
) -> dict[str, np.ndarray]:
    """Decode and embed this process's share of `todo_ids` (uncached segments); gather all of them.

    Segments are grouped by video file (decoded together with `sample_segments`) and the groups
    sharded across processes. A segment that fails to decode is logged and recorded in
    ``progress.failures`` (gathered from every process).

    Args:
        plan: the plan (its `segments`).
        adapter: the model (`num_frames` and `frame_size` say how to decode).
        cache: `EmbeddingCache` or `NoCache`.
        info: this process.
        progress: counters and failures.
        todo_ids: the uncached segment ids, identical on every process.
        batch_size: clips per `encode_video` call.
        num_workers: DataLoader worker processes decoding ahead of the model.
        decode_mode: "exact" or "keyframe".
        strict: a decode failure raises instead of being counted.

    Returns:
        On the main process, segment id → embedding for every segment that could be embedded.

    Raises:
        EvaluationError: a segment failed to decode and `strict` is set.
        RunInterrupted: the stop hook fired.
    """
    import torch.utils.data

    ids = [s.item_id for s in plan.segments]
    todo = set(todo_ids)
    if info.is_main:
        progress.hits += len(ids) - len(todo)
        progress.misses += len(todo)
    groups = _group_segments([s for s in plan.segments if s.item_id in todo])
    mine = shard(groups, info.rank, info.world_size)
    decoder = SegmentDecoder(mine, adapter.num_frames, adapter.frame_size, decode_mode)
    loader = torch.utils.data.DataLoader(
        decoder, batch_size=None, shuffle=False, num_workers=num_workers, collate_fn=_identity
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
    with tqdm_main(None, info, total=total, desc="videos", unit="segment") as bar:
        for group in loader:
            for seg, frames, error in group:
                bar.update(1)
                if error is not None:
                    failure = {"item_id": seg.name, "kind": seg.kind, "source": seg.source, "reason": error}
                    logger.warning("could not decode %s %s (%s): %s", seg.kind, seg.name, seg.source, error)
                    if strict and info.world_size == 1:
                        raise EvaluationError(f"--strict: {seg.kind} {seg.name!r} ({seg.source}) failed to decode: {error}")
                    progress.failures.append(failure)
                    continue
                pending.append((seg.item_id, frames))
                if len(pending) >= batch_size:
                    flush()
        flush()
    merged, extras = _gather(ids, out_ids, out_rows, progress.failures, cache, info)
    failures = [f for rank_failures in extras for f in rank_failures]
    if strict and failures:
        f = failures[0]
        raise EvaluationError(f"--strict: {f['kind']} {f['item_id']!r} ({f['source']}) failed to decode: {f['reason']}")
    progress.failures = failures
    return merged


