"""``$VIDRET_HTTP_TIMEOUT`` sets the remote time limit of the library's calls, not only the CLI's
(issue 20, section 3): read at each call when no ``timeout=`` is passed, as huggingface_hub's
functions read ``HF_HUB_*``. A local server that hangs (`vidret.testing.rangeserver`) shows
which limit applied: the default (60 s) would wait the hang out and succeed.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from vidret.testing.rangeserver import serve_directory
from vidret.testing.synthetic import decode_frame_index, make_test_video
from vidret.video import probe, sample_frames, sample_frames_at, sample_segments
from vidret.video.errors import VideoTimeoutError
from vidret.video.source import DEFAULT_TIMEOUT_S, TIMEOUT_ENV, check_timeout, remote_exists, timeout_from_env

HANG_S = 2.0  # each request waits this long: well past the 0.3 s set below, far below 60 s
LIMIT = "0.3"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    make_test_video(root / "v.mp4", 2.0, size=(64, 64), gop=30)
    with serve_directory(root) as running:
        yield running


@pytest.fixture
def hanging(server, monkeypatch):
    """The server hangs on every request; the variable (set after vidret was imported) says 0.3 s."""
    monkeypatch.setenv(TIMEOUT_ENV, LIMIT)
    server.reset()
    server.stall_s = HANG_S
    yield server
    server.reset()


def _fails_fast(call) -> str:
    started = time.monotonic()
    with pytest.raises(VideoTimeoutError) as info:
        call()
    assert time.monotonic() - started < HANG_S
    return str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda url: probe(url),
        lambda url: sample_frames(url, 4),
        lambda url: sample_frames(url, fps=2),
        lambda url: sample_frames_at(url, [0.5]),
        lambda url: sample_segments(url, [(0.0, 1.0), (1.0, 2.0)], 2),
    ],
    ids=["probe", "sample_frames", "sample_frames_fps", "sample_frames_at", "sample_segments"],
)
def test_the_library_default_follows_the_variable(hanging, call):
    message = _fails_fast(lambda: call(hanging.url("v.mp4")))
    assert f"within {float(LIMIT):g} s" in message and TIMEOUT_ENV in message


def test_collected_segment_errors_follow_the_variable(hanging):
    results = sample_segments(hanging.url("v.mp4"), [(0.0, 1.0), (1.0, 2.0)], 2, errors="collect")
    assert all(isinstance(r, VideoTimeoutError) and "within 0.3 s" in str(r) for r in results)


def test_with_frames_follows_the_variable(hanging):
    datasets = pytest.importorskip("datasets")
    from vidret.datasets import with_frames

    ds = datasets.Dataset.from_list([{"video": "v.mp4"}])
    framed = with_frames(ds, num_frames=2, size=(64, 64), video_root=hanging.base_url)
    started = time.monotonic()
    row = framed[0]
    assert time.monotonic() - started < HANG_S
    assert row["frames"] is None and row["decode_error"].startswith("VideoTimeoutError")
    assert "within 0.3 s" in row["decode_error"]


def test_remote_existence_checks_follow_the_variable(hanging):
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        remote_exists(hanging.url("v.mp4"))
    assert time.monotonic() - started < HANG_S
    assert "Timeout" in type(info.value).__name__


def test_an_explicit_timeout_wins_over_the_variable(server, monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, LIMIT)
    server.reset()
    server.stall_s = 0.5  # past the variable's 0.3 s, within the 10 s passed
    try:
        frames = sample_frames(server.url("v.mp4"), 2, timeout=10)
    finally:
        server.reset()
    assert [decode_frame_index(f) for f in frames] == [15, 45]


def test_the_variable_is_read_at_each_call(monkeypatch):
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    assert check_timeout(None) == timeout_from_env() == DEFAULT_TIMEOUT_S == 60.0
    monkeypatch.setenv(TIMEOUT_ENV, " 7.5 ")
    assert check_timeout(None) == 7.5
    monkeypatch.setenv(TIMEOUT_ENV, "inf")
    assert math.isinf(check_timeout(None))
    assert check_timeout(3) == 3.0  # an explicit value does not read it
    monkeypatch.setenv(TIMEOUT_ENV, "")
    assert check_timeout(None) == DEFAULT_TIMEOUT_S


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan"])
def test_a_bad_value_is_an_error_naming_the_variable(tmp_path: Path, monkeypatch, value):
    video = make_test_video(tmp_path / "v.mp4", 0.5, size=(64, 48))
    monkeypatch.setenv(TIMEOUT_ENV, value)
    match = f"{TIMEOUT_ENV}='{value}' must be a positive number of seconds"
    with pytest.raises(ValueError, match=match):
        sample_frames(video, 2)
    with pytest.raises(ValueError, match=match):
        probe(video)
    with pytest.raises(ValueError, match=match):
        sample_segments(video, [(0.0, 0.5)], 2, errors="collect")  # an argument error: raised, not collected
    sample_frames(video, 2, timeout=5)  # an explicit timeout does not read it
