"""Container metadata: duration, frame rate, frame count, size and codec of a video."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from vidret.video.errors import VideoDecodeError
from vidret.video.source import VideoSource, open_video


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` reports about a video's first video stream.

    Attributes:
        duration: Length in seconds, from the first frame's start to the last frame's end.
        fps: Average frame rate (frames per second).
        num_frames: Frame count from the container, or ``round(duration * fps)`` when the
            container does not store one.
        width: Frame width in pixels.
        height: Frame height in pixels.
        codec: FFmpeg codec name, e.g. ``"h264"``.
    """

    duration: float
    fps: float
    num_frames: int
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class StreamTiming:
    """Exact timing of a stream in its own time base (used by the sampler).

    Attributes:
        time_base: Seconds per pts tick.
        start_pts: pts of the first frame; sampler times are seconds after it.
        duration: Length in seconds (None when neither stream nor container knows it).
        fps: Average frame rate.
    """

    time_base: Fraction
    start_pts: int
    duration: float | None
    fps: float

    def to_pts(self, seconds: float) -> int:
        """pts of the frame interval containing `seconds` (relative to the first frame).

        Containers store timestamps rounded to their time base (Matroska: whole milliseconds, so
        frame 14 of a 30 fps video is stored at 467 ms, not 466.67), and the first frame's pts
        is rounded too: a frame's stored start may lie up to one tick after the time computed
        for it from the first frame. So a time less than one tick before a frame's stored start
        counts as that frame; rate sampling (``frame_stride=1`` = every frame) depends on it.
        A time on a tick stays on it (and absorbs float error such as 10/30 s landing just
        below). The tolerance stays below a quarter of a frame interval for time bases as coarse
        as the frame rate (AVI: one tick per frame), whose timestamps are exact.
        """
        ticks = seconds / float(self.time_base)
        tolerance = min(1.0 - 1e-6, 1.0 / (4.0 * self.fps * float(self.time_base)))
        return self.start_pts + math.floor(ticks + tolerance)

    def to_seconds(self, pts: int) -> float:
        """Seconds of `pts` after the first frame."""
        return float((pts - self.start_pts) * self.time_base)


def stream_timing(container: Any, stream: Any, label: str) -> StreamTiming:
    """Read the timing of an open video stream.

    The duration is the stream's own when it has one (MP4, MPEG-TS). Otherwise it comes from
    the container's header (Matroska/WebM, FLV, NUT), which states where the file ends on its
    timeline, counted from time 0 rather than from the first frame: a Matroska video whose first
    frame is at 0.167 s and that lasts 2 s has a header duration of 2.167 s. The time before the
    first frame is therefore subtracted (`_length_after_start`).

    Raises:
        VideoDecodeError: If the stream has no time base or frame rate.
    """
    time_base = stream.time_base
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not time_base or not rate:
        raise VideoDecodeError(f"{label}: video stream has no time base or frame rate")
    start_pts = stream.start_time if stream.start_time is not None else 0
    duration: float | None = None
    if stream.duration:
        duration = float(stream.duration * time_base)
    elif container.duration:
        import av

        duration = _length_after_start(container.duration / av.time_base, float(start_pts * time_base))
    return StreamTiming(Fraction(time_base), int(start_pts), duration, float(rate))


def _length_after_start(header_end: float, first_frame: float) -> float:
    """Seconds from the first frame to the end, given a header's duration (an end time from 0).

    Matroska's Duration is where its last frame ends, on a timeline that starts at 0; FFmpeg's
    FLV and NUT writers also count from 0 (NUT to the last frame's start, one frame short).
    Should a header hold a length from the first frame instead, one shorter than the first
    frame's time cannot be an end time, and is kept as a length.
    """
    length = header_end - max(first_frame, 0.0)
    return length if length > 0 else header_end


def probe(source: VideoSource, *, timeout: float | None = None) -> VideoInfo:
    """Read a video's metadata without decoding frames.

    Args:
        source: Anything `vidret.video.source.open_video` accepts (path, URL, ``hf://``, file
            object, bytes).
        timeout: Seconds allowed for a remote source (see `vidret.video.source.open_video`).

    Returns:
        A `VideoInfo`.

    Raises:
        VideoNotFoundError: The source does not exist.
        VideoDecodeError: It cannot be opened as a video, has no video stream, its duration
            is unknown, or a remote source timed out.
        ValueError: A bad timeout.
    """
    with open_video(source, timeout=timeout) as video:
        timing = stream_timing(video.container, video.stream, video.label)
        if timing.duration is None:
            raise VideoDecodeError(f"{video.label}: duration unknown (no stream or container duration)")
        ctx = video.stream.codec_context
        num_frames = video.stream.frames or round(timing.duration * timing.fps)
        return VideoInfo(
            duration=timing.duration,
            fps=timing.fps,
            num_frames=int(num_frames),
            width=int(ctx.width),
            height=int(ctx.height),
            codec=str(ctx.name),
        )
