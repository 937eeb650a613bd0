"""`SegmentDecoder` (the runner's DataLoader dataset): per-segment failures as error strings."""

from __future__ import annotations

import numpy as np
import pytest

import vidret.video
from vidret.evaluation.embeddings.model import SegmentDecoder
from vidret.evaluation.planning.tasks import Segment
from vidret.video import sample_frames
from vidret.testing.synthetic import make_test_video


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return str(make_test_video(tmp_path_factory.mktemp("seg") / "v.mp4", 4.0, fps=10, size=(64, 48), gop=10))


def _seg(source: str, start: float | None, end: float | None) -> Segment:
    name = f"v@{start}-{end}"
    return Segment(name, "v", name, "window", source, start, end)


def test_a_bad_segment_fails_alone_and_the_rest_decode(video):
    group = [_seg(video, 0.0, 1.0), _seg(video, 3.0, 9.0), _seg(video, 1.0, 2.0), _seg(video, None, None)]
    out = SegmentDecoder([group], 2, (32, 24), "exact")[0]
    assert [seg for seg, _, _ in out] == group
    assert np.array_equal(out[0][1], sample_frames(video, 2, 0.0, 1.0, size=(32, 24)))
    assert np.array_equal(out[2][1], sample_frames(video, 2, 1.0, 2.0, size=(32, 24)))
    assert np.array_equal(out[3][1], sample_frames(video, 2, size=(32, 24)))  # whole video
    assert out[1][1] is None and out[1][2] == f"ValueError: {video}: end 9.0 s is past the end of the video (4.000 s)"
    assert all(err is None for i, (_, _, err) in enumerate(out) if i != 1)


def test_a_missing_video_fails_every_segment(tmp_path):
    source = str(tmp_path / "absent.mp4")
    out = SegmentDecoder([[_seg(source, 0.0, 1.0), _seg(source, 1.0, 2.0)]], 2, None, "keyframe")[0]
    assert [frames for _, frames, _ in out] == [None, None]
    assert all(err == f"VideoNotFoundError: {source}: no such file" for _, _, err in out)


def test_a_programming_error_is_not_reported_as_a_decode_failure(video, monkeypatch):
    def broken(*args, **kwargs):
        raise AttributeError("bug")

    monkeypatch.setattr(vidret.video, "sample_segments", broken)
    with pytest.raises(AttributeError, match="bug"):
        SegmentDecoder([[_seg(video, 0.0, 1.0)]], 2, None, "exact")[0]
