"""What a run records about itself beside its scores: the model, every setting, truncated texts.

The video side's settings come from the loaded model, from the export the videos were read from,
or (released files, which say nothing about how they were made) only from what the user declared.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidret.evaluation.embeddings.stored import StoredSources
from vidret.evaluation.planning.tasks import LongVideo, Task, TaskPlan
from vidret.evaluation.running.settings import EvalSettings
from vidret.evaluation.running.sources_setup import stored_setting
from vidret.testing.oracle import is_oracle
from vidret.video.source import check_timeout

if TYPE_CHECKING:
    from vidret.adapters.base import EmbeddingAdapter


def count_truncated(task: Task, truncated: set[str]) -> int:
    """How many distinct texts of `task` (queries or gallery) the model truncated."""
    return len({ref.text for ref in task.queries + task.gallery if ref.text is not None} & truncated)


def model_record(settings: EvalSettings, adapter: EmbeddingAdapter, source: dict[str, str | None]) -> dict[str, Any]:
    """The model a run loaded: its id, which exact revision (`model_source`'s answer), its adapter."""
    oracle = is_oracle(settings.model)
    return {
        "id": settings.model,
        **source,
        "adapter": "oracle" if oracle else (getattr(adapter, "preset", None) or settings.preset or type(adapter).__name__),
        "adapter_class": type(adapter).__name__,
        "random_weights": bool(settings.random_weights or getattr(adapter, "random_weights", False)),
        "trust_remote_code": bool(settings.trust_remote_code),
    }


def stored_model_record(stored: StoredSources) -> dict[str, Any]:
    """The model of a run that loaded none: the one an export records, else a label of the files."""
    for side in ("videos", "texts"):
        meta = stored.metadata(side)
        if meta and meta.get("model"):
            return dict(meta["model"])
    src = stored.specs.get("videos") or next(iter(stored.specs.values()))
    return {"id": f"embeddings:{Path(src).name or src}", "revision": None, "adapter": "embeddings", "adapter_class": "StoredSource"}


# Settings that describe how the video embeddings were made (frames, input size, decoding).
VIDEO_SIDE_SETTINGS = (
    "frames", "fps", "max_frames", "frame_stride", "resolution", "decode_size", "pooling", "dtype", "decode_mode", "adapter",
)


def settings_record(
    settings: EvalSettings,
    adapter: EmbeddingAdapter | None,
    stored: StoredSources,
    plan: TaskPlan,
    long_video: LongVideo,
    fusion: str,
) -> dict[str, Any]:
    """Every setting of the run: the video side's from the model, an export's record, or (released
    files) only what the user declared (``--frames``); the text side's maximum length likewise."""
    from_model = _model_settings(settings, adapter) if adapter is not None else {}
    if "videos" not in stored.sources:
        out = {k: from_model[k] for k in VIDEO_SIDE_SETTINGS}
    elif stored.metadata("videos"):
        recorded = stored.metadata("videos").get("settings") or {}
        out = {k: recorded[k] for k in VIDEO_SIDE_SETTINGS if k in recorded}
    else:  # released files say nothing about how they were made
        out = {"frames": settings.frames, "resolution": None}
    if "texts" not in stored.sources:
        out["text_max_length"] = from_model.get("text_max_length")
    else:
        out["text_max_length"] = stored_setting(stored, "text_max_length", "texts")
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
