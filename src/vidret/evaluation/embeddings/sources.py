"""One interface for every place embeddings come from: `EmbeddingSource`.

The runner turns a `TaskPlan` into `EmbeddingUnit`s (a text, a whole video, a video segment, or a
composed query) and asks a chain of sources for their embeddings; each source answers what it can
and the next one gets the rest. It never asks where a row came from. The implementations:

- `CacheSource` (here): the embedding cache of the model being run;
- `ModelSource` (`vidret.evaluation.embeddings.model`): a model adapter, sharded across processes,
  decoding videos in DataLoader workers and writing each batch to the cache;
- `StoredSource` (`vidret.evaluation.embeddings.stored`): exported embeddings (a folder or Hub dataset
  written by `vidret embeddings export`) and released files (TF-CoVR ``.pth``, ...).

A chain is e.g. ``[CacheSource, ModelSource]`` (resume from the cache, embed the rest) or
``[StoredSource]`` (score from files, decode nothing). Every process calls every source with the
same units (the main process's view of what is still missing); rows arrive on the main process.
Units no source answered become failures, described by the chain's last source.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vidret.evaluation.running.distributed import ProcessInfo, gather_objects

if TYPE_CHECKING:
    from vidret.evaluation.planning.tasks import Segment, TaskPlan

logger = logging.getLogger(__name__)

#: What an embedding stands for: a text; a whole video file (TF-CoVR); a span of a video (a LoVR
#: clip or window); a composed query (a video and a text embedded together, `--fusion native`).
KINDS = ("text", "video", "segment", "composed")
#: The sides of a run that `--embeddings <side>=SRC` can take from a source, and their kinds.
SIDES = {"texts": ("text",), "videos": ("video", "segment"), "composed": ("composed",)}


#: Test hook: stop the run (exit code 75) after this many embedding batches on a process, as if
#: it had been killed; the batches written so far stay in the cache.
STOP_AFTER_ENV = "VIDRET_STOP_AFTER_BATCHES"


class EvaluationError(RuntimeError):
    """The run cannot produce results (e.g. a video failed to decode under ``strict``)."""


class RunInterrupted(SystemExit):
    """Raised by the `VIDRET_STOP_AFTER_BATCHES` test hook (exit code 75)."""

    def __init__(self, batches: int) -> None:
        super().__init__(75)
        self.batches = batches


@dataclass(frozen=True)
class EmbeddingUnit:
    """One embedding the run needs.

    Attributes:
        kind: one of `KINDS`.
        key: the run's id for it: the cache id (a text's content hash, a segment's video
            reference and span), identical on every process.
        name: the id as the dataset names it (a clip id, a TF-CoVR video stem, a window
            ``<video_id>@<start>-<end>``, a text's content id); sources of stored embeddings are
            keyed by it.
        text: the text to embed ("text" and "composed").
        segment: the video span to decode ("video", "segment" and "composed").
    """

    kind: str
    key: str
    name: str
    text: str | None = None
    segment: Segment | None = None


def text_units(plan: TaskPlan) -> list[EmbeddingUnit]:
    """The plan's texts as units; a text's dataset name is its content id (``text:<sha1>``)."""
    return [EmbeddingUnit("text", key, key, text=text) for key, text in plan.texts.items()]


def visual_units(plan: TaskPlan, native_composed: bool = False) -> list[EmbeddingUnit]:
    """The plan's video spans as units: kind "video" for a whole file, "segment" for a span.

    With `native_composed` (``--fusion native``), a video that only composed queries use is left
    out: it is embedded with each of its texts (`vidret.evaluation.planning.composed_units`), not alone.
    """
    needed = {seg_id for visual in plan.visuals_embedded_alone(native_composed) for seg_id in plan.visuals[visual]}
    return [
        EmbeddingUnit("video" if seg.kind == "video" else "segment", seg.item_id, seg.name, segment=seg)
        for seg in plan.segments
        if seg.item_id in needed
    ]


def composed_name(video_name: str, text_name: str) -> str:
    """The dataset name of a composed query: its video's name and its text's content id."""
    return f"{video_name}|{text_name}"


def unit_failure(unit: EmbeddingUnit, source: str | None, reason: str) -> dict[str, Any]:
    """A failures entry of the results record for `unit` (named as the dataset names it)."""
    kind = unit.segment.kind if unit.segment is not None and unit.kind != "composed" else unit.kind
    return {"item_id": unit.name, "kind": kind, "source": source, "reason": reason}


@dataclass
class Progress:
    """Per-process counters the sources update: batches embedded (for the stop hook), cache hits
    and misses, the text keys the model truncated (on the main process) and the failures."""

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


class EmbeddingSource(abc.ABC):
    """Somewhere embeddings come from (see the module docstring).

    Attributes:
        label: how messages and failures name the source (a file, a repo, "model <id>", ...).
    """

    label: str = "source"

    @abc.abstractmethod
    def embeddings(self, units: Sequence[EmbeddingUnit], info: ProcessInfo, progress: Progress) -> dict[str, np.ndarray]:
        """The embeddings of those of `units` this source has or makes.

        Every process calls this with the same `units`; a source may work on the main process
        only, or shard the work and gather it.

        Args:
            units: the units still missing, identical on every process.
            info: this process.
            progress: counters and failures to update.

        Returns:
            On the main process, unit key → float32 (D,) row for the units answered; on the other
            processes anything (it is ignored).
        """

    def missing(self, unit: EmbeddingUnit) -> dict[str, Any] | None:
        """The failure entry for a unit no source answered, when this source was the chain's last.

        Returns:
            A failures entry, or None when this source already recorded the unit as failed
            (a model records each decode failure itself).
        """
        return unit_failure(unit, self.label, f"no embedding for {unit.kind} {unit.name!r} in {self.label}")

    def provenance(self) -> dict[str, Any]:
        """Where this source's embeddings came from, for the results record."""
        return {"source": self.label}


class CacheSource(EmbeddingSource):
    """The embedding cache: rows embedded by an earlier (or interrupted) run of the same model.

    Only the main process reads the cache (the others hold a write-only handle).

    Args:
        cache: an `EmbeddingCache` (opened with ``read=True`` on the main process).
    """

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.label = f"embedding cache {cache.namespace}"

    def embeddings(self, units: Sequence[EmbeddingUnit], info: ProcessInfo, progress: Progress) -> dict[str, np.ndarray]:
        if not info.is_main:
            return {}
        found: dict[str, np.ndarray] = {}
        for unit in units:
            row = self.cache.get(unit.key)
            if row is not None:
                found[unit.key] = row
                if self.cache.is_truncated(unit.key):
                    progress.truncated.add(unit.key)
        progress.hits += len(found)
        return found

    def provenance(self) -> dict[str, Any]:
        return {"source": "cache", "namespace": self.cache.namespace}


def fetch(
    units: Sequence[EmbeddingUnit], chain: Sequence[EmbeddingSource], info: ProcessInfo, progress: Progress, strict: bool = False
) -> dict[str, np.ndarray]:
    """Ask `chain` for the embeddings of `units`: each source gets what the earlier ones lacked.

    Args:
        units: what the run needs, identical on every process.
        chain: the sources, in the order they are asked.
        info: this process.
        progress: counters; failures for units no source answered are appended on the main process.
        strict: a unit no source answered stops the run.

    Returns:
        On the main process, unit key → embedding for every answered unit; on the others, {}.

    Raises:
        EvaluationError: with `strict`, naming the first unit no source answered.
        ValueError: the chain is empty.
    """
    if not chain:
        raise ValueError("no embedding source to ask")
    found: dict[str, np.ndarray] = {}
    remaining = list(units)
    for source in chain:
        if not remaining:
            break
        rows = source.embeddings(remaining, info, progress)
        if info.is_main:
            found.update({unit.key: rows[unit.key] for unit in remaining if unit.key in rows})
        # Every process must ask the next source for the same units: take the main process's view.
        left = gather_objects([u.key for u in remaining if u.key not in found] if info.is_main else None, info)[0]
        keep = set(left)
        remaining = [u for u in remaining if u.key in keep]
    if info.is_main and remaining:
        for unit in remaining:
            failure = chain[-1].missing(unit)
            if failure is None:
                continue
            if strict:
                raise EvaluationError(f"--strict: {failure['reason']}")
            progress.failures.append(failure)
        logger.warning("%d of %d %s embeddings missing", len(remaining), len(units), "/".join(sorted({u.kind for u in units})))
    return found if info.is_main else {}


def check_same_dim(sides: dict[str, tuple[dict[str, np.ndarray], str]]) -> int | None:
    """Raise unless every side's embeddings have one dimension (they are compared and fused).

    Args:
        sides: side name → (key → row, label of the side's source).

    Returns:
        The common dimension (None when there are no rows).

    Raises:
        ValueError: naming both sides, their sources and dimensions.
    """
    seen: tuple[str, str, int] | None = None
    for side, (rows, label) in sides.items():
        if not rows:
            continue
        dim = int(next(iter(rows.values())).shape[-1])
        if seen is None:
            seen = (side, label, dim)
        elif dim != seen[2]:
            raise ValueError(
                f"{seen[0]} embeddings from {seen[1]} are {seen[2]}-d but {side} embeddings from {label} are "
                f"{dim}-d: they cannot be compared or fused (take both sides from sources of one model)"
            )
    return None if seen is None else seen[2]
