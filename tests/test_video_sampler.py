"""Frame identity of uniform, segment and timestamp sampling, keyframe mode, sources, probe."""

from __future__ import annotations

import io
from pathlib import Path

import fsspec
import numpy as np
import pytest

from vidret.video import (
    VideoInfo,
    probe,
    sample_frames,
    sample_frames_at,
    sample_segments,
    uniform_timestamps,
)
from vidret.video.decoder import FrameFetcher
from vidret.testing.synthetic import decode_frame_index, make_test_video
from video_helpers import SMALL_FRAMES, frame_at, long_gop_video, small_video, video_dir  # noqa: F401


def indices(frames) -> list[int]:
    return [decode_frame_index(f) for f in frames]


@pytest.fixture
def count_seeks(monkeypatch):
    """Counts FrameFetcher seeks during a test: returns a one-element list."""
    calls = [0]
    original = FrameFetcher._seek_frames

    def counting(self, pts):
        calls[0] += 1
        return original(self, pts)

    monkeypatch.setattr(FrameFetcher, "_seek_frames", counting)
    return calls


def test_probe(small_video):
    assert probe(small_video) == VideoInfo(duration=20.0, fps=30.0, num_frames=600, width=64, height=48, codec="h264")


def test_uniform_timestamps_are_bin_centres():
    assert uniform_timestamps(0.0, 8.0, 4) == [1.0, 3.0, 5.0, 7.0]
    assert uniform_timestamps(2.0, 3.0, 1) == [2.5]


@pytest.mark.parametrize("num_frames", [1, 7, 8, 32, 600])
def test_uniform_whole_video_is_exact(small_video, num_frames):
    frames = sample_frames(small_video, num_frames, size=(64, 64))
    assert frames.shape == (num_frames, 64, 64, 3) and frames.dtype == np.uint8
    assert indices(frames) == [int((k + 0.5) * SMALL_FRAMES / num_frames) for k in range(num_frames)]


@pytest.mark.parametrize("start, end", [(1.0, 3.0), (0.0, 0.1), (19.5, 20.0), (5.5, 17.25), (0.9, 1.1)])
def test_uniform_range_is_exact(small_video, start, end):
    frames = sample_frames(small_video, 8, start, end)
    assert frames.shape == (8, 48, 64, 3)
    assert indices(frames) == [frame_at(t) for t in uniform_timestamps(start, end, 8)]


def test_end_may_overshoot_by_a_frame(small_video):
    frames = sample_frames(small_video, 4, 18.0, 20.0 + 0.5 / 30)
    assert indices(frames) == [frame_at(t) for t in uniform_timestamps(18.0, 20.0, 4)]


def test_timestamps_every_frame_in_any_order(small_video):
    forward = [i / 30 for i in range(SMALL_FRAMES)]  # exactly on frame starts
    assert indices(sample_frames_at(small_video, forward)) == list(range(SMALL_FRAMES))
    backward = [(i + 0.99) / 30 for i in reversed(range(SMALL_FRAMES))]  # just before the next frame
    assert indices(sample_frames_at(small_video, backward)) == list(reversed(range(SMALL_FRAMES)))


def test_timestamps_keep_order_and_repeats(small_video):
    times = [12.0, 0.0, 12.0, 3.37, 19.99]
    assert indices(sample_frames_at(small_video, times, size=(80, 80))) == [360, 0, 360, 101, 599]


def test_segments_equal_sample_frames(small_video):
    segments = [(i * 0.7, i * 0.7 + 1.3) for i in range(25)] + [(15.0, 19.0), (0.0, 20.0), (2.0, 2.2)]
    results = sample_segments(small_video, segments, 8, size=(64, 64))
    assert len(results) == len(segments)
    for (start, end), frames in zip(segments, results):
        assert np.array_equal(frames, sample_frames(small_video, 8, start, end, size=(64, 64)))
        assert indices(frames) == [frame_at(t) for t in uniform_timestamps(start, end, 8)]


def test_segments_keyframe_mode_equal_sample_frames(small_video):
    segments = [(i * 0.45, i * 0.45 + 2.0) for i in range(30)]
    results = sample_segments(small_video, segments, 3, mode="keyframe")
    for (start, end), frames in zip(segments, results):
        assert np.array_equal(frames, sample_frames(small_video, 3, start, end, mode="keyframe"))


def test_segments_empty_and_progress(small_video):
    assert sample_segments(small_video, []) == []
    [frames] = sample_segments(small_video, [(1.0, 2.0)], 2, progress=True)
    assert indices(frames) == [37, 52]


def test_keyframe_mode_at_or_before_target(small_video):
    for t in np.arange(0.0, 20.0, 0.23):
        [frame] = sample_frames_at(small_video, [t], mode="keyframe")
        got, target = decode_frame_index(frame), frame_at(t)
        assert got % 30 == 0 and 0 <= target - got < 30, (t, got)


def test_keyframe_mode_on_long_gop(long_gop_video):
    got = indices(sample_frames(long_gop_video, 6, mode="keyframe"))
    wanted = [frame_at(t) for t in uniform_timestamps(0, 20, 6)]
    assert got == [w // 250 * 250 for w in wanted]


def test_dense_targets_decode_forward_sparse_targets_seek(long_gop_video, small_video, count_seeks):
    segments = [(s * 0.5, s * 0.5 + 0.5) for s in range(40)]  # 40 targets, keyframes every 8.3 s
    results = sample_segments(long_gop_video, segments, 1)
    assert [decode_frame_index(r[0]) for r in results] == [frame_at(s + 0.25) for s, _ in segments]
    assert count_seeks[0] <= 3
    count_seeks[0] = 0
    assert indices(sample_frames(small_video, 5)) == [60, 180, 300, 420, 540]
    assert count_seeks[0] == 5  # one GOP per second: each sparse target gets its own seek


def test_targets_just_before_a_keyframe(small_video):
    # With B-frames, MP4 indexes keyframes by decode time, a little ahead of presentation time:
    # frames just before each keyframe must still come back exact, one by one and together.
    times = [(k * 30 - 1 + 0.5) / 30 for k in range(1, 20)]
    assert indices(sample_frames_at(small_video, times)) == [k * 30 - 1 for k in range(1, 20)]
    for t in times[:3]:
        assert indices(sample_frames_at(small_video, [t])) == [frame_at(t)]


def test_sources_path_str_url_fileobj_bytes_memory(small_video):
    expected = indices(sample_frames(small_video, 4))
    assert indices(sample_frames(str(small_video), 4)) == expected
    assert indices(sample_frames(f"file://{small_video}", 4)) == expected
    with open(small_video, "rb") as handle:
        handle.seek(100)  # read from the start regardless of the position
        assert indices(sample_frames(handle, 4)) == expected
        assert probe(handle).num_frames == SMALL_FRAMES
    assert indices(sample_frames(small_video.read_bytes(), 4)) == expected
    assert indices(sample_frames(io.BytesIO(small_video.read_bytes()), 4)) == expected
    with fsspec.open("memory://vidret-test/small.mp4", "wb") as handle:
        handle.write(small_video.read_bytes())
    assert indices(sample_frames("memory://vidret-test/small.mp4", 4)) == expected


def test_moov_at_end(tmp_path: Path):
    path = make_test_video(tmp_path / "slow.mp4", 4.0, size=(64, 48), gop=30, faststart=False)
    data = path.read_bytes()
    assert data.find(b"mdat") < data.find(b"moov")
    assert indices(sample_frames(path, 4)) == [15, 45, 75, 105]


def test_exact_frames_are_bit_identical_to_sequential_decode(small_video, long_gop_video):
    import av

    for path in (small_video, long_gop_video):
        with av.open(str(path)) as container:
            everything = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        wanted = [7, 29, 30, 31, 250, 413, 599]
        got = sample_frames_at(path, [(i + 0.5) / 30 for i in wanted])
        for frame, i in zip(got, wanted):
            assert np.array_equal(frame, everything[i]), i


def test_keyframe_mode_shares_one_seek_per_keyframe_without_b_frames(video_dir, count_seeks):
    # MPEG-4 Part 2 in Matroska: no B-frames, so a landing keyframe's dts matches its index
    # entry and later targets in the same GOP reuse it instead of seeking again.
    path = make_test_video(video_dir / "mpeg4.mkv", 4.0, size=(64, 48), gop=30, codec="mpeg4",
                           container_format="matroska")
    segments = [(i * 0.1, i * 0.1 + 0.5) for i in range(30)]
    results = sample_segments(path, segments, 3, mode="keyframe")
    assert count_seeks[0] == 4  # one per keyframe (0, 30, 60, 90), not one per target (90)
    for (start, end), frames in zip(segments, results):
        assert indices(frames) == [frame_at(t) // 30 * 30 for t in uniform_timestamps(start, end, 3)]
    assert indices(sample_frames(path, 8)) == [frame_at(t) for t in uniform_timestamps(0, 4, 8)]
