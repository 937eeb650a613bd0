"""Spans joined end to end and sampled as one video (`vidret.video.sample_concatenated`): the frame
grid runs on across span boundaries, as the official LoVR scripts read a full video's clips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidret.testing.synthetic import decode_frame_index, make_test_video
from vidret.video import frame_sampling, sample_concatenated
from vidret.video.concat import concatenated_times


def official_full_video_frames(clip_frames: list[int], interval: int) -> list[tuple[int, int]]:
    """A transcription of the official make_video_dict (evaluate/utils.py): per clip in order, the
    (clip, local frame) pairs its full video gets. The first clip (and any clip reached with offset 0)
    gives frames 0, interval, ...; otherwise frames interval - offset, ... ; offset = frames so far
    modulo interval."""
    out, start_offset = [], 0
    for c, total in enumerate(clip_frames):
        first = 0 if start_offset == 0 else interval - start_offset
        out += [(c, j) for j in range(first, total, interval)]
        start_offset = (start_offset + total) % interval
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=12), st.integers(1, 15), st.sampled_from([10.0, 25.0, 30.0]))
def test_stride_over_joined_spans_is_the_official_frame_list(clip_frames, interval, fps):
    # Clips as spans of one file laid end to end (as a LoVR video's timestamps are), in whole frames.
    edges = np.cumsum([0, *clip_frames]) / fps
    spans = [(a, b, fps) for a, b in zip(edges[:-1], edges[1:])]
    times = concatenated_times(spans, frame_sampling(frame_stride=interval))
    got = [(c, round((t - spans[c][0]) * fps)) for c, ts in enumerate(times) for t in ts]
    assert got == official_full_video_frames(clip_frames, interval)
    assert all(spans[c][0] <= t < spans[c][1] for c, ts in enumerate(times) for t in ts)


def test_fps_uniform_and_max_frames_on_the_joined_timeline():
    spans = [(0.0, 1.5, 10.0), (4.0, 5.0, 10.0)]  # 1.5 s then 1 s: 2.5 s joined
    assert concatenated_times(spans, frame_sampling(fps=2.0)) == [[0.0, 0.5, 1.0], [4.0, 4.5]]
    assert concatenated_times(spans, frame_sampling(num_frames=5)) == [[0.25, 0.75, 1.25], [4.25, 4.75]]
    # 25 frames at stride 2 is a grid of 13; max_frames=3 keeps grid samples 2, 6, 10 (frames 4, 12, 20).
    thinned = concatenated_times(spans, frame_sampling(frame_stride=2, max_frames=3))
    assert [[round(t * 10) for t in ts] for ts in thinned] == [[4, 12], [40 + 5]]
    with pytest.raises(ValueError, match="more than the maximum of 10000 per input: pass max_frames"):
        concatenated_times([(0.0, 2001.0, 10.0)], frame_sampling(frame_stride=2))
    with pytest.raises(ValueError, match="no spans"):
        concatenated_times([], frame_sampling(frame_stride=2))


def test_sample_concatenated_reads_the_stride_across_files_and_spans(tmp_path):
    # A "full video" of 23 + 17 frames and its two clips as files of their own, frame codes running on.
    make_test_video(tmp_path / "full.mp4", 4.0, fps=10, size=(64, 64), gop=10, first_index=1000)
    make_test_video(tmp_path / "c1.mp4", 2.3, fps=10, size=(64, 64), gop=10, first_index=1000)
    make_test_video(tmp_path / "c2.mp4", 1.7, fps=10, size=(64, 64), gop=10, first_index=1023)
    expected = [1000 + k * 3 for k in range(math.ceil(40 / 3))]  # 0, 3, ..., 39: the stride never restarts
    files = [(str(tmp_path / "c1.mp4"), None, None), (str(tmp_path / "c2.mp4"), None, None)]
    spans = [(str(tmp_path / "full.mp4"), 0.0, 2.3), (str(tmp_path / "full.mp4"), 2.3, 4.0)]
    for parts in (files, spans):
        frames = sample_concatenated(parts, frame_stride=3, size=(64, 64))
        assert [decode_frame_index(f) for f in frames] == expected
    # Each clip on its own restarts the grid: 1000, 1003, ..., 1021, then 1023, 1026, ...
    alone = [decode_frame_index(f) for p in files for f in sample_concatenated([p], frame_stride=3, size=(64, 64))]
    assert alone != expected and alone[8] == 1023
    with pytest.raises(ValueError, match="no parts"):
        sample_concatenated([], frame_stride=3)


def test_the_joined_frames_are_bounded_as_a_whole_at_native_size(tmp_path, monkeypatch):
    # Each file's 10 frames fit the limit; the 20 joined frames do not: refused before any is read.
    import vidret.video.timeline as timeline

    parts = []
    for name in ("a", "b"):
        make_test_video(tmp_path / f"{name}.mp4", 1.0, fps=10, size=(64, 64), gop=10)
        parts.append((str(tmp_path / f"{name}.mp4"), None, None))
    monkeypatch.setattr(timeline, "MAX_OUTPUT_BYTES", 15 * 64 * 64 * 3)
    assert len(sample_concatenated(parts[:1], frame_stride=1)) == 10
    with pytest.raises(ValueError, match="20 frames of 64x64 .*MAX_OUTPUT_BYTES"):
        sample_concatenated(parts, frame_stride=1)
