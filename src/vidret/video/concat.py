"""Frames of several spans sampled as ONE video: the spans joined end to end, one sampling grid.

A LoVR full video is the concatenation of its clips. The official LoVR scripts embed it from the
frames of all its clips in one pass, reading every S-th frame of the clips *as joined*: the stride
runs on across clip boundaries (a clip of 25 frames read at S = 10 leaves an offset of 5, so the
next clip is read from its 5th frame). Sampling each clip on its own restarts the grid at every
clip instead. `sample_concatenated` samples the joined timeline:

- ``frame_stride=S``: frames 0, S, 2S, ... of the concatenation (F = sum of the parts' frame
  counts; a part of n frames at rate r spanning [start, end) has n = ceil((end - start) * r)).
- ``fps=R``: times 0, 1/R, 2/R, ... of the joined timeline (its length the sum of the parts').
- ``num_frames=N``: the centres of N equal bins of the joined timeline.
- ``max_frames=M`` thins a grid of G > M samples evenly, as `vidret.video.timeline` does.

A grid position maps to the part holding it and to a time in that part; each part's file is
probed once and its frames read with `sample_frames_at` (one open per file and pass), so a part
may contribute no frame (shorter than the remaining stride). At most MAX_FRAMES samples in all, and
MAX_OUTPUT_BYTES of them (at native size, as the files' headers state their frame size).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidret.video.metadata import VideoInfo, probe
from vidret.video.sampler import DECODE_ERRORS, sample_frames_at
from vidret.video.segments import SegmentFrames
from vidret.video.settings import DecodeSettings, decode_settings
from vidret.video.timeline import (
    DEFAULT_NUM_FRAMES,
    MAX_FRAMES,
    FrameSampling,
    check_output_size,
    grid_size,
    resolve_range,
    thin,
)

#: One part: (source, start, end) in seconds of that source; None bounds = its start / end.
Part = tuple[Any, float | None, float | None]


def concatenated_times(spans: Sequence[tuple[float, float, float]], sampling: FrameSampling) -> list[list[float]]:
    """Where the samples of the joined spans fall: per span, its sample times (seconds in its own file).

    Args:
        spans: (start, end, fps) of each part, in order; start < end.
        sampling: which samples of the joined timeline (see the module docstring).

    Returns:
        One increasing list of times per span, each in [start, end); a list may be empty.

    Raises:
        ValueError: no spans, or more than MAX_FRAMES samples (without `max_frames`).
    """
    if not spans:
        raise ValueError("no spans to concatenate")
    out: list[list[float]] = [[] for _ in spans]
    if sampling.frame_stride is not None:  # in frames: the stride runs on across boundaries
        counts = [grid_size(b - a, r) for a, b, r in spans]  # frames of each part, as `FrameSampling` counts them
        firsts = np.cumsum([0, *counts[:-1]]).tolist()
        grid = math.ceil(sum(counts) / sampling.frame_stride)
        _check_count(grid, sampling, f"frame_stride={sampling.frame_stride} over {sum(counts)} frames")
        for g in (k * sampling.frame_stride for k in thin(grid, sampling.max_frames)):
            i = bisect.bisect_right(firsts, g) - 1
            a, _, r = spans[i]
            out[i].append(a + (g - firsts[i]) / r)
        return out
    lengths = [b - a for a, b, _ in spans]
    total = sum(lengths)
    starts = np.cumsum([0.0, *lengths[:-1]]).tolist()
    if sampling.fps is not None:
        grid = grid_size(total, sampling.fps)
        _check_count(grid, sampling, f"fps={sampling.fps} over {total:.3f} s")
        positions = [k / sampling.fps for k in thin(grid, sampling.max_frames)]
    else:
        n = int(sampling.num_frames or DEFAULT_NUM_FRAMES)
        positions = [(k + 0.5) * total / n for k in range(n)]
    for t in positions:
        i = bisect.bisect_right(starts, t) - 1
        out[i].append(spans[i][0] + (t - starts[i]))
    return out


def _check_count(grid: int, sampling: FrameSampling, what: str) -> None:
    if sampling.max_frames is None and grid > MAX_FRAMES:
        raise ValueError(
            f"{what} of the joined clips gives {grid} frames, more than the maximum of {MAX_FRAMES} per input: "
            "pass max_frames (--max-frames) to cap them, or a larger stride"
        )


def sample_concatenated(
    parts: Sequence[Part],
    num_frames: int | None = None,
    size: tuple[int, int] | None = None,
    mode: str = "exact",
    *,
    fps: float | None = None,
    max_frames: int | None = None,
    frame_stride: int | None = None,
    timeout: float | None = None,
) -> np.ndarray:
    """The frames of `parts` joined end to end, sampled as one video (see the module docstring).

    Args:
        parts: (source, start, end) of each part in order (None bounds: the file's start / end);
            consecutive parts may share a source (clips that are spans of one full video).
        num_frames, fps, frame_stride, max_frames: which frames of the joined timeline (exactly one
            of the first three; none: 8 uniform frames), as for `sample_frames`.
        size: output ``(width, height)``; None keeps the native size.
        mode: "exact" or "keyframe".
        timeout: seconds allowed per remote file opened (each part's file is probed, then read).

    Returns:
        uint8 array (T, H, W, 3), RGB, in the order of the joined timeline.

    Raises:
        ValueError: bad sampling arguments, size, mode or timeout; no parts; a span outside its
            video; more than MAX_FRAMES frames or MAX_OUTPUT_BYTES of them.
        VideoNotFoundError, VideoDecodeError: a part's file is missing or cannot be read.
    """
    settings = decode_settings(
        num_frames, fps=fps, frame_stride=frame_stride, max_frames=max_frames, size=size, mode=mode, timeout=timeout
    )
    return _sample_joined(parts, settings)


def _sample_joined(parts: Sequence[Part], settings: DecodeSettings) -> np.ndarray:
    """`sample_concatenated` with validated settings."""
    size, mode, timeout = settings.size, settings.mode, settings.timeout
    if not parts:
        raise ValueError("sample_concatenated: no parts")
    infos: dict[Any, VideoInfo] = {}
    spans = []
    for source, start, end in parts:
        if source not in infos:
            infos[source] = probe(source, timeout=timeout)
        info = infos[source]
        spans.append((*resolve_range(start, end, info.duration, info.fps, str(source)), info.fps))
    times = concatenated_times(spans, settings.sampling)
    # All the parts' frames in one array: bounded as a whole before any is read (at native size,
    # by the largest frame a header states; each read checks its own decoded frames too).
    width, height = size or max(((info.width, info.height) for info in infos.values()), key=lambda wh: wh[0] * wh[1])
    what = f"{settings.sampling.describe()} of {len(parts)} joined parts"
    check_output_size(sum(map(len, times)), width, height, str(parts[0][0]), what)
    # One read per file: the times of all its parts together, put back in timeline order after.
    frames: list[np.ndarray | None] = [None] * len(parts)
    for source in infos:
        mine = [i for i, (src, _, _) in enumerate(parts) if src == source and times[i]]
        if not mine:
            continue
        read = sample_frames_at(source, [t for i in mine for t in times[i]], size, mode, timeout=timeout)
        cuts = np.cumsum([len(times[i]) for i in mine])[:-1]
        for i, chunk in zip(mine, np.split(read, cuts)):
            frames[i] = chunk
    return np.concatenate([f for f in frames if f is not None])


def decode_concatenated(segment: Any, settings: DecodeSettings) -> SegmentFrames:
    """`sample_concatenated` of a segment's ``parts`` under `settings`, its decode failure collected.

    Only `DECODE_ERRORS` become the segment's error text (``"<ExceptionType>: <message>"``);
    anything else propagates.
    """
    try:
        frames = _sample_joined(segment.parts, settings)
    except DECODE_ERRORS as err:
        return SegmentFrames(segment, None, f"{type(err).__name__}: {err}")
    return SegmentFrames(segment, frames, None)
