"""Remote sources: range-request streaming from a local HTTP server, and HTTP errors."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from vidret.video import VideoDecodeError, VideoNotFoundError, probe, sample_frames, sample_segments
from vidret.testing.rangeserver import serve_directory
from vidret.testing.synthetic import decode_frame_index, make_test_video
from vidret.video.timeline import uniform_timestamps
from video_helpers import frame_at


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A 60 s 320x180 video (GOP 2 s, ~7 MB) behind a Range-capable server on 127.0.0.1."""
    root = tmp_path_factory.mktemp("www")
    make_test_video(root / "clip one.mp4", 60.0, size=(320, 180), gop=60, crf=10)
    with serve_directory(root) as server:
        yield server, root / "clip one.mp4"


def test_exact_frames_over_http_read_a_fraction_of_the_file(served):
    server, path = served
    url = server.url(path.name)
    assert "%20" in url
    server.reset()
    frames = sample_frames(url, 4, size=(64, 64))
    assert [decode_frame_index(f) for f in frames] == [frame_at(t) for t in uniform_timestamps(0, 60, 4)]
    size = path.stat().st_size
    assert server.requests > 1  # range requests, not one download
    assert server.bytes_sent < 0.35 * size, (server.bytes_sent, size)


def test_keyframe_mode_and_segments_over_http(served):
    server, path = served
    url = server.url(path.name)
    server.reset()
    frames = sample_frames(url, 4, mode="keyframe")
    assert [decode_frame_index(f) for f in frames] == [frame_at(t) // 60 * 60 for t in uniform_timestamps(0, 60, 4)]
    assert server.bytes_sent < 0.25 * path.stat().st_size
    [a, b] = sample_segments(url, [(10.0, 11.0), (40.0, 42.0)], 2)
    assert [decode_frame_index(f) for f in a] == [307, 322] and [decode_frame_index(f) for f in b] == [1215, 1245]


def test_probe_over_http_reads_only_the_header(served):
    server, path = served
    server.reset()
    assert probe(server.url(path.name)).num_frames == 1800
    assert server.bytes_sent < 0.1 * path.stat().st_size


def test_http_not_found(served):
    server, _ = served
    with pytest.raises(VideoNotFoundError, match="missing.mp4: not found"):
        sample_frames(server.url("missing.mp4"), 2)


def test_unreachable_server(served):
    server, _ = served
    # a port nothing listens on: bind-and-close gives a free one
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/video.mp4"
    with pytest.raises(VideoDecodeError, match="cannot reach the server") as info:
        probe(url)
    assert url in str(info.value) and not isinstance(info.value, VideoNotFoundError)


def _get(server, path: str, headers: dict[str, str], method: str = "GET"):
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_range_server_semantics(served):
    server, path = served
    data = Path(path).read_bytes()
    quoted = server.url(path.name).removeprefix(server.base_url)
    response, body = _get(server, quoted, {"Range": "bytes=10-19"})
    assert response.status == 206 and body == data[10:20]
    assert response.getheader("Content-Range") == f"bytes 10-19/{len(data)}"
    response, body = _get(server, quoted, {"Range": "bytes=-5"})
    assert response.status == 206 and body == data[-5:]
    response, body = _get(server, quoted, {"Range": f"bytes={len(data) - 3}-"})
    assert body == data[-3:]
    response, _ = _get(server, quoted, {"Range": f"bytes={len(data)}-"})
    assert response.status == 416
    response, _ = _get(server, quoted, {"Range": "pages=1-2"})
    assert response.status == 416
    response, body = _get(server, quoted, {}, method="HEAD")
    assert response.status == 200 and body == b"" and int(response.getheader("Content-Length")) == len(data)
    response, _ = _get(server, "/../etc/passwd", {})
    assert response.status == 404


def test_hf_paths_go_through_fsspec_with_range_reads(small_file_fs):
    fs_class, opened, path = small_file_fs
    frames = sample_frames("hf://datasets/someone/videos/clip.mp4", 2)
    assert [decode_frame_index(f) for f in frames] == [15, 45]
    assert opened and opened[0]["cache_type"] == "readahead" and opened[0]["block_size"] > 0


@pytest.fixture
def small_file_fs(tmp_path, monkeypatch):
    """Stands in for huggingface_hub's `hf://` filesystem (no Hub here): serves a local file."""
    from fsspec.implementations.local import LocalFileSystem
    from fsspec.registry import _registry

    video = make_test_video(tmp_path / "clip.mp4", 2.0, size=(64, 48), gop=30)
    opened: list[dict] = []

    class FakeHub(LocalFileSystem):
        protocol = "hf"

        @classmethod
        def _strip_protocol(cls, path):
            return str(video)  # every hf:// path is this one video

        def _open(self, path, mode="rb", block_size=None, **kwargs):
            opened.append({"block_size": block_size, **kwargs})
            return super()._open(path, mode, block_size=block_size, **kwargs)

    monkeypatch.setitem(_registry, "hf", FakeHub)  # undone after the test
    return FakeHub, opened, video
