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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidret.benchmarks import LOVR, TF_COVR, get_benchmark
from vidret.evaluation.cache import EmbeddingCache
from vidret.evaluation.dataset import is_local, load_plan
from vidret.evaluation.distributed import ProcessInfo, barrier, gather_objects, init_processes
from vidret.evaluation.embedding import (
    DECODE_MODES,
    STOP_AFTER_ENV,
    EvaluationError,
    NoCache,
    Progress,
    RunInterrupted,
    embed_segments,
    embed_texts,
    stop_after_from_env,
    tqdm_main,
)
from vidret.evaluation.oracle import build_oracle, is_oracle
from vidret.evaluation.provenance import folder_fingerprint, hub_commit
from vidret.evaluation.results import build_record, write_results
from vidret.evaluation.score import build_visuals, score_task
from vidret.evaluation.tasks import LongVideo, Task, TaskPlan, parse_long_video, resolve_task_ids

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter

logger = logging.getLogger(__name__)


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
        resolution: square model input in pixels; None = the preset's / checkpoint's.
        pooling: "mean" or "max" over a clip's frames (frame-pooling models); None = the preset's.
        text_max_length: tokens kept per text (<= the model's maximum); None = the preset's.
        dtype: "fp32", "bf16" or "fp16"; None = bf16 on CUDA, fp32 elsewhere.
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
    resolution: int | None = None
    pooling: str | None = None
    text_max_length: int | None = None
    dtype: str | None = None

    def check(self) -> None:
        """Validate the settings before any work starts.

        Raises:
            ValueError: naming the bad argument and what is accepted.
        """
        get_benchmark(self.benchmark)
        if not self.data:
            raise ValueError("--data is required: a built dataset folder or a Hub dataset repo id")
        if not is_local(self.data) and (self.data.startswith((".", "/", "~")) or self.data.count("/") > 1):
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
        self._check_model_overrides()

    def _check_model_overrides(self) -> None:
        """The settings passed on to `load_adapter` (its own checks need the loaded model)."""
        from vidret.adapters.frame_pooling import POOLING_CHOICES
        from vidret.adapters.transformers_base import dtype_name

        if self.resolution is not None and int(self.resolution) < 1:
            raise ValueError(f"--resolution must be a positive number of pixels (square model input), got {self.resolution}")
        if self.pooling is not None and self.pooling not in POOLING_CHOICES:
            raise ValueError(f"--pooling must be one of {'|'.join(POOLING_CHOICES)}, got {self.pooling!r}")
        if self.text_max_length is not None and int(self.text_max_length) < 2:
            raise ValueError(f"--text-max-length must be >= 2 (room for the special tokens), got {self.text_max_length}")
        if self.dtype is not None:
            dtype_name(self.dtype)  # its error names --dtype and the choices
        given = [flag for flag, value in self.model_overrides().items() if value is not None]
        if given and is_oracle(self.model):
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ValueError(f"{flags}: the oracle has no model to configure; drop them or evaluate a real --model")

    def model_overrides(self) -> dict[str, Any]:
        """The `load_adapter` overrides of the preset: resolution, pooling, text_max_length, dtype."""
        return {
            "resolution": self.resolution,
            "pooling": self.pooling,
            "text_max_length": self.text_max_length,
            "dtype": self.dtype,
        }


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
    if is_oracle(settings.model):
        # The oracle's space depends on the split's id table.
        key["oracle_table"] = hashlib.sha256(repr(sorted(plan.visuals)).encode()).hexdigest()[:16]
    return key


# ---- the pipeline ---------------------------------------------------------------------------------
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
    )
    if adapter is None:
        adapter = make_adapter(settings, plan, info)
    # The main process asks the Hub once; every process keys the cache with its answer.
    source = gather_objects(model_source(settings, adapter) if info.is_main else None, info)[0]
    cache: Any = NoCache()
    namespace = None
    if settings.cache_dir:
        # Only the main process looks embeddings up; the others just write their batches.
        cache = EmbeddingCache(settings.cache_dir, cache_key(settings, adapter, plan, source), read=info.is_main)
        namespace = cache.namespace
    if info.is_main:
        logger.info(
            "%s/%s: %d texts, %d video segments, tasks %s, %d process(es)",
            plan.benchmark.benchmark, plan.split, len(plan.texts), len(plan.segments),
            [t.task_id for t in plan.tasks], info.world_size,
        )
    # Every process must shard the same work lists, but each sees the cache at its own moment
    # (another rank may already be writing): take the main process's view.
    todo = (cache.missing(list(plan.texts)), cache.missing([s.item_id for s in plan.segments]))
    text_todo, segment_todo = gather_objects(todo if info.is_main else None, info)[0]
    timings = {"load_s": time.perf_counter() - start}
    mark = time.perf_counter()
    text_emb = embed_texts(plan, adapter, cache, info, settings.batch_size, progress, text_todo)
    timings["texts_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    segment_emb = embed_segments(
        plan,
        adapter,
        cache,
        info,
        progress,
        segment_todo,
        batch_size=settings.batch_size,
        num_workers=settings.num_workers,
        decode_mode=settings.decode_mode,
        strict=settings.strict,
    )
    timings["videos_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if not info.is_main:
        barrier(info)
        return None

    failures = list(progress.failures)
    long_video = parse_long_video(settings.long_video, settings.aggregate)
    visuals = build_visuals(plan, segment_emb, long_video.aggregate, failures)
    fusion = settings.fusion or adapter.default_fusion
    tasks = {}
    for task in tqdm_main(plan.tasks, info, desc="scoring", unit="task"):
        tasks[task.task_id] = score_task(task, text_emb, visuals, fusion)
        tasks[task.task_id]["num_truncated_texts"] = count_truncated(task, progress.truncated)
    timings["scoring_s"] = time.perf_counter() - mark
    record = build_record(
        benchmark=plan.benchmark.benchmark,
        config=plan.config,
        split=plan.split,
        dataset=dataset,
        model=_model_record(settings, adapter, source),
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


def count_truncated(task: Task, truncated: set[str]) -> int:
    """How many distinct texts of `task` (queries or gallery) the model truncated."""
    return len({ref.text for ref in task.queries + task.gallery if ref.text is not None} & truncated)


def _model_record(settings: EvalSettings, adapter: EmbeddingAdapter, source: dict[str, str | None]) -> dict[str, Any]:
    oracle = is_oracle(settings.model)
    return {
        "id": settings.model,
        **source,
        "adapter": "oracle" if oracle else (getattr(adapter, "preset", None) or settings.preset or type(adapter).__name__),
        "adapter_class": type(adapter).__name__,
        "random_weights": bool(settings.random_weights or getattr(adapter, "random_weights", False)),
        "trust_remote_code": bool(settings.trust_remote_code),
    }


def _settings_record(
    settings: EvalSettings, adapter: EmbeddingAdapter, plan: TaskPlan, long_video: LongVideo, fusion: str
) -> dict[str, Any]:
    described = adapter.describe()
    decode_size = list(adapter.frame_size) if adapter.frame_size else None
    dtype = getattr(adapter, "dtype", None)
    needs_videos = any(t.spec.config == "videos" for t in plan.tasks)
    return {
        "frames": int(adapter.num_frames),
        # The model's input size (a CLIP crop is 224x224 though frames are decoded at full size);
        # adapters without a "resolution" of their own are fed frames at their decode size.
        "resolution": described.get("resolution", decode_size),
        "decode_size": decode_size,
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
        "adapter": described,  # the adapter's own account: preprocessing, padding, dtype, ...
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
    "STOP_AFTER_ENV",
    "EvalSettings",
    "EvaluationError",
    "RunInterrupted",
    "evaluate",
    "make_adapter",
    "settings_from_dict",
]
