"""The embedding sources of a run: the model's chain (cache, then model) and stored embeddings.

`model_part` loads the model (or the oracle, `make_adapter`), asks once which exact model it is
(`model_source`), keys the cache with it (`cache_key`) and builds the chain the model's sides ask;
`stored_sources` opens `--embeddings`, whose recorded metadata `check_stored_metadata` checks
against the plan and `stored_setting` reads.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidret.evaluation.embeddings.cache import EmbeddingCache
from vidret.evaluation.embeddings.model import ModelSource
from vidret.evaluation.embeddings.sources import CacheSource, EmbeddingSource
from vidret.evaluation.embeddings.stored import StoredSources, detect_format
from vidret.evaluation.planning.tasks import TaskPlan
from vidret.evaluation.results.provenance import folder_fingerprint, hub_commit
from vidret.evaluation.running.distributed import ProcessInfo, gather_objects
from vidret.evaluation.running.limits import batch_budget
from vidret.evaluation.running.settings import EvalSettings
from vidret.terminal import printable
from vidret.testing.oracle import build_oracle, is_oracle

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter

logger = logging.getLogger(__name__)


# ---- model ----------------------------------------------------------------------------------------
def make_adapter(settings: EvalSettings, plan: TaskPlan, info: ProcessInfo) -> EmbeddingAdapter:
    """The oracle for "oracle"/"oracle-shuffled", else `vidret.adapters.load_adapter`."""
    if is_oracle(settings.model):
        return build_oracle(plan, settings.model, num_frames=settings.frames, timeout=settings.http_timeout)
    from vidret.adapters import load_adapter

    return load_adapter(
        settings.model,
        revision=settings.model_revision,
        preset=settings.preset,
        frames=settings.frames,
        device=settings.device or info.device,
        batch_size=settings.batch_size,
        trust_remote_code=settings.trust_remote_code,
        **settings.model_overrides(),
    )


def model_source(settings: EvalSettings, adapter: EmbeddingAdapter) -> dict[str, str | None]:
    """Which exact model was loaded.

    Returns:
        {"revision": the one asked for (or the preset's pin), else the Hub commit;
        "commit": the Hub commit that revision resolves to (None for a local folder, the oracle,
        or when the Hub can't be asked); "fingerprint": a local folder's `folder_fingerprint`}.
    """
    oracle = is_oracle(settings.model)
    revision = getattr(adapter, "revision", None) or settings.model_revision
    fingerprint = None if oracle else folder_fingerprint(settings.model)
    commit = None if oracle or fingerprint else hub_commit(settings.model, revision, "model")
    return {"revision": revision or commit, "commit": commit, "fingerprint": fingerprint}


def cache_key(
    settings: EvalSettings, adapter: EmbeddingAdapter, plan: TaskPlan, source: dict[str, str | None]
) -> dict[str, Any]:
    """What makes two runs' unit embeddings interchangeable (fusion/aggregation are applied later).

    `source` is `model_source`'s answer: a Hub branch that moved to a new commit, or a local model
    folder rebuilt in place, gets a new namespace instead of stale embeddings.
    """
    described = dict(adapter.describe())
    for later in ("fusion", "segment_aggregation"):
        described.pop(later, None)
    key: dict[str, Any] = {
        "model": settings.model,
        "model_revision": settings.model_revision,
        "model_commit": source["commit"],
        "model_fingerprint": source["fingerprint"],
        "preset": getattr(adapter, "preset", None) or settings.preset,
        "adapter": described,
        "decode_mode": settings.decode_mode,
    }
    if settings.frame_sampling():  # absent for uniform frames: existing namespaces stay valid
        key["frame_sampling"] = settings.frame_sampling()
    if is_oracle(settings.model):
        # The oracle's space depends on the split's id table.
        key["oracle_table"] = hashlib.sha256(repr(sorted(plan.visuals)).encode()).hexdigest()[:16]
    return key


# ---- the model's chain ------------------------------------------------------------------------------
@dataclass
class ModelPart:
    """The model side of a run: the adapter, which exact model it is, its cache and its source chain.

    Attributes:
        adapter: the loaded model.
        source: `model_source`'s answer (the main process's, shared with every process).
        cache: the embedding cache, or None (``--no-cache``).
        chain: the sources the model's sides ask: the cache (if any), then the model.
    """

    adapter: EmbeddingAdapter
    source: dict[str, str | None]
    cache: EmbeddingCache | None
    chain: list[EmbeddingSource]


def model_part(
    settings: EvalSettings, plan: TaskPlan, info: ProcessInfo, adapter: EmbeddingAdapter | None = None
) -> ModelPart | None:
    """Load the model (unless given) with its cache and source chain; None when no side needs a model."""
    if not settings.model_sides():
        return None
    if adapter is None:
        adapter = make_adapter(settings, plan, info)
    # The main process asks the Hub once; every process keys the cache with its answer.
    source = gather_objects(model_source(settings, adapter) if info.is_main else None, info)[0]
    cache = None
    if settings.cache_dir:
        # Only the main process looks embeddings up; the others just write their batches.
        cache = EmbeddingCache(settings.cache_dir, cache_key(settings, adapter, plan, source), read=info.is_main)
    model = ModelSource(
        adapter,
        cache,
        batch_size=settings.batch_size,
        num_workers=settings.num_workers,
        decode_mode=settings.decode_mode,
        strict=settings.strict,
        timeout=settings.http_timeout,
        sampling=settings.frame_sampling(),
        label=f"model {settings.model}",
        # Refuses here, before any decoding, a batch whose model input cannot fit the budget.
        budget=batch_budget(adapter, settings.batch_size, settings.batch_memory, settings.frame_sampling()),
        provenance={"source": "model", "model": settings.model, "cache_namespace": cache.namespace if cache is not None else None},
    )
    # (not `if cache`: an empty cache has len 0)
    return ModelPart(adapter, source, cache, ([CacheSource(cache)] if cache is not None else []) + [model])


# ---- stored embeddings -------------------------------------------------------------------------------
def stored_sources(settings: EvalSettings) -> StoredSources:
    """The run's `--embeddings` sources; a pickle stream's conversion is kept under the cache folder
    (with ``--no-cache``: in a temporary folder removed when the process exits)."""
    specs = settings.stored_sides()
    convert_dir = Path(settings.cache_dir).expanduser() / "converted" if settings.cache_dir else None
    if convert_dir is None and any(getattr(detect_format(src, settings.allow_pickle), "needs_pickle", False) for src in specs.values()):
        import atexit
        import shutil
        import tempfile

        convert_dir = Path(tempfile.mkdtemp(prefix="vidret-converted-"))
        atexit.register(shutil.rmtree, convert_dir, ignore_errors=True)
        logger.warning("no cache folder: the pickle stream is converted again on every run (give --cache-dir to keep it)")
    return StoredSources(specs, allow_pickle=settings.allow_pickle, convert_dir=convert_dir, pool=settings.embeddings_pool)


def check_stored_metadata(stored: StoredSources, plan: TaskPlan, dataset: dict[str, Any]) -> None:
    """An export made for another benchmark is refused; one of another dataset revision is flagged."""
    for side, source in stored.sources.items():
        meta = stored.metadata(side)
        if not meta:
            continue
        if meta.get("benchmark") != plan.benchmark.benchmark:
            raise ValueError(f"--embeddings {source.src}: embeddings of {meta.get('benchmark')!r}, not {plan.benchmark.benchmark!r}")
        made_for = (meta.get("dataset") or {}).get("revision")
        if made_for and dataset.get("revision") and made_for != dataset["revision"]:
            logger.warning(
                "--embeddings %s was exported from dataset revision %s; scoring revision %s", source.src, printable(made_for), dataset["revision"]
            )


def stored_setting(stored: StoredSources, name: str, side: str = "videos") -> Any:
    """A setting recorded by the export `side` is read from (None for released files)."""
    meta = stored.metadata(side)
    return ((meta or {}).get("settings") or {}).get(name)
