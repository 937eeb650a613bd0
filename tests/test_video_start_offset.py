"""Videos whose first frame is not at time 0 (issue 20, section 3), in Matroska and MP4.

A Matroska header states where the file ends on its timeline (counted from 0), not how long it
lasts after its first frame: read as a length, a video starting at 0.167 s looked 0.167 s longer
than it is, so every fps / frame_stride call ran past its last frame ("truncated or corrupt")
and uniform samples were stretched. MP4 states the stream's own duration (the gap before the
first frame sits in an edit list) and is the control. Frame codes prove which frames come back.
"""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from vidret.testing.synthetic import decode_frame_index, make_test_video
from vidret.video import probe, sample_frames, sample_segments

FPS = 30
FRAMES = 60  # 2 s
START_S = 5 / FPS  # 0.167 s, as in the report
CONTAINERS = {"matroska": "mkv", "mp4": "mp4"}


def indices(frames) -> list[int]:
    return [decode_frame_index(f) for f in frames]


@pytest.fixture(scope="module", params=sorted(CONTAINERS))
def late_video(request, tmp_path_factory) -> Path:
    """2 s at 30 fps (frame i shows code i, a keyframe every 10) whose first frame is at 0.167 s."""
    fmt = request.param
    path = tmp_path_factory.mktemp("late") / f"late.{CONTAINERS[fmt]}"
    return make_test_video(
        path, FRAMES / FPS, fps=FPS, size=(64, 48), gop=10, container_format=fmt, first_pts_s=START_S
    )


def test_the_test_video_really_starts_late(late_video):
    with av.open(str(late_video)) as container:
        stream = container.streams.video[0]
        first = float(stream.start_time * stream.time_base)
        decoded = [frame.pts for frame in container.decode(stream)]
    assert first == pytest.approx(START_S, abs=1e-3)
    assert len(decoded) == FRAMES
    if late_video.suffix == ".mkv":
        assert stream.duration is None  # only the header's duration: the case that went wrong


def test_probe_reports_the_length_after_the_first_frame(late_video):
    info = probe(late_video)
    # Matroska stores whole milliseconds (first frame at 167 ms, end at 2166 ms)
    assert info.duration == pytest.approx(FRAMES / FPS, abs=2e-3)
    assert info.num_frames == FRAMES


@pytest.mark.parametrize("mode", ["exact", "keyframe"])
def test_uniform_samples_span_the_video_not_more(late_video, mode):
    # centres of 4 bins of 60 frames: floor((k + 0.5) * 15) = 7, 22, 37, 52
    expected = [7, 22, 37, 52] if mode == "exact" else [0, 20, 30, 50]  # keyframes every 10 frames
    assert indices(sample_frames(late_video, 4, mode=mode)) == expected


def test_fps_sampling_reaches_the_last_frame_and_no_further(late_video):
    assert indices(sample_frames(late_video, fps=10)) == list(range(0, FRAMES, 3))
    assert indices(sample_frames(late_video, fps=FPS)) == list(range(FRAMES))
    assert indices(sample_frames(late_video, start=1.0, fps=4)) == [30, 37, 45, 52]  # t = 1 + k / 4


def test_frame_stride_is_every_nth_frame_from_the_first(late_video):
    assert indices(sample_frames(late_video, frame_stride=7)) == list(range(0, FRAMES, 7))
    assert indices(sample_frames(late_video, frame_stride=1)) == list(range(FRAMES))
    segments = sample_segments(late_video, [(0.5, 1.0), (1.0, None)], frame_stride=5)
    assert [indices(s) for s in segments] == [[15, 20, 25], [30, 35, 40, 45, 50, 55]]


def test_frame_stride_on_matroska_millisecond_timestamps(tmp_path):
    # Matroska rounds 30 fps timestamps to whole ms (frame 2 at 67 ms, not 66.67): the time
    # computed for frame 2 (66.67 ms) lies before its stored start, and used to give frame 1.
    path = make_test_video(tmp_path / "zero.mkv", FRAMES / FPS, fps=FPS, size=(64, 48), gop=30,
                           container_format="matroska")
    assert indices(sample_frames(path, frame_stride=1)) == list(range(FRAMES))
    assert indices(sample_frames(path, frame_stride=7)) == list(range(0, FRAMES, 7))
    assert indices(sample_frames(path, fps=FPS, start=0.5, end=1.0)) == list(range(15, 30))
