"""`sample_segments(..., errors="collect")`: per-segment failure isolation, in one place."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest

import vidret.video.sampler as sampler
from vidret.video import (
    DECODE_ERRORS,
    VideoDecodeError,
    VideoNotFoundError,
    sample_frames,
    sample_segments,
)
from vidret.testing.synthetic import decode_frame_index, make_not_a_video, truncate_video
from video_helpers import small_video, video_dir  # noqa: F401  (fixtures)


@pytest.fixture
def opens(monkeypatch):
    """Count the sampler's container opens."""
    calls: list[object] = []
    real = sampler.open_video

    def counting(source, **kwargs):
        calls.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(sampler, "open_video", counting)
    return calls


def test_collect_without_failures_equals_a_plain_call(small_video, opens):
    spans = [(0.0, 1.0), (5.0, 7.5), (None, None), (3.0, None)]
    collected = sample_segments(small_video, spans, 3, size=(32, 24), errors="collect")
    assert len(opens) == 1
    plain = sample_segments(small_video, spans, 3, size=(32, 24))
    assert len(collected) == 4
    for got, want in zip(collected, plain):
        assert isinstance(got, np.ndarray) and np.array_equal(got, want)
    # (None, None) is the whole video, as for sample_frames without a range
    assert np.array_equal(collected[2], sample_frames(small_video, 3, size=(32, 24)))


def test_one_bad_span_fails_alone(small_video, opens):
    spans = [(0.0, 1.0), (19.0, 21.0), (5.0, 6.0), (4.0, 4.0), (1.0,)]
    out = sample_segments(small_video, spans, 2, errors="collect")
    assert len(opens) == 1  # a bad span is known before decoding: no retries
    assert np.array_equal(out[0], sample_frames(small_video, 2, 0.0, 1.0))
    assert np.array_equal(out[2], sample_frames(small_video, 2, 5.0, 6.0))
    assert [decode_frame_index(f) for f in out[2]] == [157, 172]
    for bad in (out[1], out[3], out[4]):
        assert isinstance(bad, ValueError) and "small.mp4" in str(bad)
    # worded as sample_frames words it for that span alone (no "segment n:" prefix)
    with pytest.raises(ValueError) as alone:
        sample_frames(small_video, 2, 19.0, 21.0)
    assert str(out[1]) == str(alone.value) and "past the end" in str(out[1])
    assert "start (4.0) must be < end" in str(out[3])
    assert "must be (start, end), got (1.0,)" in str(out[4])


def test_decode_failure_in_the_pass_is_isolated_per_segment(tmp_path, small_video, opens):
    cut = truncate_video(small_video, tmp_path / "cut.mp4", 0.5)
    spans = [(0.0, 1.0), (15.0, 16.0), (2.0, 3.0)]
    out = sample_segments(cut, spans, 2, errors="collect")
    assert len(opens) == 1 + len(spans)  # the shared pass, then each segment alone
    assert np.array_equal(out[0], sample_frames(cut, 2, 0.0, 1.0))
    assert np.array_equal(out[2], sample_frames(cut, 2, 2.0, 3.0))
    assert isinstance(out[1], VideoDecodeError)
    assert "cut.mp4: no frame at" in str(out[1])


def test_missing_source_fails_every_segment_with_one_open(tmp_path, opens):
    missing = tmp_path / "absent.mp4"
    out = sample_segments(missing, [(float(k), k + 1.0) for k in range(5)], 2, errors="collect")
    assert len(opens) == 1
    assert len(out) == 5 and all(e is out[0] for e in out)
    assert isinstance(out[0], VideoNotFoundError) and "absent.mp4" in str(out[0])


def test_not_a_video_fails_every_segment_with_one_open(tmp_path, opens):
    path = make_not_a_video(tmp_path / "text.mp4")
    out = sample_segments(path, [(0.0, 1.0), (None, None)], 2, errors="collect")
    assert len(opens) == 1
    assert all(isinstance(e, VideoDecodeError) and "not a readable video" in str(e) for e in out)


def test_a_programming_error_propagates(small_video, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug in the decoder")

    monkeypatch.setattr(sampler, "_fetch", broken)
    with pytest.raises(RuntimeError, match="bug in the decoder"):
        sample_segments(small_video, [(0.0, 1.0)], 2, errors="collect")


def test_a_programming_error_while_probing_propagates(small_video, monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("bad probe")

    monkeypatch.setattr(sampler, "stream_timing", broken)
    with pytest.raises(TypeError, match="bad probe"):
        sample_segments(small_video, [(0.0, 1.0)], 2, errors="collect")


def test_a_programming_error_in_the_retry_propagates(tmp_path, small_video, monkeypatch):
    cut = truncate_video(small_video, tmp_path / "cut.mp4", 0.5)

    def broken(*args, **kwargs):
        raise KeyError("bug in the retry")

    monkeypatch.setattr(sampler, "_sample_one", broken)  # the per-segment retry
    with pytest.raises(KeyError, match="bug in the retry"):
        sample_segments(cut, [(0.0, 1.0), (15.0, 16.0)], 2, errors="collect")


def test_a_failing_close_keeps_the_decoded_frames(small_video, monkeypatch):
    real = sampler.open_video

    @contextmanager
    def closes_badly(source, **kwargs):
        with real(source, **kwargs) as video:
            yield video
        raise OSError("close failed")

    monkeypatch.setattr(sampler, "open_video", closes_badly)
    out = sample_segments(small_video, [(0.0, 1.0), (19.0, 21.0)], 2, errors="collect")
    monkeypatch.setattr(sampler, "open_video", real)
    assert np.array_equal(out[0], sample_frames(small_video, 2, 0.0, 1.0))
    assert isinstance(out[1], ValueError)


def test_collect_still_raises_on_bad_arguments(small_video):
    with pytest.raises(ValueError, match="errors must be one of"):
        sample_segments(small_video, [(0.0, 1.0)], 2, errors="ignore")
    with pytest.raises(ValueError, match="num_frames"):
        sample_segments(small_video, [(0.0, 1.0)], 0, errors="collect")
    with pytest.raises(ValueError, match="size"):
        sample_segments(small_video, [(0.0, 1.0)], 2, size=(0, 1), errors="collect")
    assert sample_segments(small_video, [], 2, errors="collect") == []


def test_decode_errors_are_the_data_failures():
    assert set(DECODE_ERRORS) == {VideoDecodeError, ValueError, OSError}


# -- the grouped segment decoder (`vidret.video.segments`), built on errors="collect" -------------


def test_group_segments_groups_by_source_orders_by_start_and_caps_a_group():
    from vidret.video import VideoSegment, group_segments

    segs = [VideoSegment("b", 3.0, 4.0), VideoSegment("a", None, None), VideoSegment("b", 1.0, 2.0),
            VideoSegment("a", 2.0, 3.0), VideoSegment("b", 0.0, 1.0)]
    assert group_segments(segs) == [[segs[4], segs[2], segs[0]], [segs[1], segs[3]]]  # first seen first
    assert group_segments(segs, max_per_group=2) == [[segs[4], segs[2]], [segs[0]], [segs[1], segs[3]]]
    with pytest.raises(ValueError, match="max_per_group must be >= 1"):
        group_segments(segs, max_per_group=0)


def test_decode_segments_fails_a_bad_segment_alone_and_answers_in_order(tmp_path, small_video, opens):
    from vidret.video import VideoSegment, decode_segments, decode_settings

    missing = str(tmp_path / "absent.mp4")
    segs = [VideoSegment(str(small_video), 5.0, 6.0, "ok-late"), VideoSegment(missing, 0.0, 1.0, "gone-1"),
            VideoSegment(str(small_video), 19.0, 21.0, "past-end"), VideoSegment(missing, 1.0, 2.0, "gone-2"),
            VideoSegment(str(small_video), 0.0, 1.0, "ok-early")]
    out = decode_segments(segs, decode_settings(2, size=(32, 24)))
    assert len(opens) == 2  # one open per video: no retry per segment of the missing one
    assert [r.segment for r in out] == segs
    assert np.array_equal(out[0].frames, sample_frames(small_video, 2, 5.0, 6.0, size=(32, 24)))
    assert np.array_equal(out[4].frames, sample_frames(small_video, 2, 0.0, 1.0, size=(32, 24)))
    assert out[0].error is None and out[4].error is None
    assert out[2].frames is None and out[2].error.startswith("ValueError: ") and "past the end" in out[2].error
    for gone in (out[1], out[3]):
        assert gone.frames is None and gone.error == f"VideoNotFoundError: {missing}: no such file"


def test_decode_group_takes_one_video_and_settings_are_checked_once(small_video):
    from vidret.video import VideoSegment, decode_group, decode_settings

    with pytest.raises(ValueError, match="one group holds segments of one video"):
        decode_group([VideoSegment(str(small_video)), VideoSegment("other.mp4")], decode_settings(2))
    assert decode_group([], decode_settings(2)) == []
    with pytest.raises(ValueError, match="pass exactly one of num_frames, fps, frame_stride"):
        decode_settings(4, fps=1.0)
    with pytest.raises(ValueError, match="size must be two positive integers"):
        decode_settings(size=(0, 1))
    with pytest.raises(ValueError, match="mode must be one of"):
        decode_settings(mode="approx")
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        decode_settings(timeout=0)
