"""Hostile inputs end quickly with a VideoDecodeError naming the source, never a raw exception,
an endless loop or unbounded reads: failing servers, misbehaving file objects, truncated and
damaged data, and containers without an MP4-style index (MPEG-TS seeks land late or nowhere).
"""

from __future__ import annotations

import io
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from vidret.video import VideoDecodeError, probe, sample_frames, sample_frames_at, sample_segments
from vidret.testing.synthetic import decode_frame_index, make_test_video, truncate_video
from vidret.video.timeline import resolve_range
from video_helpers import frame_at, small_video, video_dir  # noqa: F401  (fixtures)

#: Wall-clock bound for one hostile call (the machine is shared; normal calls take < 0.1 s).
CALL_LIMIT_S = 20


@contextmanager
def time_limit(seconds: int = CALL_LIMIT_S) -> Iterator[None]:
    """Fail the test (instead of hanging it) if the block runs longer than `seconds`."""

    def expire(signum, frame):
        raise TimeoutError(f"call ran longer than {seconds} s: an endless loop?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class CountingFile(io.RawIOBase):
    """A seekable in-memory file that counts the bytes it hands out."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def tell(self) -> int:
        return self.buffer.tell()

    def readinto(self, target) -> int:
        data = self.buffer.read(len(target))
        target[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


class Endless(CountingFile):
    """Reports its real size but never reaches the end: zeros follow the data forever."""

    def readinto(self, target) -> int:
        count = super().readinto(target)
        if count == 0:
            target[:] = bytes(len(target))
            self.bytes_read += len(target)
            count = len(target)
        return count


class TooMuch(CountingFile):
    def read(self, size: int = -1) -> bytes:
        return self.buffer.read(size) + b"\0" * 16


class NotBytes(CountingFile):
    def read(self, size: int = -1):
        return None


class SeekFails(CountingFile):
    def seek(self, offset: int, whence: int = 0) -> int:
        if offset > 0:
            raise ValueError("seek is broken")
        return super().seek(offset, whence)


class TellFails(CountingFile):
    def tell(self) -> int:
        raise RuntimeError("no position")


@pytest.mark.parametrize(
    "make, message",
    [
        (TooMuch, r"file object's read\(\d+\) returned \d+ bytes"),
        (NotBytes, "file object's read\\(\\) returned NoneType, not bytes"),
        (SeekFails, "cannot seek: ValueError: seek is broken"),
        (TellFails, "cannot seek: RuntimeError: no position"),
        (Endless, "returned data past the end its seek\\(\\) reported"),
    ],
)
def test_misbehaving_file_objects_fail_clearly_and_quickly(small_video, make, message):
    # the first half of the video: the request below needs data past its end
    data = small_video.read_bytes()[: small_video.stat().st_size // 2]
    handle = make(data)
    with time_limit(), pytest.raises(VideoDecodeError, match=message) as info:
        sample_frames(handle, 4, 15.0, 19.0)
    assert f"<file object {make.__name__}>" in str(info.value)
    assert handle.bytes_read <= 2 * len(data)


def test_a_source_that_never_ends_is_not_read_forever(video_dir):
    # MPEG-TS demuxers resynchronise on garbage, so zeros after the data are scanned forever
    # unless the reader stops at the size the object reported.
    path = make_test_video(video_dir / "endless.ts", 2.0, size=(64, 48), gop=30, container_format="mpegts")
    data = path.read_bytes()
    for mode in ("exact", "keyframe"):
        handle = Endless(data[: len(data) // 2])
        with time_limit(), pytest.raises(VideoDecodeError, match="past the end its seek"):
            sample_frames(handle, 4, 0.0, 1.9, mode=mode)
        assert handle.bytes_read <= len(data) + 2**20


def test_short_reads_still_give_exact_frames(small_video):
    class Dribble(CountingFile):
        def readinto(self, target) -> int:
            return super().readinto(memoryview(target)[:777])

    frames = sample_frames(Dribble(small_video.read_bytes()), 4)
    assert [decode_frame_index(f) for f in frames] == [75, 225, 375, 525]


@pytest.mark.parametrize("container_format", ["mp4", "mpegts"])
def test_truncated_and_damaged_videos_end_quickly_with_bounded_reads(video_dir, container_format):
    source = make_test_video(video_dir / f"whole.{container_format}", 6.0, size=(64, 48), gop=30,
                             container_format=container_format)
    data = source.read_bytes()
    rng = np.random.default_rng(7)
    damaged = bytearray(data)
    for at in rng.integers(len(data) // 4, len(data), 8):
        damaged[at : at + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    variants = [data[: int(len(data) * f)] for f in (0.02, 0.3, 0.6, 0.95)] + [bytes(damaged)]
    calls = [
        lambda f: sample_frames(f, 8),
        lambda f: sample_frames(f, 8, mode="keyframe"),
        lambda f: sample_segments(f, [(s * 0.25, s * 0.25 + 0.5) for s in range(22)], 2),
    ]
    outcomes = set()
    for variant in variants:
        for call in calls:
            handle = CountingFile(variant)
            with time_limit():
                try:
                    call(handle)
                    outcomes.add("frames")
                except (VideoDecodeError, ValueError) as err:  # a cut TS also reports a shorter duration
                    assert "<file object CountingFile>" in str(err)
                    outcomes.add("error")
            # each call reads the file a bounded number of times, however broken it is
            assert handle.bytes_read <= 12 * len(variant) + 2**20
    assert outcomes == {"frames", "error"}


class _Flaky(BaseHTTPRequestHandler):
    """Serves `data`; the path picks how it misbehaves after the first request."""

    protocol_version = "HTTP/1.1"
    data = b""
    requests = 0

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", str(len(self.data)))
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        type(self).requests += 1
        mode = self.path.strip("/").split(".")[0]
        if mode == "error500" and self.requests > 1:
            self.send_response(HTTPStatus.INTERNAL_SERVER_ERROR)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, stop = 0, len(self.data)
        header = self.headers.get("Range")
        ranged = header is not None and mode != "norange"
        if ranged:
            first, last = header.split("=")[1].split("-")
            start, stop = int(first), min(len(self.data), int(last) + 1) if last else len(self.data)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if ranged else HTTPStatus.OK)
        self.send_header("Content-Length", str(stop - start))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(self.data)}")
        self.end_headers()
        body = self.data[start:stop]
        if mode == "hangup" and self.requests > 1:
            body = body[: len(body) // 2]  # then close: fewer bytes than Content-Length
            self.close_connection = True
        try:
            self.wfile.write(body)
        except OSError:
            pass


@pytest.fixture(scope="module")
def flaky_server(video_dir):
    _Flaky.data = make_test_video(video_dir / "flaky.mp4", 20.0, size=(160, 96), gop=30, crf=10).read_bytes()
    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            pass  # the client resets connections the handler hung up on: expected here

    server = QuietServer(("127.0.0.1", 0), _Flaky)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "mode, cause",
    [
        ("norange", "ValueError: The HTTP server doesn't appear to support range requests"),
        ("error500", "ClientResponseError: 500"),
        ("hangup", "ClientPayloadError"),
    ],
)
def test_http_failures_while_reading_name_the_url(flaky_server, mode, cause):
    _Flaky.requests = 0
    url = f"{flaky_server}/{mode}.mp4"
    with time_limit(), pytest.raises(VideoDecodeError) as info:
        sample_frames(url, 4)
    assert str(info.value).startswith(f"{url}: cannot read: ") and cause in str(info.value)


def test_mpegts_seeks_that_land_late_or_nowhere_stay_exact(video_dir):
    # MPEG-TS has no index: a seek to the first frame lands on the second keyframe, and one
    # near the end lands past the last keyframe (nothing to decode). Both must still be exact.
    path = make_test_video(video_dir / "stream.ts", 4.0, size=(64, 48), gop=30, container_format="mpegts")
    times = [(i + 0.5) / 30 for i in range(120)]
    assert [decode_frame_index(f) for f in sample_frames_at(path, times)] == list(range(120))
    for i in (0, 1, 59, 90, 118, 119):  # one call each: every seek starts cold
        assert decode_frame_index(sample_frames_at(path, [times[i]])[0]) == i
    keyframes = [decode_frame_index(f) for f in sample_frames_at(path, times[::7], mode="keyframe")]
    assert all(k % 30 == 0 and 0 <= i - k < 60 for k, i in zip(keyframes, range(0, 120, 7))), keyframes


def test_explicit_end_must_be_finite_when_duration_is_unknown():
    with pytest.raises(ValueError, match="v.mp4: end must be a finite number of seconds, got inf"):
        resolve_range(0.0, float("inf"), None, 30.0, "v.mp4")


def test_probe_through_a_guarded_file_object(small_video):
    with open(small_video, "rb") as handle:
        handle.seek(123)
        assert probe(handle).num_frames == 600
