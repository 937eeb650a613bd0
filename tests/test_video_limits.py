"""Hardening of the sampler (issue 15): frame-size and frame-count bounds, keyframe mode on cut or
misdescribed videos, and time limits on remote sources (a stalled local range server)."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pytest

from vidret.video import VideoDecodeError, VideoTooLargeError, probe, sample_frames, sample_segments
from vidret.video import decoder as decoder_module
from vidret.video import sampler as sampler_module
from vidret.video import timeline as timeline_module
from vidret.video.decoder import FrameFetcher
from vidret.testing.rangeserver import serve_directory
from vidret.testing.synthetic import (
    decode_frame_index,
    make_oversized_video,
    make_test_video,
    misreport_mkv_duration,
    truncate_video,
)
from vidret.video.timeline import MAX_FRAME_PIXELS, MAX_FRAMES, MAX_OUTPUT_BYTES
from video_helpers import small_video, video_dir  # noqa: F401

# ---- 15.6: decoded frame size ----------------------------------------------------------------


@pytest.fixture(scope="module")
def oversized(video_dir: Path) -> Path:
    """2 flat frames of 7696x4320 (33.2 MP, just above the 8K UHD limit) in a ~100 KB file."""
    return make_oversized_video(video_dir / "oversized.mp4", (7696, 4320))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_frames_above_the_pixel_limit_are_refused_before_decoding(oversized):
    assert 7696 * 4320 > MAX_FRAME_PIXELS == 7680 * 4320
    before = _rss_mb()
    with pytest.raises(VideoTooLargeError, match=r"oversized.mp4: frames of 7696x4320 \(33.2 megapixels\) .* pass size="):
        sample_frames(oversized, 8)
    assert _rss_mb() - before < 300  # 8 native frames would take 800 MB
    # one error for every segment, nothing retried: the source itself is at fault
    got = sample_segments(oversized, [(0.0, 0.03), (0.03, 0.06)], 1, errors="collect")
    assert all(isinstance(g, VideoTooLargeError) for g in got) and got[0] is got[1]


def test_an_explicit_size_decodes_large_frames_resized_inside_ffmpeg(oversized):
    frames = sample_frames(oversized, 2, size=(64, 36))
    assert frames.shape == (2, 36, 64, 3) and abs(int(frames.mean()) - 128) < 4


def test_frames_larger_than_their_header_said_are_refused_too(small_video, monkeypatch):
    # The header check passes (limit raised there); the decoder checks the frames it gets.
    monkeypatch.setattr(sampler_module, "MAX_FRAME_PIXELS", 10**9)
    monkeypatch.setattr(decoder_module, "MAX_FRAME_PIXELS", 64 * 48 - 1)
    with pytest.raises(VideoTooLargeError, match="small.mp4: frames of 64x48"):
        sample_frames(small_video, 2)


def test_output_size_is_checked_at_the_frames_real_size(tmp_path, monkeypatch):
    # Two MPEG-TS streams back to back: the header (the first stream's) says 64x48, frames after
    # 1 s are 320x240. The output check used the header's size: 25x more came back than it allowed.
    first = make_test_video(tmp_path / "a.ts", 2.0, size=(64, 48), container_format="mpegts", gop=10)
    second = make_test_video(tmp_path / "b.ts", 2.0, size=(320, 240), container_format="mpegts", gop=10)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    assert (probe(joined).width, probe(joined).height) == (64, 48)
    monkeypatch.setattr(timeline_module, "MAX_OUTPUT_BYTES", 100_000)  # 2 frames: 18,432 bytes at 64x48, 460,800 at 320x240
    assert sample_frames(joined, 2, 0.0, 1.0).shape == (2, 48, 64, 3)
    with pytest.raises(ValueError, match=r"joined.ts: 2 frames of 320x240 would take"):
        sample_frames(joined, 2, 1.2, 2.0)


def test_running_out_of_memory_fails_one_video_not_the_run(small_video, monkeypatch):
    def no_memory(self, targets):
        raise MemoryError

    monkeypatch.setattr(FrameFetcher, "exact", no_memory)
    with pytest.raises(VideoDecodeError, match="small.mp4: ran out of memory decoding 2 frames"):
        sample_frames(small_video, 2)
    [outcome] = sample_segments(small_video, [(0.0, 1.0)], 2, errors="collect")
    assert isinstance(outcome, VideoDecodeError)


# ---- 15.7: frame counts and output size ------------------------------------------------------


def test_num_frames_is_bounded_before_anything_is_decoded(small_video):
    started = time.monotonic()
    for call in (
        lambda: sample_frames(small_video, 10**7),
        lambda: sample_segments(small_video, [(0.0, 1.0)], 10**7),
        lambda: sample_segments(small_video, [(0.0, 1.0)], 10**7, errors="collect"),
    ):
        with pytest.raises(ValueError, match=rf"num_frames=10000000 exceeds the maximum of {MAX_FRAMES} frames"):
            call()
    assert time.monotonic() - started < 2
    assert len(sample_frames(small_video, MAX_FRAMES, end=0.5, size=(32, 32))) == MAX_FRAMES  # the bound itself is fine


def test_output_size_is_checked_before_allocating(small_video):
    # 10,000 frames of 4096x4096 would be 469 GiB
    with pytest.raises(ValueError, match=r"small.mp4: 10000 frames of 4096x4096 would take 468.8 GiB.*num_frames=10000, size=\(4096, 4096\)"):
        sample_frames(small_video, 10_000, size=(4096, 4096))
    # segments add up: 3 segments of 4000 frames at native 64x48 are fine, at 2048x2048 not
    assert MAX_OUTPUT_BYTES == 4 * 1024**3
    with pytest.raises(ValueError, match="12000 frames of 2048x2048"):
        sample_segments(small_video, [(0, 5), (5, 10), (10, 15)], 4000, size=(2048, 2048))


# ---- 15.8: keyframe mode on a cut or misdescribed video -----------------------------------------


@pytest.fixture(scope="module")
def mkv(video_dir: Path) -> Path:
    return make_test_video(video_dir / "v.mkv", 20.0, size=(64, 48), gop=30, container_format="matroska")


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.9])
def test_keyframe_mode_raises_on_a_truncated_mkv_like_exact_mode(tmp_path, mkv, keep):
    cut = truncate_video(mkv, tmp_path / "cut.mkv", keep)
    assert probe(cut).duration == 20.0  # the header still says 20 s
    for mode in ("exact", "keyframe"):
        with pytest.raises(VideoDecodeError, match=r"cut.mkv: no frame at .* video is truncated or corrupt \(the last readable frame is at"):
            sample_frames(cut, 8, mode=mode)


def test_keyframe_mode_raises_when_the_header_overstates_the_duration(tmp_path, mkv):
    liar = misreport_mkv_duration(mkv, tmp_path / "liar.mkv", 40.0)
    assert probe(liar).duration == 40.0  # 20 s of frames
    with pytest.raises(VideoDecodeError, match=r"liar.mkv: no frame at 22.500 s: .*last readable frame is at 19.9"):
        sample_frames(liar, 8, mode="keyframe")
    # the part that exists is still sampled, in both modes
    frames = sample_frames(liar, 4, 0.0, 20.0, mode="keyframe")
    assert [decode_frame_index(f) for f in frames] == [60, 210, 360, 510]  # keyframes every 30 at or before 75, 225, ...


def test_keyframe_mode_on_an_intact_mkv_still_reaches_the_last_frame(mkv):
    frames = sample_frames(mkv, 4, 19.0, 20.0, mode="keyframe")
    assert [decode_frame_index(f) for f in frames] == [570, 570, 570, 570]


# ---- 15.9: time limits on remote videos -----------------------------------------------------------


@pytest.fixture(scope="module")
def served(video_dir: Path):
    root = video_dir / "www"
    make_test_video(root / "remote.mp4", 10.0, size=(160, 96), gop=30, crf=10)
    with serve_directory(root) as server:
        yield server


def _timed_out(served, misbehave: dict, num_frames: int, timeout: float) -> tuple[str, float]:
    """Sample from the server while it misbehaves: (the error message, seconds it took)."""
    served.reset()
    for name, value in misbehave.items():
        setattr(served, name, value)
    started = time.monotonic()
    try:
        with pytest.raises(VideoDecodeError) as info:
            sample_frames(served.url("remote.mp4"), num_frames, timeout=timeout)
    finally:
        served.reset()
    return str(info.value), time.monotonic() - started


def test_a_server_that_never_answers_times_out_at_open(served):
    message, elapsed = _timed_out(served, {"stall_s": 30.0}, 2, timeout=0.5)
    assert "remote.mp4: timed out opening the video: no answer from the server within 0.5 s (time limit per video" in message
    assert elapsed < 2, elapsed  # HEAD and the GET fsspec falls back to share the 0.5 s


def test_a_server_that_stalls_mid_video_times_out_on_the_read(served):
    # the size and the header come; the next read hangs until the video's 0.5 s are used up
    message, elapsed = _timed_out(served, {"stall_s": 30.0, "stall_after": 2}, 4, timeout=0.5)
    assert "remote.mp4: timed out: reading the video took 0.5 s, more than the 0.5 s allowed per video (deadline" in message
    assert elapsed < 2, elapsed


def test_a_server_that_drips_hits_the_per_video_deadline(served):
    # every read makes progress, slowly: 8 KB every 0.1 s; the request under way is cut at the deadline
    message, elapsed = _timed_out(served, {"chunk_size": 8 * 1024, "chunk_delay_s": 0.1}, 8, timeout=1.0)
    assert "more than the 1 s allowed per video (deadline" in message
    assert elapsed < 2.5, elapsed


def test_collect_mode_keeps_one_deadline_for_the_whole_call(served):
    # The one-pass decode runs out of time: the segments are not then retried one by one, each
    # under a fresh deadline (8 segments cost 8 more timeouts and 8 more requests to a hung server).
    served.reset()
    served.stall_s, served.stall_after = 30.0, 2
    started = time.monotonic()
    try:
        out = sample_segments(served.url("remote.mp4"), [(float(k), k + 1.0) for k in range(8)], 2, errors="collect", timeout=0.5)
        requests = served.requests
    finally:
        served.reset()
    elapsed = time.monotonic() - started
    assert all(isinstance(o, VideoDecodeError) and "timed out" in str(o) for o in out), out
    assert elapsed < 2, elapsed
    assert requests <= 4, requests  # the open and the reads of one pass; 11 when each segment was retried


def test_remote_reads_within_the_limits_are_unaffected(served):
    served.reset()
    frames = sample_frames(served.url("remote.mp4"), 4, size=(64, 64), timeout=5)
    assert [decode_frame_index(f) for f in frames] == [37, 112, 187, 262]


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "60", True])
def test_bad_timeouts_are_refused(small_video, timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        sample_frames(small_video, 2, timeout=timeout)
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        sample_segments(small_video, [(0.0, 1.0)], 2, errors="collect", timeout=timeout)


def test_no_time_limit_on_local_files(small_video):
    assert np.array_equal(sample_frames(small_video, 2, timeout=0.001), sample_frames(small_video, 2))


def test_a_timeout_of_another_filesystem_is_named_and_sticks():
    # hf:// and other fsspec filesystems time out on their own terms; the message says so, and a
    # read after a failure fails the same way at once (FFmpeg retries reads)
    import io

    from vidret.video.source import GuardedReader

    class TimesOut(io.BytesIO):
        reads = 0

        def read(self, size=-1):
            TimesOut.reads += 1
            raise TimeoutError("read timed out (10 s)")

    reader = GuardedReader(TimesOut(b"x" * 100), "hf://datasets/o/n/v.mp4", deadline=60)
    for _ in range(2):
        with pytest.raises(VideoDecodeError, match=r"hf://datasets/o/n/v.mp4: timed out while reading \(TimeoutError: read timed out \(10 s\)\) after 0.0 s waiting on the server \(limit 60 s per video"):
            reader.read(10)
    assert TimesOut.reads == 1


def test_remote_existence_checks_are_bounded_too(served):
    from vidret.video.source import remote_exists

    served.reset()
    assert remote_exists(served.url("remote.mp4"), 5) and not remote_exists(served.url("absent.mp4"), 5)
    served.stall_s = 30.0
    started = time.monotonic()
    try:
        with pytest.raises(Exception) as info:
            remote_exists(served.url("remote.mp4"), 0.5)
    finally:
        served.reset()
    assert "Timeout" in type(info.value).__name__ and time.monotonic() - started < 2
