"""Where sampled frames land in time, and validation of the requested times.

Times are seconds after the video's first frame. The frame "at" time t is the frame shown at t:
the last frame whose presentation time is <= t (to within the one tick by which containers round
stored timestamps, e.g. 1 ms in Matroska: `vidret.video.metadata.StreamTiming.to_pts`).

Uniform sampling puts sample k of N at the centre of the k-th of N equal bins of [start, end):

    t_k = start + (k + 0.5) * (end - start) / N,    k = 0 .. N-1

so a video of F frames at a constant rate, sampled whole, yields frame floor((k + 0.5) * F / N):
never the very first or last frame, evenly spread, and the same rule for every clip.

Rate sampling (``fps=R``, or ``frame_stride=S`` = every S-th frame, i.e. R = video fps / S) puts
samples on a grid that starts at the segment's start, as the official LoVR scripts read frames
0, S, 2S, ...:

    t_k = start + k / R,    k = 0 .. ceil((end - start) * R) - 1

so the first frame of the segment is always sampled. ``max_frames=M`` caps the count: when the
grid holds G > M samples, M of them are kept with the uniform rule above applied to the grid
(sample floor((j + 0.5) * G / M), j = 0 .. M-1): evenly thinned, still on the grid.

Bounds (checked before anything is decoded or allocated): at most MAX_FRAMES samples per
segment, at most MAX_OUTPUT_BYTES of frames per call, and frames decoded at their native size
only up to MAX_FRAME_PIXELS pixels (larger ones need an explicit `size`, resized inside FFmpeg).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: How far past the end of the video a segment's end may reach (in frames) before it is an
#: error: segment ends computed by summing clip durations overshoot by rounding.
END_TOLERANCE_FRAMES = 1.0

MODES = ("exact", "keyframe")

#: Frames per segment when neither num_frames, fps nor frame_stride is given.
DEFAULT_NUM_FRAMES = 8
#: Most samples one segment may yield (num_frames, max_frames, or what fps/frame_stride give).
MAX_FRAMES = 10_000
#: Highest `fps` sampling rate: far above any video's own frame rate (a higher rate only repeats
#: frames), and low enough that span x rate stays a small finite number.
MAX_SAMPLE_FPS = 1000.0
#: Largest `frame_stride`: every millionth frame is one frame per 9 hours of 30 fps video.
MAX_FRAME_STRIDE = 1_000_000
#: Most bytes of frames one call may return (T x H x W x 3 summed over segments): 4 GiB.
MAX_OUTPUT_BYTES = 4 * 1024**3
#: Largest frame (width x height) decoded at its native size: 8K UHD, 7680 x 4320. Larger frames
#: need an explicit `size` (then FFmpeg resizes each frame as it is converted).
MAX_FRAME_PIXELS = 7680 * 4320


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


def check_num_frames(num_frames: int, name: str = "num_frames") -> None:
    """Raise ValueError unless `num_frames` is an int in [1, MAX_FRAMES] (the message names `name`)."""
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {num_frames!r}")
    if num_frames > MAX_FRAMES:
        shown = num_frames if num_frames < 10**15 else f"a {len(str(num_frames))}-digit number"
        raise ValueError(
            f"{name}={shown} exceeds the maximum of {MAX_FRAMES} frames per segment "
            "(vidret.video.timeline.MAX_FRAMES)"
        )


@dataclass(frozen=True)
class FrameSampling:
    """Which frames of a segment to sample: exactly one of `num_frames`, `fps`, `frame_stride`.

    Build it with `frame_sampling`, which validates the combination.

    Attributes:
        num_frames: N frames uniformly spaced over the segment (bin centres).
        fps: Samples per second of video, on a grid starting at the segment's start.
        frame_stride: Every S-th frame from the segment's first one (fps = video fps / S).
        max_frames: Cap for `fps` / `frame_stride` sampling (the grid is thinned evenly).
    """

    num_frames: int | None = None
    fps: float | None = None
    frame_stride: int | None = None
    max_frames: int | None = None

    def rate(self, video_fps: float) -> float | None:
        """Samples per second of the grid (None for `num_frames` sampling)."""
        if self.fps is not None:
            return float(self.fps)
        if self.frame_stride is not None:
            return float(video_fps) / self.frame_stride
        return None

    def count(self, start: float, end: float, video_fps: float) -> int:
        """How many samples [start, end) yields, without building them.

        Raises:
            ValueError: More than MAX_FRAMES samples (the message names the argument).
        """
        rate = self.rate(video_fps)
        if rate is None:
            return int(self.num_frames or DEFAULT_NUM_FRAMES)
        grid = grid_size(end - start, rate)
        if self.max_frames is not None:
            return min(grid, self.max_frames)
        if grid > MAX_FRAMES:
            arg = f"fps={self.fps}" if self.fps is not None else f"frame_stride={self.frame_stride}"
            raise ValueError(
                f"{arg} gives {grid} frames over [{start:.3f}, {end:.3f}) s, more than the maximum of "
                f"{MAX_FRAMES} per segment: pass max_frames to cap them (or a lower rate)"
            )
        return grid

    def timestamps(self, start: float, end: float, video_fps: float) -> list[float]:
        """The sample times in [start, end) (seconds, increasing; see the module docstring).

        Args:
            start: Range start.
            end: Range end, > start.
            video_fps: The video's frame rate (used by `frame_stride`).

        Raises:
            ValueError: start >= end, or more than MAX_FRAMES samples.
        """
        rate = self.rate(video_fps)
        if rate is None:
            return uniform_timestamps(start, end, int(self.num_frames or DEFAULT_NUM_FRAMES))
        if not start < end:
            raise ValueError(f"start ({start}) must be < end ({end})")
        self.count(start, end, video_fps)  # within MAX_FRAMES
        return [start + k / rate for k in thin(grid_size(end - start, rate), self.max_frames)]

    def describe(self) -> dict[str, Any]:
        """The arguments that were given, e.g. ``{"fps": 1.0, "max_frames": 32}`` (for records)."""
        fields = {"num_frames": self.num_frames, "fps": self.fps, "frame_stride": self.frame_stride}
        out = {k: v for k, v in fields.items() if v is not None} or {"num_frames": DEFAULT_NUM_FRAMES}
        if self.max_frames is not None:
            out["max_frames"] = self.max_frames
        return out


def grid_size(seconds: float, rate: float) -> int:
    """Samples of a grid of `rate` per second over `seconds` (at least one).

    The tolerance keeps float noise in ``seconds * rate`` from adding a sample at the end.
    """
    return max(1, math.ceil(seconds * rate - 1e-6))


def thin(grid: int, keep: int | None) -> list[int]:
    """The grid positions kept: all, or with more than `keep`, `keep` of them evenly
    (grid position ``floor((j + 0.5) * grid / keep)``, j = 0 .. keep-1)."""
    if keep is None or grid <= keep:
        return list(range(grid))
    return [int((j + 0.5) * grid / keep) for j in range(keep)]


def frame_sampling(
    num_frames: int | None = None,
    fps: float | None = None,
    max_frames: int | None = None,
    frame_stride: int | None = None,
) -> FrameSampling:
    """Validate a frame-sampling request and return it as a `FrameSampling`.

    Args:
        num_frames: N uniformly spaced frames (1 .. MAX_FRAMES).
        fps: Samples per second (> 0, at most MAX_SAMPLE_FPS).
        max_frames: Cap on the samples of `fps` / `frame_stride` sampling (1 .. MAX_FRAMES).
        frame_stride: Every S-th frame (integer 1 .. MAX_FRAME_STRIDE).

    With none of `num_frames`, `fps`, `frame_stride`, DEFAULT_NUM_FRAMES uniform frames.

    Returns:
        The validated request.

    Raises:
        ValueError: More than one of num_frames / fps / frame_stride, `max_frames` without fps or
            frame_stride, or a value out of range; the message names the arguments.
    """
    given = [name for name, v in (("num_frames", num_frames), ("fps", fps), ("frame_stride", frame_stride)) if v is not None]
    if len(given) > 1:
        raise ValueError(
            f"pass exactly one of num_frames, fps, frame_stride (got {', '.join(given)}): num_frames samples N "
            "frames uniformly, fps samples R frames per second, frame_stride every S-th frame"
        )
    if num_frames is not None:
        check_num_frames(num_frames)
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number of frames per second, got {fps!r}")
        if fps > MAX_SAMPLE_FPS:
            raise ValueError(
                f"fps={fps:g} is above the maximum of {MAX_SAMPLE_FPS:g} samples per second "
                "(vidret.video.timeline.MAX_SAMPLE_FPS): pass a lower rate"
            )
        fps = float(fps)
    if frame_stride is not None and (
        isinstance(frame_stride, bool) or not isinstance(frame_stride, int) or frame_stride < 1
    ):
        raise ValueError(f"frame_stride must be an integer >= 1, got {frame_stride!r}")
    if frame_stride is not None and frame_stride > MAX_FRAME_STRIDE:
        raise ValueError(
            f"frame_stride is above the maximum of {MAX_FRAME_STRIDE} (vidret.video.timeline.MAX_FRAME_STRIDE): "
            "pass a smaller stride"
        )
    if max_frames is not None:
        if fps is None and frame_stride is None:
            raise ValueError(
                "max_frames caps fps or frame_stride sampling; pass it with fps= or frame_stride= "
                "(num_frames already fixes the count)"
            )
        check_num_frames(max_frames, "max_frames")
    return FrameSampling(num_frames, fps, frame_stride, max_frames)


def check_output_size(count: int, width: int, height: int, label: str, what: str) -> None:
    """Refuse to return `count` frames of width x height when they exceed MAX_OUTPUT_BYTES.

    Args:
        count: Total frames the call would return.
        width: Output frame width.
        height: Output frame height.
        label: The source's name.
        what: The arguments that set the count and size, for the message.

    Raises:
        ValueError: The frames would take more than MAX_OUTPUT_BYTES.
    """
    nbytes = count * width * height * 3
    if nbytes > MAX_OUTPUT_BYTES:
        raise ValueError(
            f"{label}: {count} frames of {width}x{height} would take {nbytes / 1024**3:.1f} GiB, more than the "
            f"{MAX_OUTPUT_BYTES / 1024**3:.0f} GiB limit (vidret.video.timeline.MAX_OUTPUT_BYTES): "
            f"ask for fewer frames or a smaller size ({what})"
        )


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
