"""The evaluation pipeline: dataset → tasks → embeddings (sharded, cached) → scores → results.

Every process derives the same `TaskPlan` and asks, per side of the run (texts, videos), a chain of
embedding sources (`vidret.evaluation.embeddings.sources`) for the embeddings of its units: the cache, then the
model (each process embeds its contiguous share, decoding in DataLoader workers while the model
runs, writing each batch to the cache), or stored embeddings (`--embeddings`: an export or released
files, no decoding at all). The main process holds every row by id, aggregates segments into
videos, fuses composed queries, ranks and scores with `vidret.scoring`, and writes the results.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidret.benchmarks import VIDRET_PROTOCOL, get_benchmark
from vidret.evaluation.embeddings.cache import EmbeddingCache
from vidret.evaluation.planning.composed_units import composed_units
from vidret.evaluation.planning.data_location import check_data_path
from vidret.evaluation.planning.dataset import load_plan
from vidret.evaluation.running.distributed import ProcessInfo, barrier, gather_objects, init_processes
from vidret.evaluation.embeddings.model import (
    DECODE_MODES,
    STOP_AFTER_ENV,
    EvaluationError,
    ModelSource,
    Progress,
    RunInterrupted,
    stop_after_from_env,
    tqdm_main,
)
from vidret.testing.oracle import build_oracle, is_oracle
from vidret.evaluation.results.provenance import folder_fingerprint, hub_commit
from vidret.evaluation.results.record import build_record, write_results
from vidret.evaluation.running.score import build_visuals, score_task
from vidret.evaluation.embeddings.sources import CacheSource, EmbeddingSource, check_same_dim, fetch, text_units, visual_units
from vidret.evaluation.embeddings.stored import POOL_CHOICES, StoredSources, detect_format, parse_embedding_specs
from vidret.evaluation.planning.tasks import LongVideo, Task, TaskPlan, parse_long_video, resolve_task_ids
from vidret.evaluation.planning.video_check import check_videos_found
from vidret.video.source import TIMEOUT_ENV, check_timeout

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter

logger = logging.getLogger(__name__)


@dataclass
class EvalSettings:
    """Everything `vidret evaluate` accepts.

    Attributes:
        benchmark: "lovr" or "tf-covr".
        data: built dataset repo: a local folder or a Hub dataset id.
        model: Hub id or local folder of the model, or "oracle" / "oracle-shuffled"; None when
            `embeddings` gives every side.
        revision: dataset revision (Hub tag/commit); recorded.
        split: dataset split.
        model_revision: model revision; recorded.
        tasks: task ids (comma-separated or list); None = the benchmark's default tasks.
        frames: frames per clip, uniformly spaced; None = the adapter preset's.
        fps: instead of `frames`: sample R frames per second of video (as the official LoVR scripts
            read every n-th frame); frame-count models resample the clip to their frame count.
        max_frames: with `fps` / `frame_stride`: at most M frames per clip (evenly thinned).
        frame_stride: instead of `frames`: every S-th frame of the clip.
        batch_size: clips / texts per forward pass.
        fusion: composed-query fusion (TF-CoVR): a late fusion, or "native" for models that embed the
            query video and the text together (MLLM embedders); None = the adapter's default.
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
        embeddings: stored embeddings to score instead of embedding: ``SRC`` (every side) or
            ``<side>=SRC`` values, side one of texts / videos / composed (see
            `vidret.evaluation.embeddings.stored` for the formats and how ids match). The sides not given
            are embedded by `model`.
        allow_pickle: let `embeddings` read a pickle stream (it runs code; converted once into
            a .safetensors file kept under `cache_dir`).
        embeddings_pool: "mean" to average stored per-frame / per-token tensors into one vector;
            None = such rows are an error.
        allow_external_videos: read videos the dataset names outside its repo / `video_root`
            (other URLs, absolute paths); off by default (`vidret.video.containment`).
        http_timeout: seconds allowed per remote video (connect, each read, and in total);
            None = `vidret.video.source.DEFAULT_TIMEOUT_S`. Recorded.
        protocol: "vidret" (ours, the default) or "official" (what the paper's code computes);
            see `vidret.benchmarks`. Recorded as ``settings.protocol``.
    """

    benchmark: str
    data: str
    model: str | None = None
    revision: str | None = None
    split: str = "test"
    model_revision: str | None = None
    tasks: str | list[str] | None = None
    frames: int | None = None
    fps: float | None = None
    max_frames: int | None = None
    frame_stride: int | None = None
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
    embeddings: str | list[str] | None = None
    allow_pickle: bool = False
    embeddings_pool: str | None = None
    allow_external_videos: bool = False
    http_timeout: float | None = None
    protocol: str = VIDRET_PROTOCOL

    def stored_sides(self) -> dict[str, str]:
        """Side → SRC of `embeddings` (see `vidret.evaluation.embeddings.stored.parse_embedding_specs`)."""
        return parse_embedding_specs(self.embeddings)

    def model_sides(self) -> list[str]:
        """The sides the model embeds: texts and videos not taken from `embeddings`."""
        stored = self.stored_sides()
        return [side for side in ("texts", "videos") if side not in stored]

    def check(self) -> None:
        """Validate the settings before any work starts.

        Raises:
            ValueError: naming the bad argument and what is accepted.
        """
        get_benchmark(self.benchmark).protocol(self.protocol)  # names the known protocols
        if not self.data:
            raise ValueError("--data is required: a built dataset folder or a Hub dataset repo id")
        check_data_path(self.data)  # a path that does not exist fails here, before any Hub request
        stored = self.stored_sides()
        for src in dict.fromkeys(stored.values()):
            detect_format(src, self.allow_pickle)  # names the path, and refuses a pickle without --allow-pickle
        if self.embeddings_pool is not None and self.embeddings_pool not in POOL_CHOICES:
            raise ValueError(f"--embeddings-pool must be one of {'|'.join(POOL_CHOICES)}, got {self.embeddings_pool!r}")
        if self.model_sides() and not self.model:
            missing = " and ".join(self.model_sides())
            raise ValueError(
                "--model is required: a Hub model id, a local model folder, or 'oracle'"
                + (f" (to embed the {missing}; --embeddings gives only {', '.join(stored)})" if stored else "")
            )
        if self.model and not self.model_sides():
            raise ValueError(
                f"--model {self.model}: --embeddings gives every side, so the model would embed nothing; drop --model, "
                "or take one side from it (e.g. --embeddings videos=SRC --model ID)"
            )
        if self.frames is not None and int(self.frames) < 1:
            raise ValueError(f"--frames must be >= 1, got {self.frames}")
        self._check_sampling()
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
        try:
            check_timeout(self.http_timeout)
        except ValueError as err:
            raise ValueError(f"http_timeout ({TIMEOUT_ENV}): {err}") from None
        self._check_model_overrides()

    def _check_sampling(self) -> None:
        """--frames, --fps and --frame-stride are three ways to pick frames: at most one."""
        given = {"--frames": self.frames, "--fps": self.fps, "--frame-stride": self.frame_stride}
        chosen = [f"{flag} {value}" for flag, value in given.items() if value is not None]
        if len(chosen) > 1:
            raise ValueError(
                f"{' and '.join(chosen)}: pass exactly one of --frames N (N uniform frames per clip), --fps R "
                "(R frames per second) and --frame-stride S (every S-th frame)"
            )
        if self.fps is not None and not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"--fps must be a positive number of frames per second, got {self.fps}")
        if self.frame_stride is not None and int(self.frame_stride) < 1:
            raise ValueError(f"--frame-stride must be >= 1, got {self.frame_stride}")
        if self.max_frames is not None:
            if int(self.max_frames) < 1:
                raise ValueError(f"--max-frames must be >= 1, got {self.max_frames}")
            if self.fps is None and self.frame_stride is None:
                raise ValueError("--max-frames caps --fps or --frame-stride sampling; with --frames N, N is the count")

    def frame_sampling(self) -> dict[str, Any]:
        """The rate-sampling arguments of `vidret.video.sample_segments` ({} = uniform `frames`)."""
        given = {"fps": self.fps, "frame_stride": self.frame_stride}
        out: dict[str, Any] = {k: (float(v) if k == "fps" else int(v)) for k, v in given.items() if v is not None}
        if out and self.max_frames is not None:
            out["max_frames"] = int(self.max_frames)
        return out

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
        if given and (not self.model or is_oracle(self.model)):
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            if not self.model:
                raise ValueError(f"{flags}: no model is loaded (--embeddings gives every side); drop them")
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


# ---- embedding sources -------------------------------------------------------------------------------
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
        provenance={"source": "model", "model": settings.model, "cache_namespace": cache.namespace if cache is not None else None},
    )
    # (not `if cache`: an empty cache has len 0)
    return ModelPart(adapter, source, cache, ([CacheSource(cache)] if cache is not None else []) + [model])


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


def _check_stored_metadata(stored: StoredSources, plan: TaskPlan, dataset: dict[str, Any]) -> None:
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
                "--embeddings %s was exported from dataset revision %s; scoring revision %s", source.src, made_for, dataset["revision"]
            )


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
        EvaluationError: a video failed to decode, or an embedding is missing, with ``strict``.
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
        allow_external=settings.allow_external_videos,
        protocol=settings.protocol,
    )
    if "videos" in settings.model_sides():  # before loading a model: annotations only, no --video-root?
        check_videos_found(plan, settings.video_root, timeout=settings.http_timeout)
    model = model_part(settings, plan, info, adapter)
    stored = stored_sources(settings)
    if info.is_main:
        _check_stored_metadata(stored, plan, dataset)
    fusion = settings.fusion or (model.adapter.default_fusion if model else _stored_setting(stored, "fusion") or "avg")
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
        model=_model_record(settings, model.adapter, model.source) if model else _stored_model_record(stored),
        settings=_settings_record(settings, model.adapter if model else None, stored, plan, long_video, fusion),
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


def _stored_setting(stored: StoredSources, name: str, side: str = "videos") -> Any:
    """A setting recorded by the export `side` is read from (None for released files)."""
    meta = stored.metadata(side) if side in stored.sources else None
    return ((meta or {}).get("settings") or {}).get(name)


def _stored_model_record(stored: StoredSources) -> dict[str, Any]:
    """The model of a run that loaded none: the one an export records, else a label of the files."""
    for side in ("videos", "texts"):
        meta = stored.metadata(side) if side in stored.sources else None
        if meta and meta.get("model"):
            return dict(meta["model"])
    src = stored.specs.get("videos") or next(iter(stored.specs.values()))
    return {"id": f"embeddings:{Path(src).name or src}", "revision": None, "adapter": "embeddings", "adapter_class": "StoredSource"}


# Settings that describe how the video embeddings were made (frames, input size, decoding).
VIDEO_SIDE_SETTINGS = (
    "frames", "fps", "max_frames", "frame_stride", "resolution", "decode_size", "pooling", "dtype", "decode_mode", "adapter",
)


def _settings_record(
    settings: EvalSettings,
    adapter: EmbeddingAdapter | None,
    stored: StoredSources,
    plan: TaskPlan,
    long_video: LongVideo,
    fusion: str,
) -> dict[str, Any]:
    """Every setting of the run: the video side's from the model, an export's record, or (released
    files) only what the user declared (``--frames``); the text side's maximum length likewise."""
    model_record = _model_settings(settings, adapter) if adapter is not None else {}
    if "videos" not in stored.sources:
        out = {k: model_record[k] for k in VIDEO_SIDE_SETTINGS}
    elif stored.metadata("videos"):
        recorded = stored.metadata("videos").get("settings") or {}
        out = {k: recorded[k] for k in VIDEO_SIDE_SETTINGS if k in recorded}
    else:  # released files say nothing about how they were made
        out = {"frames": settings.frames, "resolution": None}
    if "texts" not in stored.sources:
        out["text_max_length"] = model_record.get("text_max_length")
    else:
        out["text_max_length"] = _stored_setting(stored, "text_max_length", "texts")
    return {
        "protocol": settings.protocol,
        **out,
        "fusion": fusion if plan.has_composed_queries else None,
        "long_video": long_video.as_dict() if plan.ranks_full_videos else None,
        "batch_size": int(settings.batch_size),
        "limit": settings.limit,
        "num_workers": int(settings.num_workers),
        "strict": bool(settings.strict),
        "allow_external_videos": bool(settings.allow_external_videos),
        "http_timeout_s": _recorded_timeout(settings.http_timeout),
    }


def _recorded_timeout(timeout: float | None) -> float | None:
    """The remote time limit that applied, in seconds (None: no limit; JSON has no infinity)."""
    limit = check_timeout(timeout)
    return limit if math.isfinite(limit) else None


def _model_settings(settings: EvalSettings, adapter: EmbeddingAdapter) -> dict[str, Any]:
    """What the loaded model says about how it embeds."""
    described = adapter.describe()
    decode_size = list(adapter.frame_size) if adapter.frame_size else None
    dtype = getattr(adapter, "dtype", None)
    return {
        "frames": int(adapter.num_frames),
        # Rate sampling (null unless asked for): clips then hold a varying number of frames.
        "fps": settings.frame_sampling().get("fps"),
        "max_frames": settings.frame_sampling().get("max_frames"),
        "frame_stride": settings.frame_sampling().get("frame_stride"),
        # The model's input size (a CLIP crop is 224x224 though frames are decoded at full size);
        # adapters without a "resolution" of their own are fed frames at their decode size.
        "resolution": described.get("resolution", decode_size),
        "decode_size": decode_size,
        "pooling": described.get("pooling"),
        "text_max_length": adapter.text_max_length,
        "decode_mode": settings.decode_mode,
        "dtype": str(dtype).replace("torch.", "") if dtype is not None else "float32",
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
