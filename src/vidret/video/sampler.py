"""Public frame-sampling API: uniform samples, explicit times, and many segments of one video.

All functions return uint8 RGB arrays of shape (T, H, W, 3) in the order described, open the
container once per call (``with av.open(...)``), and share one definition of "the frame at t"
and of uniform sampling (see `vidret.video.timeline`). Hence `sample_segments` returns, for
each segment, exactly what `sample_frames` returns for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidret.video.decoder import FrameFetcher
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


def sample_segments(
    source: VideoSource,
    segments: Sequence[tuple[float, float]],
    num_frames: int = 8,
    size: tuple[int, int] | None = None,
    mode: str = "exact",
    *,
    progress: bool = False,
) -> list[np.ndarray]:
    """Uniform samples of many [start, end) segments of one video, in one pass.

    The container is opened once and all targets are decoded in time order, seeking only
    where that skips frames: dense segments (e.g. every clip of a LoVR video) cost about one
    forward decode, sparse ones one seek each. Element i equals
    ``sample_frames(source, num_frames, *segments[i], size=size, mode=mode)``.

    Args:
        source: As for `sample_frames`.
        segments: (start, end) pairs in seconds; any order, overlaps allowed.
        num_frames: Frames per segment, >= 1.
        size: Output ``(width, height)``; None keeps the native size.
        mode: ``"exact"`` or ``"keyframe"``.
        progress: Show a tqdm bar over the frames to decode.

    Returns:
        One uint8 array (num_frames, H, W, 3) per segment, in the order given.

    Raises:
        ValueError: A malformed segment, start >= end, a segment outside the video, bad
            num_frames, size or mode (the message names the segment's position).
        VideoNotFoundError: The source does not exist.
        VideoDecodeError: Unreadable, not a video, no video stream, or truncated before a segment.
    """
    check_num_frames(num_frames)
    check_mode(mode)
    size = check_size(size)
    segments = list(segments)
    if not segments:
        return []
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
