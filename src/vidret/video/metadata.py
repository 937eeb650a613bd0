"""Container metadata: duration, frame rate, frame count, size and codec of a video."""

from __future__ import annotations

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
        """pts of the frame interval containing `seconds` (relative to the first frame)."""
        # The tiny epsilon keeps float error (e.g. 10/30 s) from landing one tick early.
        ticks = seconds / float(self.time_base) + 1e-6
        return self.start_pts + int(ticks // 1)

    def to_seconds(self, pts: int) -> float:
        """Seconds of `pts` after the first frame."""
        return float((pts - self.start_pts) * self.time_base)


def stream_timing(container: Any, stream: Any, label: str) -> StreamTiming:
    """Read the timing of an open video stream.

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

        duration = container.duration / av.time_base
    return StreamTiming(Fraction(time_base), int(start_pts), duration, float(rate))


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
