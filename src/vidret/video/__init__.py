"""Video decoding for vidret: exact, fast frame sampling with PyAV from local or remote videos.

Public API::

    sample_frames(source, num_frames=8, start=None, end=None, size=None, mode="exact")
    sample_frames_at(source, timestamps, size=None, mode="exact")
    sample_segments(source, segments, num_frames=8, size=None, mode="exact", errors="raise")
        (errors="collect": a failed segment yields its exception, the others their frames)
    probe(source) -> VideoInfo
    VideoDecodeError, VideoNotFoundError

Test videos that encode their own frame index live in `vidret.video.synthetic`.
"""

from vidret.video.errors import VideoDecodeError, VideoNotFoundError
from vidret.video.metadata import VideoInfo, probe
from vidret.video.sampler import DECODE_ERRORS, sample_frames, sample_frames_at, sample_segments
from vidret.video.source import VideoSource, open_video
from vidret.video.timeline import uniform_timestamps

__all__ = [
    "DECODE_ERRORS",
    "VideoDecodeError",
    "VideoInfo",
    "VideoNotFoundError",
    "VideoSource",
    "open_video",
    "probe",
    "sample_frames",
    "sample_frames_at",
    "sample_segments",
    "uniform_timestamps",
]
