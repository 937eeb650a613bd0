"""The model as an embedding source: texts, video segments and composed queries, sharded and cached.

`ModelSource` is the `EmbeddingSource` behind a model adapter. Each process embeds its contiguous
share of the units it is asked for (decoding video segments in DataLoader workers while the model
runs), writes every batch to the embedding cache (so a killed run resumes), and the (ids,
embeddings, failures) of all processes are gathered and merged by id on the main process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vidret.evaluation.embeddings.cache import InvalidEmbeddingError
from vidret.evaluation.running.distributed import ProcessInfo, gather_embeddings, shard
from vidret.evaluation.embeddings.sources import (
    STOP_AFTER_ENV,
    EmbeddingSource,
    EmbeddingUnit,
    EvaluationError,
    Progress,
    RunInterrupted,
)
from vidret.evaluation.planning.tasks import Segment
from vidret.evaluation.running.limits import BatchBudget, batch_memory_bytes
from vidret.evaluation.running.workers import SegmentDecoder, exit_with_parent
from vidret.video.segments import group_segments

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter

logger = logging.getLogger(__name__)

DECODE_MODES = ("exact", "keyframe")
# Re-exported: the runner and tests import the run-state names from here.
__all__ = ["STOP_AFTER_ENV", "EvaluationError", "ModelSource", "NoCache", "Progress", "RunInterrupted", "SegmentDecoder"]


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
    """Stands in for `EmbeddingCache` as `ModelSource`'s sink when caching is off."""

    def put(self, ids: list[str], embeddings: np.ndarray, truncated: Sequence[bool] | None = None) -> None:
        # Refuse what the cache refuses, so a NaN/zero row is named here, not later as a gallery row number.
        error = InvalidEmbeddingError.for_rows(ids, np.asarray(embeddings), "cosine similarity is undefined for them")
        if error is not None:
            raise error


def tqdm_main(iterable: Any, info: ProcessInfo, **kwargs: Any) -> Any:
    """A tqdm bar shown on the main process only."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not info.is_main, dynamic_ncols=True, **kwargs)


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


def _identity(batch: Any) -> Any:
    return batch


class ModelSource(EmbeddingSource):
    """A model adapter as an embedding source: embeds whatever it is asked for.

    Texts go through `encode_text` in batches; "video" and "segment" units are decoded by the
    grouped segment decoder (`vidret.video.segments`, the one `vidret.datasets.with_frames` uses:
    grouped by video file, one pass per group, in DataLoader workers) and go through `encode_video`;
    "composed" units are decoded likewise and go through ``encode_composed(..., fusion="native")``
    with their text (one forward pass over video and text, adapters with `native_fusion`).
    The units are sharded across processes; every batch is written to `sink` as soon as it is
    embedded; a segment that fails to decode is recorded in ``progress.failures`` (gathered from
    every process) and its units get no row.

    Args:
        adapter: the model.
        sink: where each batch is stored (`EmbeddingCache`); None = `NoCache` (rows only checked).
        batch_size: texts / clips per forward pass.
        num_workers: DataLoader worker processes decoding ahead of the model.
        decode_mode: "exact" or "keyframe".
        strict: a decode failure raises `EvaluationError` instead of being counted.
        label: how failures and messages name the model.
        provenance: what the results record says about this source.
        timeout: seconds allowed per remote video (None: `vidret.video`'s default).
        sampling: rate sampling instead of the adapter's `num_frames`: ``{"fps": R}`` or
            ``{"frame_stride": S}``, optionally with ``"max_frames": M`` (see `SegmentDecoder`).
        budget: the memory one batch of video frames may take (`vidret.evaluation.running.limits`):
            a batch is embedded early rather than pass it, and a clip that cannot fit alone is a
            counted failure; None = the default budget, counting decoded frames only.
    """

    def __init__(
        self,
        adapter: EmbeddingAdapter,
        sink: Any = None,
        *,
        batch_size: int,
        num_workers: int = 0,
        decode_mode: str = "exact",
        strict: bool = False,
        label: str = "model",
        provenance: dict[str, Any] | None = None,
        timeout: float | None = None,
        sampling: dict[str, Any] | None = None,
        budget: BatchBudget | None = None,
    ) -> None:
        self.adapter = adapter
        self.budget = budget or BatchBudget(batch_memory_bytes(None))
        self.sink = sink if sink is not None else NoCache()
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.decode_mode = decode_mode
        self.strict = strict
        self.label = label
        self._provenance = provenance or {"source": "model"}
        self.timeout = timeout
        self.sampling = dict(sampling or {})

    def provenance(self) -> dict[str, Any]:
        return dict(self._provenance)

    def missing(self, unit: EmbeddingUnit) -> None:
        return None  # every unit is embedded, or its decode failure was recorded when it happened

    def embeddings(self, units: Sequence[EmbeddingUnit], info: ProcessInfo, progress: Progress) -> dict[str, np.ndarray]:
        """Embed this process's share of `units` and gather every process's rows on the main process.

        Raises:
            EvaluationError: a segment failed to decode and `strict` is set.
            RunInterrupted: the stop hook fired.
        """
        if info.is_main:
            progress.misses += len(units)
        texts = [u for u in units if u.kind == "text"]
        visual = [u for u in units if u.kind != "text"]
        rows: dict[str, np.ndarray] = {}
        if texts:
            rows.update(self._texts(texts, info, progress))
        if visual:
            rows.update(self._visual(visual, info, progress))
        return rows

    def _texts(self, units: list[EmbeddingUnit], info: ProcessInfo, progress: Progress) -> dict[str, np.ndarray]:
        """Texts in batches; the keys of texts the model truncated reach ``progress.truncated`` on the main process."""
        mine = shard(units, info.rank, info.world_size)
        out_ids: list[str] = []
        out_rows: list[np.ndarray] = []
        cut: list[str] = []
        batches = [mine[i : i + self.batch_size] for i in range(0, len(mine), self.batch_size)]
        for batch in tqdm_main(batches, info, desc="texts", unit="batch"):
            keys = [u.key for u in batch]
            texts = [str(u.text) for u in batch]
            emb = self.adapter.encode_text(texts).numpy().astype(np.float32)
            flags = truncation_flags(self.adapter, texts)
            self.sink.put(keys, emb, flags)
            out_ids += keys
            out_rows.append(emb)
            cut += [key for key, flag in zip(keys, flags) if flag]
            progress.batch_done()
        merged, extras = gather_embeddings(out_ids, np.concatenate(out_rows) if out_rows else None, info, extra=cut)
        if info.is_main:
            progress.truncated |= {key for rank_cut in extras for key in rank_cut}
        return merged

    def _visual(self, units: list[EmbeddingUnit], info: ProcessInfo, progress: Progress) -> dict[str, np.ndarray]:
        """Decode each needed segment once (grouped by video file) and embed the units that use it."""
        import torch.utils.data

        users: dict[str, list[EmbeddingUnit]] = {}
        segments: list[Segment] = []
        for unit in units:
            assert unit.segment is not None, f"{unit.kind} unit {unit.name!r} has no video segment"
            if unit.segment.item_id not in users:
                users[unit.segment.item_id] = []
                segments.append(unit.segment)
            users[unit.segment.item_id].append(unit)
        # Grouped by video file, ordered by start: one pass per group, in a DataLoader worker; a full
        # video joined from its clips' frames (`Segment.parts`) is a group of its own.
        plain = [s for s in segments if not s.parts]
        mine = shard(group_segments(plain) + [[s] for s in segments if s.parts], info.rank, info.world_size)
        decoder = SegmentDecoder(
            mine, self.adapter.num_frames, self.adapter.frame_size, self.decode_mode, self.timeout, self.sampling, self.budget
        )
        loader = torch.utils.data.DataLoader(
            decoder,
            batch_size=None,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=_identity,
            worker_init_fn=exit_with_parent,  # a killed run must not leave its decode workers behind
        )
        out_ids: list[str] = []
        out_rows: list[np.ndarray] = []
        failures: list[dict[str, Any]] = []
        # Composed units (video + text in one pass) and plain videos are batched apart.
        pending: dict[bool, list[tuple[EmbeddingUnit, np.ndarray]]] = {False: [], True: []}
        pending_bytes = {False: 0, True: 0}  # what each pending batch's frames take (see `budget`)

        def flush(composed: bool) -> None:
            batch = pending[composed]
            if not batch:
                return
            keys = [u.key for u, _ in batch]
            clips = [frames for _, frames in batch]
            if composed:
                emb = self.adapter.encode_composed(clips, [str(u.text) for u, _ in batch], fusion="native")
            else:
                emb = self.adapter.encode_video(clips)
            rows = emb.numpy().astype(np.float32)
            self.sink.put(keys, rows)
            out_ids.extend(keys)
            out_rows.append(rows)
            batch.clear()
            pending_bytes[composed] = 0
            progress.batch_done()

        total = sum(len(g) for g in mine)
        with tqdm_main(None, info, total=total, desc="videos", unit="segment") as bar:
            for group in loader:
                for seg, frames, error in group:
                    bar.update(1)
                    if error is not None:
                        logger.warning("could not decode %s %s (%s): %s", seg.kind, seg.name, seg.source, error)
                        if self.strict and info.world_size == 1:
                            raise EvaluationError(f"--strict: {seg.kind} {seg.name!r} ({seg.source}) failed to decode: {error}")
                        failures.append({"item_id": seg.name, "kind": seg.kind, "source": seg.source, "reason": error})
                        continue
                    cost = self.budget.clip_bytes(frames)
                    for unit in users[seg.item_id]:
                        composed = unit.kind == "composed"
                        # (a joined full video, `Segment.parts`, is one forward pass of its own)
                        if pending_bytes[composed] + cost > self.budget.limit or seg.parts:
                            flush(composed)  # a smaller batch rather than frames past the budget
                        pending[composed].append((unit, frames))
                        pending_bytes[composed] += cost
                        if len(pending[composed]) >= self.batch_size or seg.parts:
                            flush(composed)
            flush(False)
            flush(True)
        merged, extras = gather_embeddings(
            out_ids, np.concatenate(out_rows) if out_rows else None, info, extra=failures
        )
        gathered = [f for rank_failures in extras for f in rank_failures]
        if self.strict and gathered:
            f = gathered[0]
            raise EvaluationError(f"--strict: {f['kind']} {f['item_id']!r} ({f['source']}) failed to decode: {f['reason']}")
        if info.is_main:
            progress.failures.extend(gathered)
        return merged
