"""Video decoding for vidret: exact, fast frame sampling with PyAV from local or remote videos.

Public API::

    sample_frames(source, num_frames=None, start=None, end=None, size=None, mode="exact",
                  *, fps=None, max_frames=None, frame_stride=None, timeout=None)
        exactly one of num_frames (N uniform frames; default 8), fps (R per second) or
        frame_stride (every S-th frame); max_frames caps fps / frame_stride
    sample_frames_at(source, timestamps, size=None, mode="exact", *, timeout=None)
    sample_segments(source, segments, num_frames=None, size=None, mode="exact", *, fps=None,
                    max_frames=None, frame_stride=None, progress=False, errors="raise", timeout=None)
        (errors="collect": a failed segment yields its exception, the others their frames)
    frame_sampling(num_frames, fps, max_frames, frame_stride) -> FrameSampling (validated)
    probe(source) -> VideoInfo
    VideoDecodeError, VideoNotFoundError, VideoTooLargeError

Limits (documented in `vidret.video.timeline` and `vidret.video.source`): MAX_FRAMES samples per
segment, MAX_OUTPUT_BYTES per call, MAX_FRAME_PIXELS per frame at native size, and remote
sources bounded by `timeout` (DEFAULT_TIMEOUT_S). Which video references a dataset may make is
`vidret.video.containment`. Test videos that encode their own frame index live in
`vidret.testing.synthetic`.
"""

from vidret.video.errors import VideoDecodeError, VideoNotFoundError, VideoTooLargeError
from vidret.video.metadata import VideoInfo, probe
from vidret.video.sampler import DECODE_ERRORS, sample_frames, sample_frames_at, sample_segments
from vidret.video.source import VideoSource, open_video
from vidret.video.timeline import FrameSampling, frame_sampling, uniform_timestamps

__all__ = [
    "DECODE_ERRORS",
    "FrameSampling",
    "VideoDecodeError",
    "VideoInfo",
    "VideoNotFoundError",
    "VideoSource",
    "VideoTooLargeError",
    "frame_sampling",
    "open_video",
    "probe",
    "sample_frames",
    "sample_frames_at",
    "sample_segments",
    "uniform_timestamps",
]
