"""Where sampled frames land in time, and validation of the requested times.

Times are seconds after the video's first frame. The frame "at" time t is the frame shown at t:
the last frame whose presentation time is <= t.

Uniform sampling puts sample k of N at the centre of the k-th of N equal bins of [start, end):

    t_k = start + (k + 0.5) * (end - start) / N,    k = 0 .. N-1

so a video of F frames at a constant rate, sampled whole, yields frame floor((k + 0.5) * F / N):
never the very first or last frame, evenly spread, and the same rule for every clip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: How far past the end of the video a segment's end may reach (in frames) before it is an
#: error: segment ends computed by summing clip durations overshoot by rounding.
END_TOLERANCE_FRAMES = 1.0

MODES = ("exact", "keyframe")


def uniform_timestamps(start: float, end: float, num_frames: int) -> list[float]:
    """Centres of `num_frames` equal bins of [start, end), in seconds.

    Args:
        start: Start of the range (inclusive).
        end: End of the range (exclusive), > start.
        num_frames: Number of samples, >= 1.

    Returns:
        `num_frames` increasing times.

    Raises:
        ValueError: If num_frames < 1 or start >= end.
    """
    check_num_frames(num_frames)
    if not start < end:
        raise ValueError(f"start ({start}) must be < end ({end})")
    step = (end - start) / num_frames
    return [start + (k + 0.5) * step for k in range(num_frames)]


def check_num_frames(num_frames: int) -> None:
    """Raise ValueError unless `num_frames` is an int >= 1."""
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be an integer >= 1, got {num_frames!r}")


def check_mode(mode: str) -> None:
    """Raise ValueError unless `mode` is one of MODES."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def check_size(size: Sequence[int] | None) -> tuple[int, int] | None:
    """Validate an output size ``(width, height)``; None keeps the native size.

    Raises:
        ValueError: If `size` is not two positive integers.
    """
    if size is None:
        return None
    try:
        width, height = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)):
        raise ValueError(f"size must be two positive integers (width, height), got {size!r}")
    return int(width), int(height)


def resolve_range(
    start: float | None, end: float | None, duration: float | None, fps: float, label: str
) -> tuple[float, float]:
    """Fill in a [start, end) request and check it against the video.

    `end` may exceed the duration by up to END_TOLERANCE_FRAMES frames; it is then clamped.

    Raises:
        ValueError: On a bound that is not a finite number, start < 0, start >= end, end beyond the video, or an
            unknown duration with no explicit end.
    """
    if end is None:
        if duration is None:
            raise ValueError(f"{label}: video duration is unknown; pass an explicit end")
        end = duration
    start, end = _seconds(0.0 if start is None else start, "start", label), _seconds(end, "end", label)
    if start < 0:
        raise ValueError(f"{label}: start {start} s is before the beginning of the video")
    if duration is not None:
        if end > duration + END_TOLERANCE_FRAMES / fps:
            raise ValueError(f"{label}: end {end} s is past the end of the video ({duration:.3f} s)")
        end = min(end, duration)
        if start >= duration:
            raise ValueError(f"{label}: start {start} s is past the end of the video ({duration:.3f} s)")
    if not start < end:
        raise ValueError(f"{label}: start ({start}) must be < end ({end})")
    return start, end


def _seconds(value: object, name: str, label: str) -> float:
    """`value` as a finite number of seconds, or a ValueError naming `name` and the source."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{label}: {name} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{label}: {name} must be a finite number of seconds, got {value!r}")
    return seconds


def check_timestamps(timestamps: Sequence[float], duration: float | None, label: str) -> list[float]:
    """Validate explicit sample times: each must be in [0, duration).

    Raises:
        ValueError: On an empty list, a non-number, or a time outside the video.
    """
    times = [_seconds(t, f"timestamp {n}", label) for n, t in enumerate(timestamps)]
    if not times:
        raise ValueError(f"{label}: no timestamps given")
    for t in times:
        if t < 0 or (duration is not None and t >= duration):
            span = f"[0, {duration:.3f})" if duration is not None else "[0, end)"
            raise ValueError(f"{label}: timestamp {t} s is outside the video {span}")
    return times
