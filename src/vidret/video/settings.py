"""`DecodeSettings`: how frames are decoded (which, what size, which mode, what time limit), validated once.

Every sampling entry point (`sample_frames`, `sample_segments`, `sample_concatenated`) validates
its arguments with `decode_settings` and passes the result whole; so do the grouped segment
decoder (`vidret.video.segments`) and its callers, which build one for a whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vidret.video.source import check_timeout
from vidret.video.timeline import FrameSampling, check_mode, check_size, frame_sampling


@dataclass(frozen=True)
class DecodeSettings:
    """How every segment is decoded. Build it with `decode_settings`, which validates it.

    Attributes:
        sampling: Which frames of each segment (num_frames | fps | frame_stride, max_frames).
        size: Output ``(width, height)``, resized inside FFmpeg; None keeps the native size.
        mode: ``"exact"`` or ``"keyframe"``.
        timeout: Seconds allowed per remote video and group (None: the video layer's default).
    """

    sampling: FrameSampling
    size: tuple[int, int] | None = None
    mode: str = "exact"
    timeout: float | None = None


def decode_settings(
    num_frames: int | None = None,
    *,
    fps: float | None = None,
    frame_stride: int | None = None,
    max_frames: int | None = None,
    size: Sequence[int] | None = None,
    mode: str = "exact",
    timeout: float | None = None,
) -> DecodeSettings:
    """Validate decode settings once, with the checks (and messages) of `sample_frames`.

    Exactly one of `num_frames`, `fps`, `frame_stride` (none: 8 uniform frames); `max_frames`
    caps `fps` / `frame_stride`.

    Raises:
        ValueError: more than one of num_frames / fps / frame_stride, a value out of range, a bad
            size, mode or timeout (the message names the argument).
    """
    sampling = frame_sampling(num_frames, fps, max_frames, frame_stride)
    check_mode(mode)
    checked_size = check_size(size)
    check_timeout(timeout)
    return DecodeSettings(sampling, checked_size, mode, timeout)
