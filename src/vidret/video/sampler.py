"""Public frame-sampling API: uniform samples, explicit times, and many segments of one video.

All functions return uint8 RGB arrays of shape (T, H, W, 3) in the order described (or, with
``with_timestamps=True``, a `FrameBatch` holding the array and each frame's time), open the
container once per call (``with av.open(...)``), and share one definition of "the frame at t"
and of frame sampling (see `vidret.video.timeline`). Hence `sample_segments` returns, for
each segment, exactly what `sample_frames` returns for it.

Which frames: exactly one of ``num_frames=N`` (N uniformly spaced frames), ``fps=R`` (R frames
per second of video) or ``frame_stride=S`` (every S-th frame); ``max_frames=M`` caps the last
two by thinning evenly (`vidret.video.timeline.FrameSampling`). Sizes are bounded before
anything is allocated: frames decoded at their native size up to MAX_FRAME_PIXELS (pass `size`
for larger videos), at most MAX_FRAMES per segment and MAX_OUTPUT_BYTES per call. Remote
sources have time limits (`timeout`, see `vidret.video.source`).

``sample_segments(..., errors="collect")`` is the one place that isolates failures per segment:
callers that must report a failed segment without losing the others (the dataset decoder, the
evaluation runner) use it instead of writing their own retry loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Union, overload

import numpy as np

from vidret.video.batch import FrameBatch, TimedFrameFetcher
from vidret.video.decoder import FrameFetcher, too_large
from vidret.video.errors import VideoDecodeError, VideoTimeoutError
from vidret.video.metadata import StreamTiming, stream_timing
from vidret.video.settings import DecodeSettings, decode_settings
from vidret.video.source import OpenVideo, VideoSource, check_timeout, open_video
from vidret.video.timeline import (
    MAX_FRAME_PIXELS,
    check_mode,
    check_output_size,
    check_size,
    check_timestamps,
    resolve_range,
)

#: What ``errors="collect"`` turns into a per-segment result: failures of the data (missing,
#: unreadable, truncated or oversized video, a span outside it, I/O, a remote time limit), never
#: programming errors.
DECODE_ERRORS: tuple[type[Exception], ...] = (VideoDecodeError, ValueError, OSError)
ERROR_POLICIES = ("raise", "collect")

#: One element of ``sample_segments(..., errors="collect")``: the frames, or why they failed.
SegmentResult = Union[np.ndarray, Exception]


def _open_stream(video: OpenVideo, size: tuple[int, int] | None) -> tuple[StreamTiming, tuple[int, int] | None]:
    """The stream's timing and the output frame size (None: unknown until the first frame).

    Raises:
        VideoTooLargeError: No `size` and the native frames exceed MAX_FRAME_PIXELS.
        VideoDecodeError: No time base or frame rate.
    """
    timing = stream_timing(video.container, video.stream, video.label)
    context = getattr(video.stream, "codec_context", None)
    width, height = int(getattr(context, "width", 0) or 0), int(getattr(context, "height", 0) or 0)
    if size is None and width * height > MAX_FRAME_PIXELS:
        raise too_large(video.label, width, height)
    return timing, size or ((width, height) if width and height else None)


def _fetch(
    video: OpenVideo,
    timing: StreamTiming,
    times: Sequence[float],
    size: tuple[int, int] | None,
    out_size: tuple[int, int] | None,
    mode: str,
    what: str,
    progress: bool = False,
    pts: list[int] | None = None,
) -> list[np.ndarray]:
    """Frames shown at `times` (seconds, any order), decoded with one pass plan.

    With a `pts` list, the pts of each returned frame is appended to it (same order).

    Raises:
        ValueError: The frames would exceed MAX_OUTPUT_BYTES (checked before decoding at the
            header's size, and at the first frame's when no `size` was asked for).
        VideoDecodeError: Decoding failed, or ran out of memory.
    """
    if out_size is not None:
        check_output_size(len(times), *out_size, video.label, what)
    targets = [timing.to_pts(t) for t in times]
    unique = sorted(set(targets))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(unique), desc=f"decoding {video.label}", unit="frame")
    try:
        fetcher = (FrameFetcher if pts is None else TimedFrameFetcher)(
            video.container,
            video.stream,
            timing,
            video.label,
            size,
            bar.update if bar else None,
            # The header's size was checked above; the frames' own may be larger.
            on_native_size=lambda width, height: check_output_size(len(times), width, height, video.label, what),
        )
        by_pts = fetcher.exact(unique) if mode == "exact" else fetcher.keyframe(unique)
    except MemoryError:
        # One video that needs more memory than there is fails alone, like any bad video.
        raise VideoDecodeError(
            f"{video.label}: ran out of memory decoding {len(unique)} frames ({what})"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    frames = [by_pts[p] for p in targets]
    if pts is not None:
        pts += [fetcher.pts_of(frame) for frame in frames]
    return frames


def _result(
    frames: list[np.ndarray], pts: list[int] | None, times: Sequence[float], timing: StreamTiming
) -> np.ndarray | FrameBatch:
    """The stacked frames, or with `pts` (a timed fetch) a `FrameBatch`."""
    data = np.stack(frames)
    if pts is None:
        return data
    seconds = np.array([timing.to_seconds(p) for p in pts], dtype=np.float64)
    return FrameBatch(data, seconds, np.asarray(times, dtype=np.float64))


def _describe(settings: DecodeSettings) -> str:
    """The arguments that set how many frames of which size, for messages."""
    parts = [f"{k}={v}" for k, v in settings.sampling.describe().items()]
    return ", ".join(parts + [f"size={settings.size}"])


@overload
def sample_frames(
    source: VideoSource, num_frames: int | None = ..., start: float | None = ..., end: float | None = ...,
    size: tuple[int, int] | None = ..., mode: str = ..., *, fps: float | None = ..., max_frames: int | None = ...,
    frame_stride: int | None = ..., timeout: float | None = ..., with_timestamps: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def sample_frames(
    source: VideoSource, num_frames: int | None = ..., start: float | None = ..., end: float | None = ...,
    size: tuple[int, int] | None = ..., mode: str = ..., *, fps: float | None = ..., max_frames: int | None = ...,
    frame_stride: int | None = ..., timeout: float | None = ..., with_timestamps: Literal[True],
) -> FrameBatch: ...


def sample_frames(
    source: VideoSource,
    num_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
    size: tuple[int, int] | None = None,
    mode: str = "exact",
    *,
    fps: float | None = None,
    max_frames: int | None = None,
    frame_stride: int | None = None,
    timeout: float | None = None,
    with_timestamps: bool = False,
) -> np.ndarray | FrameBatch:
    """Frames of [start, end) seconds of a video: N uniformly spaced, or R per second, or every S-th.

    Exactly one of `num_frames`, `fps`, `frame_stride` picks the frames (none: 8 uniform frames):

    - ``num_frames=N``: sample k is the frame shown at the centre of the k-th of N equal bins of
      [start, end): ``t_k = start + (k + 0.5) * (end - start) / N``.
    - ``fps=R``: the frames shown at ``start + k / R`` for every such time before `end` (the
      first frame of the range is always sampled).
    - ``frame_stride=S``: the same with R = the video's frame rate / S, i.e. every S-th frame
      from the first frame of the range (frame indices i0, i0 + S, ... of a constant-rate video).

    ``max_frames=M`` caps `fps` / `frame_stride` sampling: a grid of G > M samples is thinned to
    M of them, evenly (grid sample ``floor((j + 0.5) * G / M)``, j = 0 .. M-1).

    Args:
        source: Local path, ``http(s)://`` URL, ``hf://`` path, seekable binary file object or bytes.
        num_frames: Number of uniformly spaced frames, 1 .. MAX_FRAMES.
        start: Range start in seconds after the first frame (default 0).
        end: Range end in seconds (default: the video's duration). May exceed the duration by
            up to one frame (rounding in summed clip durations); it is then clamped.
        size: Output ``(width, height)``, resized inside FFmpeg; None keeps the native size
            (allowed up to MAX_FRAME_PIXELS pixels per frame).
        mode: ``"exact"`` (the exact frame at each time: seek to the previous keyframe, decode
            forward) or ``"keyframe"`` (the keyframe at or before each time: much faster, up
            to one GOP early).
        fps: Frames per second of video to sample (> 0).
        max_frames: Cap on the frames of `fps` / `frame_stride` sampling, 1 .. MAX_FRAMES.
        frame_stride: Sample every S-th frame (S >= 1).
        timeout: Seconds allowed for a remote source (connect, each read, and in total; default
            ``$VIDRET_HTTP_TIMEOUT``, else `vidret.video.source.DEFAULT_TIMEOUT_S`; ``math.inf``: no limit).
        with_timestamps: Return a `FrameBatch` (``.data``, ``.pts_seconds`` of each frame,
            ``.sample_seconds`` sampled) instead of the bare array.

    Returns:
        uint8 array (T, H, W, 3), RGB, in temporal order (T = num_frames, or what the rate gives);
        with `with_timestamps`, a `FrameBatch` holding it.

    Raises:
        ValueError: More than one of num_frames / fps / frame_stride (the message names them),
            an argument out of range, start >= end, a range outside the video, more than
            MAX_FRAMES samples, or more than MAX_OUTPUT_BYTES of frames.
        VideoNotFoundError: The source does not exist.
        VideoTooLargeError: Native frames above MAX_FRAME_PIXELS and no `size`.
        VideoDecodeError: Unreadable, not a video, no video stream, truncated before the range,
            or a remote source that timed out (the message says which limit).
    """
    settings = decode_settings(
        num_frames, fps=fps, frame_stride=frame_stride, max_frames=max_frames, size=size, mode=mode, timeout=timeout
    )
    return _sample_one(source, settings, start, end, with_timestamps)


def _sample_one(
    source: VideoSource, settings: DecodeSettings, start: float | None, end: float | None, with_timestamps: bool = False
) -> np.ndarray | FrameBatch:
    """`sample_frames` with validated arguments."""
    pts: list[int] | None = [] if with_timestamps else None
    with open_video(source, timeout=settings.timeout) as video:
        timing, out_size = _open_stream(video, settings.size)
        lo, hi = resolve_range(start, end, timing.duration, timing.fps, video.label)
        times = settings.sampling.timestamps(lo, hi, timing.fps)
        frames = _fetch(video, timing, times, settings.size, out_size, settings.mode, _describe(settings), pts=pts)
        return _result(frames, pts, times, timing)


@overload
def sample_frames_at(
    source: VideoSource, timestamps: Sequence[float], size: tuple[int, int] | None = ..., mode: str = ..., *,
    timeout: float | None = ..., with_timestamps: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def sample_frames_at(
    source: VideoSource, timestamps: Sequence[float], size: tuple[int, int] | None = ..., mode: str = ..., *,
    timeout: float | None = ..., with_timestamps: Literal[True],
) -> FrameBatch: ...


def sample_frames_at(
    source: VideoSource,
    timestamps: Sequence[float],
    size: tuple[int, int] | None = None,
    mode: str = "exact",
    *,
    timeout: float | None = None,
    with_timestamps: bool = False,
) -> np.ndarray | FrameBatch:
    """The frames shown at the given times, in the order asked (repeats allowed).

    Args:
        source: As for `sample_frames`.
        timestamps: Seconds after the first frame, each in [0, duration); at most MAX_FRAMES.
        size: Output ``(width, height)``; None keeps the native size.
        mode: ``"exact"`` or ``"keyframe"`` (see `sample_frames`).
        timeout: As for `sample_frames`.
        with_timestamps: As for `sample_frames` (``sample_seconds`` are `timestamps`).

    Returns:
        uint8 array (len(timestamps), H, W, 3), RGB (with `with_timestamps`, in a `FrameBatch`).

    Raises:
        ValueError: Empty or too many `timestamps`, a time outside the video, a bad size or mode.
        VideoNotFoundError: The source does not exist.
        VideoTooLargeError: As for `sample_frames`.
        VideoDecodeError: Unreadable, not a video, no video stream, truncated before a time, or a
            remote time limit.
    """
    check_mode(mode)
    size = check_size(size)
    check_timeout(timeout)
    with open_video(source, timeout=timeout) as video:
        timing, out_size = _open_stream(video, size)
        times = check_timestamps(timestamps, timing.duration, video.label)
        what = f"{len(times)} timestamps, size={size}"
        pts: list[int] | None = [] if with_timestamps else None
        return _result(_fetch(video, timing, times, size, out_size, mode, what, pts=pts), pts, times, timing)


@overload
def sample_segments(
    source: VideoSource,
    segments: Sequence[tuple[float | None, float | None]],
    num_frames: int | None = ...,
    size: tuple[int, int] | None = ...,
    mode: str = ...,
    *,
    fps: float | None = ...,
    max_frames: int | None = ...,
    frame_stride: int | None = ...,
    progress: bool = ...,
    errors: Literal["raise"] = ...,
    timeout: float | None = ...,
) -> list[np.ndarray]: ...


@overload
def sample_segments(
    source: VideoSource,
    segments: Sequence[tuple[float | None, float | None]],
    num_frames: int | None = ...,
    size: tuple[int, int] | None = ...,
    mode: str = ...,
    *,
    fps: float | None = ...,
    max_frames: int | None = ...,
    frame_stride: int | None = ...,
    progress: bool = ...,
    errors: Literal["collect"],
    timeout: float | None = ...,
) -> list[SegmentResult]: ...


def sample_segments(
    source: VideoSource,
    segments: Sequence[tuple[float | None, float | None]],
    num_frames: int | None = None,
    size: tuple[int, int] | None = None,
    mode: str = "exact",
    *,
    fps: float | None = None,
    max_frames: int | None = None,
    frame_stride: int | None = None,
    progress: bool = False,
    errors: str = "raise",
    timeout: float | None = None,
) -> list[np.ndarray] | list[SegmentResult]:
    """Frames of many [start, end) segments of one video, in one pass.

    The container is opened once and all targets are decoded in time order, seeking only
    where that skips frames: dense segments (e.g. every clip of a LoVR video) cost about one
    forward decode, sparse ones one seek each. Element i equals
    ``sample_frames(source, num_frames, *segments[i], size=size, mode=mode, fps=fps,
    max_frames=max_frames, frame_stride=frame_stride)``; with `fps` / `frame_stride` segments of
    different lengths get different numbers of frames.

    With ``errors="collect"`` a failure is returned in place of the frames of the segment(s) it
    concerns, and the other segments still come back, each identical to a plain call:

    - the source cannot be opened or probed (missing, unreachable, not a video, no video
      stream, frames too large for native size): that one exception stands for every segment;
      nothing is retried;
    - a malformed span or one outside the video: a ValueError for that segment only, worded as
      `sample_frames` words it (without the raise mode's "segment n:" prefix);
    - the one-pass decode fails (e.g. a video truncated before some segment): each segment is
      then decoded on its own (one open each), so only the segments that really fail do; but
      not after a remote source ran past `timeout` (a `VideoTimeoutError`): that error then
      stands for every segment not yet decoded, so the call keeps one deadline.

    Only `DECODE_ERRORS` (VideoDecodeError, ValueError, OSError) are collected; any other
    exception is a bug and propagates. Bad sampling arguments, `size`, `mode`, `errors` or
    `timeout` raise in both modes: they would fail every segment of every video.

    Args:
        source: As for `sample_frames`.
        segments: (start, end) pairs in seconds; any order, overlaps allowed. A None bound means
            the start / end of the video, so (None, None) is the whole video.
        num_frames: Frames per segment (see `sample_frames`).
        size: Output ``(width, height)``; None keeps the native size.
        mode: ``"exact"`` or ``"keyframe"``.
        fps: Frames per second of video (see `sample_frames`).
        max_frames: Cap per segment for `fps` / `frame_stride`.
        frame_stride: Every S-th frame (see `sample_frames`).
        progress: Show a tqdm bar over the frames to decode.
        errors: ``"raise"`` (the first failure raises) or ``"collect"`` (see above).
        timeout: As for `sample_frames` (one deadline for the whole call).

    Returns:
        One uint8 array (T_i, H, W, 3) per segment, in the order given; with
        ``errors="collect"``, an exception instead of the array for each segment that failed.

    Raises:
        ValueError: Bad sampling arguments, size, mode, errors or timeout; with ``errors="raise"``
            also a malformed segment, start >= end or a segment outside the video (the message
            names the segment's position), too many frames, or more than MAX_OUTPUT_BYTES.
        VideoNotFoundError: The source does not exist (``errors="raise"`` only).
        VideoDecodeError: Unreadable, not a video, no video stream, frames too large, truncated
            before a segment, or a remote time limit (``errors="raise"`` only).
    """
    settings = decode_settings(
        num_frames, fps=fps, frame_stride=frame_stride, max_frames=max_frames, size=size, mode=mode, timeout=timeout
    )
    if errors not in ERROR_POLICIES:
        raise ValueError(f"errors must be one of {ERROR_POLICIES}, got {errors!r}")
    if errors == "collect":
        return collect_segments(source, segments, settings, progress)
    segments = list(segments)
    if not segments:
        return []
    sampling = settings.sampling
    with open_video(source, timeout=timeout) as video:
        timing, out_size = _open_stream(video, settings.size)
        per_segment: list[list[float]] = []
        for n, segment in enumerate(segments):
            try:
                seg_start, seg_end = segment
            except (TypeError, ValueError):
                raise ValueError(f"{video.label}: segment {n} must be (start, end), got {segment!r}") from None
            try:
                lo, hi = resolve_range(seg_start, seg_end, timing.duration, timing.fps, video.label)
                per_segment.append(sampling.timestamps(lo, hi, timing.fps))
            except ValueError as err:
                raise ValueError(f"segment {n}: {err}") from None
        times = [t for seg_times in per_segment for t in seg_times]
        frames = _fetch(video, timing, times, settings.size, out_size, mode, _describe(settings), progress)
    return _split(frames, [len(t) for t in per_segment])


def _split(frames: list[np.ndarray], counts: Sequence[int]) -> list[np.ndarray]:
    """Stack consecutive runs of `frames`, `counts[i]` frames for segment i."""
    out, k = [], 0
    for count in counts:
        out.append(np.stack(frames[k : k + count]))
        k += count
    return out


def _span(segment: object, timing: StreamTiming, label: str) -> tuple[float, float]:
    """A segment's [start, end) checked against the video, worded as `sample_frames` words it."""
    try:
        seg_start, seg_end = segment  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"{label}: a segment must be (start, end), got {segment!r}") from None
    return resolve_range(seg_start, seg_end, timing.duration, timing.fps, label)


def collect_segments(
    source: VideoSource,
    segments: Sequence[tuple[float | None, float | None]],
    settings: DecodeSettings,
    progress: bool = False,
) -> list[SegmentResult]:
    """``sample_segments(..., errors="collect")`` under settings validated by `decode_settings`."""
    segments = list(segments)
    if not segments:
        return []
    sampling, size, mode, timeout = settings.sampling, settings.size, settings.mode, settings.timeout
    results: list[SegmentResult | None] = [None] * len(segments)
    times: dict[int, list[float]] = {}
    opened = decoded = False
    # The call's time limit ran out: no segment is retried (each retry would wait it out again).
    timed_out: VideoTimeoutError | None = None
    try:
        with open_video(source, timeout=timeout) as video:
            timing, out_size = _open_stream(video, size)
            opened = True
            for n, segment in enumerate(segments):
                try:
                    lo, hi = _span(segment, timing, video.label)
                    times[n] = sampling.timestamps(lo, hi, timing.fps)
                except ValueError as err:
                    results[n] = err
            flat = [t for seg_times in times.values() for t in seg_times]
            try:
                what = _describe(settings)
                frames = _fetch(video, timing, flat, size, out_size, mode, what, progress) if flat else []
            except VideoTimeoutError as err:
                timed_out = err
            except DECODE_ERRORS:
                pass  # isolate the failing segment(s) below, each on its own
            else:
                for n, stacked in zip(times, _split(frames, [len(t) for t in times.values()])):
                    results[n] = stacked
                decoded = True
    except DECODE_ERRORS as err:
        if not opened:
            # The source itself is at fault: every segment shares this error, and retrying
            # each would only repeat the lookup (an HTTP round trip each for a remote source).
            return [err] * len(segments)
        # Otherwise closing failed after the decode: keep what was decoded.
    if not decoded:
        for n in times:
            if timed_out is not None:
                results[n] = timed_out
                continue
            start, end = segments[n]
            try:
                results[n] = _sample_one(source, settings, start, end)
            except DECODE_ERRORS as err:
                results[n] = err
                if isinstance(err, VideoTimeoutError):
                    timed_out = err
    return results  # type: ignore[return-value]  (every slot is filled above)
