"""The evaluation pipeline: dataset → tasks → embeddings (sharded, cached) → scores → results.

Every process derives the same `TaskPlan` and asks, per side of the run (texts, videos), a chain of
embedding sources (`vidret.evaluation.embeddings.sources`) for the embeddings of its units: the cache, then the
model (each process embeds its contiguous share, decoding in DataLoader workers while the model
runs, writing each batch to the cache), or stored embeddings (`--embeddings`: an export or released
files, no decoding at all). The main process holds every row by id, aggregates segments into
videos, fuses composed queries, ranks and scores with `vidret.scoring`, and writes the results.

Beside it: `settings` (`EvalSettings` and its checks), `sources_setup` (the model's chain and the
stored sources), `run_record` (what the record says about the model and settings) and
`distributed.check_same_plan`. Their public names stay importable from this module.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from vidret.evaluation.embeddings.model import (
    STOP_AFTER_ENV,
    EvaluationError,
    Progress,
    RunInterrupted,
    stop_after_from_env,
    tqdm_main,
)
from vidret.evaluation.embeddings.sources import check_same_dim, fetch, text_units, visual_units
from vidret.evaluation.planning.composed_units import composed_units
from vidret.evaluation.planning.dataset import load_plan
from vidret.evaluation.planning.tasks import parse_long_video
from vidret.evaluation.planning.video_check import check_videos_found
from vidret.evaluation.results.record import build_record, write_results
from vidret.evaluation.running.distributed import ProcessInfo, barrier, check_same_plan, init_processes
from vidret.evaluation.running.run_record import count_truncated, model_record, settings_record, stored_model_record
from vidret.evaluation.running.score import build_visuals, score_task
from vidret.evaluation.running.settings import EvalSettings, settings_from_dict
from vidret.evaluation.running.sources_setup import (
    cache_key,
    check_stored_metadata,
    make_adapter,
    model_part,
    model_source,
    stored_setting,
    stored_sources,
)
from vidret.testing.oracle import is_oracle

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter

logger = logging.getLogger(__name__)


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
        EvaluationError: a video failed to decode, or an embedding is missing, with ``strict``.
    """
    settings.check()
    if adapter is None and settings.model_sides() and not is_oracle(settings.model):
        from vidret.adapters.reachability import check_model_reachable

        # One Hub request before the dataset is read, not transformers' retries after it.
        check_model_reachable(settings.model, settings.model_revision, preset=settings.preset)
    start = time.perf_counter()
    info = info or init_processes()
    progress = Progress(stop_after=stop_after_from_env())
    plan, dataset = load_plan(
        settings.benchmark,
        settings.data,
        split=settings.split,
        revision=settings.revision,
        tasks=settings.tasks,
        long_video=settings.long_video,
        aggregate=settings.aggregate,
        limit=settings.limit,
        video_root=settings.video_root,
        allow_external=settings.allow_external_videos,
        protocol=settings.protocol,
    )
    check_same_plan(plan, info)
    if "videos" in settings.model_sides():  # before loading a model: annotations only, no --video-root?
        check_videos_found(plan, settings.video_root, timeout=settings.http_timeout)
    model = model_part(settings, plan, info, adapter)
    stored = stored_sources(settings)
    if info.is_main:
        check_stored_metadata(stored, plan, dataset)
    fusion = settings.fusion or (model.adapter.default_fusion if model else stored_setting(stored, "fusion") or "avg")
    from vidret.adapters.fusion import is_native

    if model is not None and "composed" not in stored.sources:
        model.adapter.check_fusion(fusion)  # "native" needs a model that composes queries itself
    # A native composed query is an embedding unit of its own (video + text, one forward pass).
    composed = composed_units(plan) if is_native(fusion) and plan.has_composed_queries else None
    sides = ("texts", "videos", "composed") if composed is not None else ("texts", "videos")
    if composed is not None and model is None and "composed" not in stored.sources:
        raise ValueError(
            "--fusion native: the composed queries are embedded by the model (video + text together); give --model, "
            "or --embeddings composed=SRC, or use a late fusion such as --fusion avg"
        )
    chains = {side: [stored.sources[side]] if side in stored.sources else model.chain for side in sides}
    if info.is_main:
        logger.info(
            "%s/%s: %d texts, %d video segments, tasks %s, %d process(es)",
            plan.benchmark.benchmark, plan.split, len(plan.texts), len(plan.segments),
            [t.task_id for t in plan.tasks], info.world_size,
        )
    timings = {"load_s": time.perf_counter() - start}
    mark = time.perf_counter()
    text_emb = fetch(text_units(plan), chains["texts"], info, progress, settings.strict)
    timings["texts_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    segment_emb = fetch(visual_units(plan, composed is not None), chains["videos"], info, progress, settings.strict)
    timings["videos_s"] = time.perf_counter() - mark
    composed_emb: dict = {}
    if composed is not None:
        mark = time.perf_counter()
        composed_emb = fetch(composed.units, chains["composed"], info, progress, settings.strict)
        timings["composed_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if not info.is_main:
        barrier(info)
        return None

    check_same_dim(
        {
            side: (rows, chains[side][-1].label)
            for side, rows in (("texts", text_emb), ("videos", segment_emb), ("composed", composed_emb))
            if side in chains
        }
    )
    failures = list(progress.failures)
    long_video = parse_long_video(settings.long_video, settings.aggregate)
    visuals = build_visuals(plan, segment_emb, long_video.aggregate, failures)
    pairs = composed.rows(composed_emb) if composed is not None else None
    tasks = {}
    for task in tqdm_main(plan.tasks, info, desc="scoring", unit="task"):
        tasks[task.task_id] = score_task(task, text_emb, visuals, fusion, composed=pairs)
        tasks[task.task_id]["num_truncated_texts"] = count_truncated(task, progress.truncated)
    timings["scoring_s"] = time.perf_counter() - mark
    cache = None
    if model is not None:
        namespace = model.cache.namespace if model.cache is not None else None
        cache = {"dir": settings.cache_dir, "namespace": namespace, "hits": progress.hits, "misses": progress.misses}
    record = build_record(
        benchmark=plan.benchmark.benchmark,
        config=plan.config,
        split=plan.split,
        dataset=dataset,
        model=model_record(settings, model.adapter, model.source) if model else stored_model_record(stored),
        settings=settings_record(settings, model.adapter if model else None, stored, plan, long_video, fusion),
        tasks=tasks,
        failures=failures,
        num_processes=info.world_size,
        wall_time_s=time.perf_counter() - start,
        cache=cache,
        timings=timings,
        embeddings={side: chain[-1].provenance() for side, chain in chains.items()},
    )
    if settings.output:
        write_results(record, settings.output)
        logger.info("results written to %s", settings.output)
    barrier(info)
    return record

__all__ = [
    "STOP_AFTER_ENV",
    "EvalSettings",
    "EvaluationError",
    "RunInterrupted",
    "cache_key",
    "check_same_plan",
    "evaluate",
    "make_adapter",
    "model_part",
    "model_source",
    "settings_from_dict",
    "stored_sources",
]
