"""Exceptions raised by `vidret.video`."""

from __future__ import annotations


class VideoDecodeError(Exception):
    """A video could not be opened or decoded.

    The message names the source and what was wrong (missing file, unreachable URL, not a
    video, no video stream, truncated or corrupt data).
    """


class VideoNotFoundError(VideoDecodeError, FileNotFoundError):
    """The video source does not exist (missing local file, HTTP 404, missing Hub file).

    Also a `FileNotFoundError`, so callers may catch either.
    """


class VideoTooLargeError(VideoDecodeError):
    """A video's frames exceed the size vidret decodes at native resolution.

    See `vidret.video.timeline.MAX_FRAME_PIXELS`; passing an output ``size`` lifts the limit
    (FFmpeg then resizes each frame as it is converted).
    """


class VideoTimeoutError(VideoDecodeError):
    """A remote video ran past its time limit (`timeout`, see `vidret.video.source`).

    Retrying the same source at once would wait as long again, so `sample_segments` does not.
    """
