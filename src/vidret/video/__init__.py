"""Video decoding for vidret: exact, fast frame sampling with PyAV from local or remote videos.

Public API::

    sample_frames(source, num_frames=None, start=None, end=None, size=None, mode="exact",
                  *, fps=None, max_frames=None, frame_stride=None, timeout=None, with_timestamps=False)
        exactly one of num_frames (N uniform frames; default 8), fps (R per second) or
        frame_stride (every S-th frame); max_frames caps fps / frame_stride
    sample_frames_at(source, timestamps, size=None, mode="exact", *, timeout=None, with_timestamps=False)
        (with_timestamps=True: a FrameBatch with .data, .pts_seconds per frame, .sample_seconds)
    sample_segments(source, segments, num_frames=None, size=None, mode="exact", *, fps=None,
                    max_frames=None, frame_stride=None, progress=False, errors="raise", timeout=None)
        (errors="collect": a failed segment yields its exception, the others their frames)
    frame_sampling(num_frames, fps, max_frames, frame_stride) -> FrameSampling (validated)
    probe(source) -> VideoInfo
    decode_settings(num_frames=None, *, fps=None, frame_stride=None, max_frames=None, size=None,
                    mode="exact", timeout=None) -> DecodeSettings (validated)
    group_segments(segments) -> groups by source file, ordered by start (<= MAX_SEGMENTS_PER_GROUP)
    decode_group(group, settings) -> [SegmentFrames(segment, frames | None, error | None)]
    decode_segments(segments, settings) -> the same for any segments, in the order given
        (the grouped segment decoder of `vidret.video.segments`, used by `vidret.datasets.with_frames`
        and the evaluation runner; segments are `VideoSegment(source, start, end, name)` or alike)
    sample_concatenated(parts, num_frames=None, size=None, mode="exact", *, fps=None, max_frames=None,
                        frame_stride=None, timeout=None)
        the frames of (source, start, end) parts joined end to end, sampled as one video (a stride
        runs on across part boundaries: a LoVR full video as the official scripts read its clips);
        decode_concatenated(segment, settings) -> SegmentFrames for a segment with such ``parts``
    VideoDecodeError, VideoNotFoundError, VideoTooLargeError

Limits (documented in `vidret.video.timeline` and `vidret.video.source`): MAX_FRAMES samples per
segment, MAX_OUTPUT_BYTES per call, MAX_FRAME_PIXELS per frame at native size, and remote
sources bounded by `timeout` ($VIDRET_HTTP_TIMEOUT, else DEFAULT_TIMEOUT_S). Which video
references a dataset may make is `vidret.video.containment`. Test videos that encode their own
frame index live in `vidret.testing.synthetic`.
"""

from vidret.video.batch import FrameBatch
from vidret.video.concat import decode_concatenated, sample_concatenated
from vidret.video.errors import VideoDecodeError, VideoNotFoundError, VideoTooLargeError
from vidret.video.metadata import VideoInfo, probe
from vidret.video.sampler import DECODE_ERRORS, sample_frames, sample_frames_at, sample_segments
from vidret.video.segments import (
    MAX_SEGMENTS_PER_GROUP,
    DecodeSettings,
    SegmentFrames,
    VideoSegment,
    decode_group,
    decode_segments,
    decode_settings,
    group_segments,
)
from vidret.video.source import VideoSource, open_video
from vidret.video.timeline import FrameSampling, frame_sampling, uniform_timestamps

__all__ = [
    "DECODE_ERRORS",
    "MAX_SEGMENTS_PER_GROUP",
    "DecodeSettings",
    "FrameBatch",
    "FrameSampling",
    "SegmentFrames",
    "VideoDecodeError",
    "VideoInfo",
    "VideoNotFoundError",
    "VideoSource",
    "VideoSegment",
    "VideoTooLargeError",
    "decode_concatenated",
    "decode_group",
    "decode_segments",
    "decode_settings",
    "frame_sampling",
    "group_segments",
    "open_video",
    "probe",
    "sample_frames",
    "sample_concatenated",
    "sample_frames_at",
    "sample_segments",
    "uniform_timestamps",
]
