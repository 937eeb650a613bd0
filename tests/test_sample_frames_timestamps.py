"""`sample_frames(..., with_timestamps=True)` / `sample_frames_at`: a `FrameBatch` whose `pts_seconds`
are the decoded frames' own times (the synthetic videos encode each frame's index, so the truth is
read back from the pixels) and whose `sample_seconds` are the times `vidret sample` prints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidret.testing.synthetic import decode_frame_index, make_test_video
from vidret.video import FrameBatch, sample_frames, sample_frames_at, uniform_timestamps

FPS = 30
GOP = 12


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("ts") / "v.mp4", 3.0, fps=FPS, size=(64, 48), gop=GOP)


@pytest.fixture(scope="module")
def late_start(tmp_path_factory) -> Path:
    """First frame at 0.5 s of the stream: vidret's times count from the first frame."""
    return make_test_video(tmp_path_factory.mktemp("ts") / "late.mp4", 2.0, fps=FPS, size=(64, 48), gop=GOP,
                           first_pts_s=0.5)


def _indices(frames: np.ndarray) -> list[int]:
    return [decode_frame_index(frame) for frame in frames]


def test_the_array_stays_the_default(video):
    frames = sample_frames(video, 8)
    assert type(frames) is np.ndarray and frames.shape == (8, 48, 64, 3)


def test_uniform_samples_carry_the_frames_own_times(video):
    batch = sample_frames(video, 8, 0.2, 2.9, with_timestamps=True)
    assert isinstance(batch, FrameBatch) and len(batch) == 8
    np.testing.assert_array_equal(batch.data, sample_frames(video, 8, 0.2, 2.9))  # the same frames
    np.testing.assert_allclose(batch.sample_seconds, uniform_timestamps(0.2, 2.9, 8))
    indices = _indices(batch.data)
    np.testing.assert_allclose(batch.pts_seconds, np.array(indices) / FPS, atol=1e-3)  # each frame's own pts
    # Exact mode: the frame shown at the sample time started at most one frame interval before it.
    assert np.all(batch.pts_seconds <= batch.sample_seconds + 1e-6)
    assert np.all(batch.sample_seconds - batch.pts_seconds < 1 / FPS)
    assert batch.pts_seconds.dtype == np.float64 and batch.sample_seconds.shape == (8,)


def test_keyframe_mode_gives_the_keyframes_times(video):
    batch = sample_frames(video, 5, mode="keyframe", with_timestamps=True)
    indices = _indices(batch.data)
    assert all(i % GOP == 0 for i in indices)
    np.testing.assert_allclose(batch.pts_seconds, np.array(indices) / FPS, atol=1e-3)
    assert np.all(batch.pts_seconds <= batch.sample_seconds + 1e-6)


def test_rate_sampling_gives_every_frames_time(video):
    batch = sample_frames(video, start=1.0, end=1.5, frame_stride=1, with_timestamps=True)
    assert _indices(batch.data) == list(range(30, 45))
    np.testing.assert_allclose(batch.pts_seconds, np.arange(30, 45) / FPS, atol=1e-3)


def test_times_count_from_the_first_frame_and_feed_back_into_sample_frames_at(late_start):
    batch = sample_frames(late_start, 6, with_timestamps=True)
    np.testing.assert_allclose(batch.pts_seconds, np.array(_indices(batch.data)) / FPS, atol=1e-3)
    again = sample_frames_at(late_start, batch.pts_seconds.tolist(), with_timestamps=True)
    np.testing.assert_array_equal(again.data, batch.data)
    np.testing.assert_allclose(again.pts_seconds, batch.pts_seconds)


def test_sample_frames_at_keeps_the_order_and_repeats_asked(video):
    times = [2.0, 0.51, 2.0]
    batch = sample_frames_at(video, times, with_timestamps=True)
    assert batch.sample_seconds.tolist() == times
    assert _indices(batch.data) == [60, 15, 60]
    np.testing.assert_allclose(batch.pts_seconds, [2.0, 0.5, 2.0], atol=1e-3)
    assert type(sample_frames_at(video, times)) is np.ndarray
