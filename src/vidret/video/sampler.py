"""Public frame-sampling API: uniform samples, explicit times, and many segments of one video.

All functions return uint8 RGB arrays of shape (T, H, W, 3) in the order described, open the
container once per call (``with av.open(...)``), and share one definition of "the frame at t"
and of uniform sampling (see `vidret.video.timeline`). Hence `sample_segments` returns, for
each segment, exactly what `sample_frames` returns for it.

``sample_segments(..., errors="collect")`` is the one place that isolates failures per segment:
callers that must report a failed segment without losing the others (the dataset decoder, the
evaluation runner) use it instead of writing their own retry loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Union, overload

import numpy as np

from vidret.video.decoder import FrameFetcher
from vidret.video.errors import VideoDecodeError
from vidret.video.metadata import StreamTiming, stream_timing
from vidret.video.source import VideoSource, open_video
from vidret.video.timeline import (
    check_mode,
    check_num_frames,
    check_size,
    check_timestamps,
    resolve_range,
    uniform_timestamps,
)

#: What ``errors="collect"`` turns into a per-segment result: failures of the data (missing,
#: unreadable or truncated video, a span outside it, I/O), never programming errors.
DECODE_ERRORS: tuple[type[Exception], ...] = (VideoDecodeError, ValueError, OSError)
ERROR_POLICIES = ("raise", "collect")

#: One element of ``sample_segments(..., errors="collect")``: the frames, or why they failed.
SegmentResult = Union[np.ndarray, Exception]


def _fetch(
    video, timing: StreamTiming, times: Sequence[float], size, mode: str, progress: bool = False
) -> list[np.ndarray]:
    """Frames shown at `times` (seconds, any order), decoded with one pass plan."""
    targets = [timing.to_pts(t) for t in times]
    unique = sorted(set(targets))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(unique), desc=f"decoding {video.label}", unit="frame")
    try:
        fetcher = FrameFetcher(
            video.container, video.stream, timing, video.label, size, bar.update if bar else None
        )
        by_pts = fetcher.exact(unique) if mode == "exact" else fetcher.keyframe(unique)
    finally:
        if bar is not None:
            bar.close()
    return [by_pts[p] for p in targets]


def sample_frames(
    source: VideoSource,
    num_frames: int = 8,
    start: float | None = None,
    end: float | None = None,
    size: tuple[int, int] | None = None,
    mode: str = "exact",
) -> np.ndarray:
    """`num_frames` frames uniformly spaced over [start, end) seconds of a video.

    Sample k is the frame shown at the centre of the k-th of `num_frames` equal bins of
    [start, end): ``t_k = start + (k + 0.5) * (end - start) / num_frames``.

    Args:
        source: Local path, ``http(s)://`` URL, ``hf://`` path, seekable binary file object or bytes.
        num_frames: Number of frames, >= 1.
        start: Range start in seconds after the first frame (default 0).
        end: Range end in seconds (default: the video's duration). May exceed the duration by
            up to one frame (rounding in summed clip durations); it is then clamped.
        size: Output ``(width, height)``, resized inside FFmpeg; None keeps the native size.
        mode: ``"exact"`` (the exact frame at each time: seek to the previous keyframe, decode
            forward) or ``"keyframe"`` (the keyframe at or before each time: much faster, up
            to one GOP early).

    Returns:
        uint8 array (num_frames, H, W, 3), RGB, in temporal order.

    Raises:
        ValueError: num_frames < 1, start >= end, a range outside the video, a bad size or mode.
        VideoNotFoundError: The source does not exist.
        VideoDecodeError: Unreadable, not a video, no video stream, or truncated before the range.
    """
    check_num_frames(num_frames)
    check_mode(mode)
    size = check_size(size)
    with open_video(source) as video:
        timing = stream_timing(video.container, video.stream, video.label)
        lo, hi = resolve_range(start, end, timing.duration, timing.fps, video.label)
        times = uniform_timestamps(lo, hi, num_frames)
        return np.stack(_fetch(video, timing, times, size, mode))


def sample_frames_at(
    source: VideoSource,
    timestamps: Sequence[float],
    size: tuple[int, int] | None = None,
    mode: str = "exact",
) -> np.ndarray:
    """The frames shown at the given times, in the order asked (repeats allowed).

    Args:
        source: As for `sample_frames`.
        timestamps: Seconds after the first frame, each in [0, duration).
        size: Output ``(width, height)``; None keeps the native size.
        mode: ``"exact"`` or ``"keyframe"`` (see `sample_frames`).

    Returns:
        uint8 array (len(timestamps), H, W, 3), RGB.

    Raises:
        ValueError: Empty `timestamps`, a time outside the video, a bad size or mode.
        VideoNotFoundError: The source does not exist.
        VideoDecodeError: Unreadable, not a video, no video stream, or truncated before a time.
    """
    check_mode(mode)
    size = check_size(size)
    with open_video(source) as video:
        timing = stream_timing(video.container, video.stream, video.label)
        times = check_timestamps(timestamps, timing.duration, video.label)
        return np.stack(_fetch(video, timing, times, size, mode))


@overload
def sample_segments(
    source: VideoSource,
    segments: Sequence[tuple[float | None, float | None]],
    num_frames: int = ...,
    size: tuple[int, int] | None = ...,
    mode: str = ...,
    *,
    progress: bool = ...,
    errors: Literal["raise"] = ...,
) -> list[np.ndarray]: ...


@overload
def sample_segments(
    source: VideoSource,
    segments: Sequence[tuple[float | None, float | None]],
    num_frames: int = ...,
    size: tuple[int, int] | None = ...,
    mode: str = ...,
    *,
    progress: bool = ...,
    errors: Literal["collect"],
) -> list[SegmentResult]: ...


def sample_segments(
    source: VideoSource,
    segments: Sequence[tuple[float | None, float | None]],
    num_frames: int = 8,
    size: tuple[int, int] | None = None,
    mode: str = "exact",
    *,
    progress: bool = False,
    errors: str = "raise",
) -> list[np.ndarray] | list[SegmentResult]:
    """Uniform samples of many [start, end) segments of one video, in one pass.

    The container is opened once and all targets are decoded in time order, seeking only
    where that skips frames: dense segments (e.g. every clip of a LoVR video) cost about one
    forward decode, sparse ones one seek each. Element i equals
    ``sample_frames(source, num_frames, *segments[i], size=size, mode=mode)``.

    With ``errors="collect"`` a failure is returned in place of the frames of the segment(s) it
    concerns, and the other segments still come back, each identical to a plain call:

    - the source cannot be opened or probed (missing, unreachable, not a video, no video
      stream): that one exception stands for every segment; nothing is retried;
    - a malformed span or one outside the video: a ValueError for that segment only, worded as
      `sample_frames` words it (without the raise mode's "segment n:" prefix);
    - the one-pass decode fails (e.g. a video truncated before some segment): each segment is
      then decoded on its own (one open each), so only the segments that really fail do.

    Only `DECODE_ERRORS` (VideoDecodeError, ValueError, OSError) are collected; any other
    exception is a bug and propagates. Bad `num_frames`, `size`, `mode` or `errors` raise in
    both modes: they would fail every segment of every video.

    Args:
        source: As for `sample_frames`.
        segments: (start, end) pairs in seconds; any order, overlaps allowed. A None bound means
            the start / end of the video, so (None, None) is the whole video.
        num_frames: Frames per segment, >= 1.
        size: Output ``(width, height)``; None keeps the native size.
        mode: ``"exact"`` or ``"keyframe"``.
        progress: Show a tqdm bar over the frames to decode.
        errors: ``"raise"`` (the first failure raises) or ``"collect"`` (see above).

    Returns:
        One uint8 array (num_frames, H, W, 3) per segment, in the order given; with
        ``errors="collect"``, an exception instead of the array for each segment that failed.

    Raises:
        ValueError: Bad num_frames, size, mode or errors; with ``errors="raise"`` also a
            malformed segment, start >= end or a segment outside the video (the message names
            the segment's position).
        VideoNotFoundError: The source does not exist (``errors="raise"`` only).
        VideoDecodeError: Unreadable, not a video, no video stream, or truncated before a segment
            (``errors="raise"`` only).
    """
    check_num_frames(num_frames)
    check_mode(mode)
    size = check_size(size)
    if errors not in ERROR_POLICIES:
        raise ValueError(f"errors must be one of {ERROR_POLICIES}, got {errors!r}")
    segments = list(segments)
    if not segments:
        return []
    if errors == "collect":
        return _collect_segments(source, segments, num_frames, size, mode, progress)
    with open_video(source) as video:
        timing = stream_timing(video.container, video.stream, video.label)
        times: list[float] = []
        for n, segment in enumerate(segments):
            try:
                seg_start, seg_end = segment
            except (TypeError, ValueError):
                raise ValueError(f"{video.label}: segment {n} must be (start, end), got {segment!r}") from None
            try:
                lo, hi = resolve_range(seg_start, seg_end, timing.duration, timing.fps, video.label)
            except ValueError as err:
                raise ValueError(f"segment {n}: {err}") from None
            times.extend(uniform_timestamps(lo, hi, num_frames))
        frames = _fetch(video, timing, times, size, mode, progress)
    return [np.stack(frames[k : k + num_frames]) for k in range(0, len(frames), num_frames)]


def _span(segment: object, timing: StreamTiming, label: str) -> tuple[float, float]:
    """A segment's [start, end) checked against the video, worded as `sample_frames` words it."""
    try:
        seg_start, seg_end = segment  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"{label}: a segment must be (start, end), got {segment!r}") from None
    return resolve_range(seg_start, seg_end, timing.duration, timing.fps, label)


def _collect_segments(
    source: VideoSource,
    segments: list,
    num_frames: int,
    size: tuple[int, int] | None,
    mode: str,
    progress: bool,
) -> list[SegmentResult]:
    """`sample_segments` with ``errors="collect"`` (arguments already validated)."""
    results: list[SegmentResult | None] = [None] * len(segments)
    spans: dict[int, tuple[float, float]] = {}
    opened = decoded = False
    try:
        with open_video(source) as video:
            timing = stream_timing(video.container, video.stream, video.label)
            opened = True
            for n, segment in enumerate(segments):
                try:
                    spans[n] = _span(segment, timing, video.label)
                except ValueError as err:
                    results[n] = err
            times = [t for lo, hi in spans.values() for t in uniform_timestamps(lo, hi, num_frames)]
            try:
                frames = _fetch(video, timing, times, size, mode, progress) if times else []
            except DECODE_ERRORS:
                pass  # isolate the failing segment(s) below, each on its own
            else:
                for k, n in enumerate(spans):
                    results[n] = np.stack(frames[k * num_frames : (k + 1) * num_frames])
                decoded = True
    except DECODE_ERRORS as err:
        if not opened:
            # The source itself is at fault: every segment shares this error, and retrying
            # each would only repeat the lookup (an HTTP round trip each for a remote source).
            return [err] * len(segments)
        # Otherwise closing failed after the decode: keep what was decoded.
    if not decoded:
        for n in spans:
            start, end = segments[n]
            try:
                results[n] = sample_frames(source, num_frames, start, end, size=size, mode=mode)
            except DECODE_ERRORS as err:
                results[n] = err
    return results  # type: ignore[return-value]  (every slot is filled above)
