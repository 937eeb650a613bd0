"""Every bad input gives a clear VideoDecodeError / ValueError naming the source and the problem."""

from __future__ import annotations

import io
from fractions import Fraction
from types import SimpleNamespace

import av
import pytest

from vidret.video import (
    VideoDecodeError,
    VideoNotFoundError,
    probe,
    sample_frames,
    sample_frames_at,
    sample_segments,
)
from vidret.video import metadata as metadata_module
from vidret.video.decoder import FrameFetcher
from vidret.video.metadata import StreamTiming, stream_timing
from vidret.testing.synthetic import (
    decode_frame_index,
    make_audio_only,
    make_corrupt_video,
    make_not_a_video,
    make_test_video,
    truncate_video,
)
from vidret.video.timeline import resolve_range, uniform_timestamps
from video_helpers import small_video, video_dir  # noqa: F401  (fixtures)

ALL_CALLS = [
    lambda src: probe(src),
    lambda src: sample_frames(src, 2),
    lambda src: sample_frames_at(src, [0.5]),
    lambda src: sample_segments(src, [(0.0, 1.0)], 2),
]


@pytest.mark.parametrize("call", ALL_CALLS)
def test_missing_file(tmp_path, call):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(VideoNotFoundError, match="nope.mp4: no such file") as info:
        call(missing)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, VideoDecodeError)


@pytest.mark.parametrize("call", ALL_CALLS)
def test_not_a_video(tmp_path, call):
    path = make_not_a_video(tmp_path / "text.mp4")
    with pytest.raises(VideoDecodeError, match=r"text\.mp4: not a readable video"):
        call(path)


def test_corrupt_header(tmp_path):
    path = make_corrupt_video(tmp_path / "corrupt.mp4")
    with pytest.raises(VideoDecodeError, match=r"corrupt\.mp4: not a readable video"):
        sample_frames(path, 2)


def test_no_video_stream(tmp_path):
    path = make_audio_only(tmp_path / "audio.mp4")
    with pytest.raises(VideoDecodeError, match=r"audio\.mp4: has no video stream \(streams: audio\)"):
        sample_frames(path, 2)


def test_directory(tmp_path):
    with pytest.raises(VideoDecodeError, match="is a directory"):
        probe(tmp_path)


def test_truncated_video_returns_readable_part_and_names_the_cut(tmp_path, small_video):
    cut = truncate_video(small_video, tmp_path / "cut.mp4", 0.5)
    assert [decode_frame_index(f) for f in sample_frames(cut, 4, 0.0, 4.0)] == [15, 45, 75, 105]
    for call in (
        lambda: sample_frames(cut, 4),
        lambda: sample_frames(cut, 4, mode="keyframe"),
        lambda: sample_frames_at(cut, [1.0, 18.0]),
        lambda: sample_segments(cut, [(0.0, 1.0), (15.0, 16.0)], 2),
    ):
        with pytest.raises(VideoDecodeError, match=r"cut\.mp4: no frame at .* truncated or corrupt"):
            call()


def test_truncated_to_nothing(tmp_path, small_video):
    cut = truncate_video(small_video, tmp_path / "stub.mp4", 0.001)
    with pytest.raises(VideoDecodeError, match=r"stub\.mp4"):
        sample_frames(cut, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_frames=0), "num_frames must be an integer >= 1"),
        (dict(num_frames=-3), "num_frames must be an integer >= 1"),
        (dict(num_frames=2.5), "num_frames must be an integer >= 1"),
        (dict(num_frames=True), "num_frames must be an integer >= 1"),
        (dict(start=5.0, end=5.0), r"start \(5.0\) must be < end \(5.0\)"),
        (dict(start=6.0, end=2.0), r"start \(6.0\) must be < end"),
        (dict(start=-1.0), "before the beginning"),
        (dict(end=25.0), "past the end of the video"),
        (dict(start=20.0), "past the end of the video"),
        (dict(start=float("nan")), "start must be a finite number of seconds"),
        (dict(end="late"), "end must be a number of seconds, got 'late'"),
        (dict(size=(64,)), r"size must be \(width, height\)"),
        (dict(size=5), r"size must be \(width, height\)"),
        (dict(size=(0, 64)), "two positive integers"),
        (dict(size=(64.0, 64)), "two positive integers"),
        (dict(mode="fast"), "mode must be one of"),
    ],
)
def test_bad_sample_frames_arguments(small_video, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_frames(small_video, **kwargs)


@pytest.mark.parametrize(
    "timestamps, match",
    [
        ([], "no timestamps"),
        ([1.0, 20.0], r"timestamp 20.0 s is outside the video \[0, 20.000\)"),
        ([-0.1], "outside the video"),
        ([float("nan")], "timestamp 0 must be a finite number"),
        ([1.0, None], "timestamp 1 must be a number of seconds, got None"),
    ],
)
def test_bad_timestamps(small_video, timestamps, match):
    with pytest.raises(ValueError, match=match) as info:
        sample_frames_at(small_video, timestamps)
    if timestamps:
        assert "small.mp4" in str(info.value)


@pytest.mark.parametrize(
    "segments, match",
    [
        ([(0.0, 1.0), (2.0,)], r"segment 1 must be \(start, end\)"),
        ([(0.0, 1.0), 7], r"segment 1 must be \(start, end\)"),
        ([(3.0, 3.0)], r"segment 0: .*start \(3.0\) must be < end"),
        ([(0.0, 1.0), (19.0, 21.0)], "segment 1: .*past the end"),
    ],
)
def test_bad_segments(small_video, segments, match):
    with pytest.raises(ValueError, match=match):
        sample_segments(small_video, segments, 2)


def test_segments_validate_num_frames_and_mode(small_video):
    with pytest.raises(ValueError, match="num_frames"):
        sample_segments(small_video, [(0.0, 1.0)], 0)
    with pytest.raises(ValueError, match="mode"):
        sample_segments(small_video, [(0.0, 1.0)], mode="nearest")
    with pytest.raises(ValueError, match="size"):
        sample_frames_at(small_video, [1.0], size=(1, 2, 3))
    with pytest.raises(ValueError, match="mode"):
        sample_frames_at(small_video, [1.0], mode="")


def test_unsupported_and_unseekable_sources():
    with pytest.raises(ValueError, match="unsupported video source"):
        sample_frames(12345, 2)

    class Pipe(io.RawIOBase):
        def readable(self):
            return True

        def seekable(self):
            return False

    with pytest.raises(ValueError, match="must be seekable"):
        probe(Pipe())


def test_file_object_that_fails_to_read():
    class Failing(io.RawIOBase):
        def readable(self):
            return True

        def seekable(self):
            return True

        def seek(self, offset, whence=0):
            return 0

        def readinto(self, buffer):
            raise OSError("disk on fire")

    with pytest.raises(VideoDecodeError, match="cannot read: OSError: disk on fire"):
        probe(Failing())


def test_unknown_url_protocol():
    with pytest.raises(VideoDecodeError, match="nosuchproto://x/v.mp4: cannot open remote video"):
        probe("nosuchproto://x/v.mp4")


def test_stream_without_rate_and_unknown_duration(small_video, monkeypatch):
    stream = SimpleNamespace(time_base=None, average_rate=None, guessed_rate=None, base_rate=None)
    with pytest.raises(VideoDecodeError, match="my.mp4: video stream has no time base or frame rate"):
        stream_timing(SimpleNamespace(duration=None), stream, "my.mp4")
    stream = SimpleNamespace(
        time_base=Fraction(1, 90000), average_rate=Fraction(25), guessed_rate=None, base_rate=None, start_time=None, duration=None
    )
    timing = stream_timing(SimpleNamespace(duration=None), stream, "my.mp4")
    assert timing.duration is None and timing.start_pts == 0 and timing.fps == 25.0

    monkeypatch.setattr(metadata_module, "stream_timing", lambda *a: StreamTiming(Fraction(1, 30), 0, None, 30.0))
    with pytest.raises(VideoDecodeError, match="duration unknown"):
        probe(small_video)
    with pytest.raises(ValueError, match="duration is unknown; pass an explicit end"):
        resolve_range(None, None, None, 30.0, "my.mp4")
    assert resolve_range(1.0, 2.0, None, 30.0, "my.mp4") == (1.0, 2.0)


def _fetcher(container=None) -> FrameFetcher:
    stream = SimpleNamespace(index_entries=[])
    return FrameFetcher(container, stream, StreamTiming(Fraction(1, 30), 0, 10.0, 30.0), "fake.mp4")


def test_frame_without_timestamp():
    with pytest.raises(VideoDecodeError, match="fake.mp4: decoded a frame without a timestamp"):
        _fetcher()._pts(SimpleNamespace(pts=None, dts=None))


def test_seek_failure():
    def seek(*args, **kwargs):
        raise av.error.InvalidDataError(1094995529, "seek exploded")

    fetcher = _fetcher(SimpleNamespace(seek=seek))
    with pytest.raises(VideoDecodeError, match=r"fake.mp4: seek to 2.000 s failed"):
        fetcher.exact([60])


@pytest.mark.parametrize("mode", ["exact", "keyframe"])
def test_video_decode_error_from_fake_empty_stream(mode):
    container = SimpleNamespace(seek=lambda *a, **k: None, demux=lambda stream: iter(()))
    with pytest.raises(VideoDecodeError, match="fake.mp4: no frame at 1.000 s: .*no frame could be decoded there"):
        getattr(_fetcher(container), mode)([30])


def test_uniform_timestamps_rejects_an_empty_range():
    with pytest.raises(ValueError, match=r"start \(2.0\) must be < end \(1.0\)"):
        uniform_timestamps(2.0, 1.0, 4)
    with pytest.raises(ValueError, match="num_frames"):
        uniform_timestamps(0.0, 1.0, 0)


def test_remote_connection_failure_other_than_not_found(monkeypatch):
    from fsspec.implementations.memory import MemoryFileSystem
    from fsspec.registry import _registry

    class Down(MemoryFileSystem):
        protocol = "down"

        def _open(self, path, mode="rb", **kwargs):
            raise RuntimeError("request failed") from TimeoutError("timed out after 10 s")

    monkeypatch.setitem(_registry, "down", Down)
    with pytest.raises(VideoDecodeError, match="down://host/v.mp4: cannot reach the server: TimeoutError: timed out"):
        probe("down://host/v.mp4")


def test_make_test_video_bad_codec(tmp_path):
    with pytest.raises((ValueError, av.error.FFmpegError)):
        make_test_video(tmp_path / "x.mp4", 1.0, codec="no-such-codec")
