"""Bounds on the evaluation settings, and how much memory one batch of video frames may take.

Every numeric setting has a range (`check_limits`, called by `EvalSettings.check`; the CLI's
argparse types use the same constants), so a 400-digit stride or ``fps=1e308`` is refused by name
before anything runs. Memory is bounded per batch of video frames by a budget
(`DEFAULT_BATCH_MEMORY_GIB`, ``--batch-memory`` / ``EvalSettings.batch_memory``):

- before any decoding, the model input a full batch needs (batch x frames x 3 x H x W float32
  values) is checked against it, first with the flags given, then with the loaded model's frame
  count and input size (`batch_budget`);
- while embedding, a batch is cut early when the decoded frames (uint8) plus their model input
  would pass the budget (frames are decoded at their native size unless the model's input is an
  exact resize, and clips of one batch differ in size), and a clip that cannot fit alone is a
  counted failure of its own, never a raw MemoryError (`BatchBudget.refusal`).

A refusal of a setting raises `LimitError` (a ValueError; ``vidret evaluate`` exits with status 2
as for any bad flag), naming the flag, the limit and how to pass another.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidret.adapters.preprocess import MAX_RESOLUTION
from vidret.video.timeline import MAX_FRAME_STRIDE, MAX_FRAMES, MAX_SAMPLE_FPS

if TYPE_CHECKING:
    import numpy as np

    from vidret.adapters.base import EmbeddingAdapter

#: Most clips or texts per forward pass.
MAX_BATCH_SIZE = 4096
#: Most DataLoader decode workers (each is a process holding its own decoded frames).
MAX_NUM_WORKERS = 256
#: Largest `--limit` (far above any benchmark's units).
MAX_LIMIT = 10**9
#: Largest `--text-max-length` (the model's own maximum is checked when it is loaded).
MAX_TEXT_MAX_LENGTH = 1 << 20
#: Memory one batch of video frames may take by default, in GiB: decoded (uint8) plus model input
#: (float32). 16 clips of 8 native 1080p frames take 0.8 GiB; of 4K frames the batch is cut in two.
DEFAULT_BATCH_MEMORY_GIB = 2.0
#: Largest `--batch-memory` (GiB).
MAX_BATCH_MEMORY_GIB = 1024.0
#: Bytes of one model input value: the frame transform produces float32 pixel values.
PIXEL_VALUE_BYTES = 4
_GIB = 1024**3
_HOW = "--batch-memory GIB (EvalSettings.batch_memory)"


class LimitError(ValueError):
    """A setting past one of vidret's bounds (the message names the flag, the limit and the way out)."""


# flag -> (EvalSettings field, minimum, maximum, constant that sets the maximum)
INTEGER_LIMITS: dict[str, tuple[str, int, int, str]] = {
    "--frames": ("frames", 1, MAX_FRAMES, "vidret.video.timeline.MAX_FRAMES"),
    "--max-frames": ("max_frames", 1, MAX_FRAMES, "vidret.video.timeline.MAX_FRAMES"),
    "--frame-stride": ("frame_stride", 1, MAX_FRAME_STRIDE, "vidret.video.timeline.MAX_FRAME_STRIDE"),
    "--resolution": ("resolution", 1, MAX_RESOLUTION, "vidret.adapters.preprocess.MAX_RESOLUTION"),
    "--text-max-length": ("text_max_length", 2, MAX_TEXT_MAX_LENGTH, "vidret.evaluation.running.limits.MAX_TEXT_MAX_LENGTH"),
    "--batch-size": ("batch_size", 1, MAX_BATCH_SIZE, "vidret.evaluation.running.limits.MAX_BATCH_SIZE"),
    "--limit": ("limit", 1, MAX_LIMIT, "vidret.evaluation.running.limits.MAX_LIMIT"),
    "--num-workers": ("num_workers", 0, MAX_NUM_WORKERS, "vidret.evaluation.running.limits.MAX_NUM_WORKERS"),
}


def _integer(value: Any) -> int | None:
    """`value` as an int when it is one (a bool, a fractional or non-finite float is not)."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return int(value) if isinstance(value, float) and value.is_integer() else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int past float range
        return math.inf


def check_limits(settings: Any) -> None:
    """Refuse any numeric setting outside its range, and a batch whose model input is over the budget.

    Args:
        settings: an `EvalSettings` (read by attribute; unset values are None).

    Raises:
        LimitError: the first setting out of range (flag, range and the constant that sets it).
    """
    for flag, (field, low, high, constant) in INTEGER_LIMITS.items():
        value = getattr(settings, field)
        if value is None:
            continue
        n = _integer(value)
        if n is None or not low <= n <= high:
            shown = repr(value) if len(repr(value)) <= 24 else f"a {len(repr(value))}-character value"
            raise LimitError(f"{flag} must be an integer from {low} to {high:,} ({constant}), got {shown}")
    if settings.fps is not None:
        fps = _number(settings.fps)
        if fps is None or not 0 < fps <= MAX_SAMPLE_FPS:
            raise LimitError(
                f"--fps must be a number > 0 and <= {MAX_SAMPLE_FPS:g} (vidret.video.timeline.MAX_SAMPLE_FPS), got {settings.fps!r}"
            )
    budget = batch_memory_bytes(settings.batch_memory)
    frames = settings.frames if settings.frames is not None else settings.max_frames
    if frames is not None and settings.resolution is not None:
        size = (int(settings.resolution), int(settings.resolution))
        check_batch_input(int(settings.batch_size), int(frames), size, budget, "the flags given")


def batch_memory_bytes(gib: float | None) -> int:
    """The batch memory budget in bytes: `gib` GiB, or DEFAULT_BATCH_MEMORY_GIB for None.

    Raises:
        LimitError: not a number in (0, MAX_BATCH_MEMORY_GIB].
    """
    if gib is None:
        return int(DEFAULT_BATCH_MEMORY_GIB * _GIB)
    value = _number(gib)
    if value is None or not 0 < value <= MAX_BATCH_MEMORY_GIB:
        raise LimitError(
            f"--batch-memory must be a number of GiB > 0 and <= {MAX_BATCH_MEMORY_GIB:g} "
            f"(vidret.evaluation.running.limits.MAX_BATCH_MEMORY_GIB), got {gib!r}"
        )
    return int(value * _GIB)


def _gib(nbytes: float) -> str:
    return f"{nbytes / _GIB:.2f} GiB"


def check_batch_input(batch_size: int, frames: int, size: tuple[int, int], budget: int, source: str) -> None:
    """Refuse a batch whose model input (batch x frames x 3 x W x H float32) is over `budget` bytes.

    Args:
        batch_size: clips per forward pass.
        frames: frames per clip.
        size: the model's input (width, height).
        budget: the batch memory budget in bytes.
        source: where the numbers come from, for the message ("the flags given", the model).

    Raises:
        LimitError: naming the need, the budget, the largest batch size that fits and the flag.
    """
    per_clip = frames * 3 * size[0] * size[1] * PIXEL_VALUE_BYTES
    need = batch_size * per_clip
    if need <= budget:
        return
    fits = budget // per_clip
    fix = f"pass --batch-size {fits} or less, " if fits >= 1 else "pass fewer --frames / --max-frames or a smaller --resolution, "
    raise LimitError(
        f"--batch-size {batch_size} x {frames} frames x 3 x {size[0]}x{size[1]} float32 model input ({source}) needs "
        f"{_gib(need)} per batch, more than the batch memory budget of {_gib(budget)}: {fix}or raise the budget with "
        f"{_HOW}, default {DEFAULT_BATCH_MEMORY_GIB:g}"
    )


@dataclass(frozen=True)
class BatchBudget:
    """How many bytes the video frames of one batch may take while embedding.

    Attributes:
        limit: the budget in bytes.
        input_frame_bytes: float32 bytes of one frame as model input (0 when the model's input
            size is unknown: then only the decoded frames count).
    """

    limit: int
    input_frame_bytes: int = 0

    def clip_bytes(self, frames: "np.ndarray") -> int:
        """What one decoded clip costs a batch: its uint8 frames plus their model input."""
        return int(frames.nbytes) + len(frames) * self.input_frame_bytes

    def refusal(self, frames: "np.ndarray", label: str) -> str | None:
        """Why the clip cannot join any batch ("LimitError: ..." naming `label` and the budget), or None."""
        need = self.clip_bytes(frames)
        if need <= self.limit:
            return None
        count, height, width = frames.shape[:3]
        return (
            f"LimitError: {label}: {count} decoded frames of {width}x{height} need {_gib(need)} with their model "
            f"input, more than the batch memory budget of {_gib(self.limit)}: raise it with {_HOW}, or sample "
            "fewer frames (--frames / --max-frames)"
        )


def batch_budget(adapter: "EmbeddingAdapter", batch_size: int, batch_memory: float | None, sampling: dict[str, Any]) -> BatchBudget:
    """The budget a model's batches get; first refuses a batch whose model input alone cannot fit.

    Args:
        adapter: the loaded model (its `num_frames` and input size are used).
        batch_size: clips per forward pass.
        batch_memory: the budget in GiB (None: DEFAULT_BATCH_MEMORY_GIB).
        sampling: rate sampling (``{"fps": R, "max_frames": M}``...; {} for uniform frames).

    Raises:
        LimitError: batch x frames x input size over the budget (see `check_batch_input`).
    """
    limit = batch_memory_bytes(batch_memory)
    described = adapter.describe() or {}
    size = described.get("resolution") or adapter.frame_size
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        return BatchBudget(limit)  # the input size depends on the clip (or the model resizes itself)
    width, height = int(size[0]), int(size[1])
    # With rate sampling, clips hold up to max_frames frames (unbounded without it: cut per batch).
    frames = sampling.get("max_frames") if sampling else adapter.num_frames
    if frames is not None:
        check_batch_input(int(batch_size), int(frames), (width, height), limit, f"model {described.get('model') or type(adapter).__name__}")
    return BatchBudget(limit, 3 * width * height * PIXEL_VALUE_BYTES)
