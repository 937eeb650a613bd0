"""fps / frame_stride / max_frames sampling (issue 10): which frames come back, proved by frame codes."""

from __future__ import annotations

import pytest

from vidret.video import sample_frames, sample_segments
from vidret.testing.synthetic import decode_frame_index, make_test_video
from vidret.video.timeline import DEFAULT_NUM_FRAMES, MAX_FRAMES, FrameSampling, frame_sampling
from video_helpers import SMALL_FRAMES, small_video, video_dir  # noqa: F401


def indices(frames) -> list[int]:
    return [decode_frame_index(f) for f in frames]


def test_fps_samples_a_grid_from_the_start_of_the_range(small_video):
    # 20 s at 30 fps, 2 samples per second: t = k / 2 -> frame 15 k, the first frame included
    assert indices(sample_frames(small_video, fps=2)) == [15 * k for k in range(40)]
    # [1.0, 2.0) at 3 per second: t = 1, 4/3, 5/3 -> frames 30, 40, 50 (none at the end)
    assert indices(sample_frames(small_video, start=1.0, end=2.0, fps=3)) == [30, 40, 50]
    # a rate above the video's repeats frames: t = k / 60 over [0, 0.1) -> 0, 0, 1, 1, 2, 2
    assert indices(sample_frames(small_video, start=0.0, end=0.1, fps=60)) == [0, 0, 1, 1, 2, 2]


def test_frame_stride_is_every_nth_frame(small_video):
    # every 7th frame of 600: 0, 7, ..., 595 (ceil(600 / 7) = 86 samples)
    assert indices(sample_frames(small_video, frame_stride=7)) == list(range(0, SMALL_FRAMES, 7))
    # from the first frame of the range: [1.0, 2.0) is frames 30..59 -> 30, 40, 50
    assert indices(sample_frames(small_video, start=1.0, end=2.0, frame_stride=10)) == [30, 40, 50]
    # stride 1 is every frame
    assert indices(sample_frames(small_video, start=5.0, end=5.2, frame_stride=1)) == [150, 151, 152, 153, 154, 155]


def test_frame_stride_on_a_fractional_frame_rate(video_dir):
    # 30000/1001 fps: frame i is at i * 1001 / 30000 s; every 10th frame of 90
    path = make_test_video(video_dir / "ntsc.mp4", 3.0, fps=30000 / 1001, size=(64, 48), gop=15)
    assert indices(sample_frames(path, frame_stride=10)) == list(range(0, 90, 10))


def test_max_frames_thins_the_grid_evenly(small_video):
    # fps=2 gives a grid of 40 (frames 0, 15, ..., 585); max_frames=4 keeps grid samples
    # floor((j + 0.5) * 40 / 4) = 5, 15, 25, 35 -> frames 75, 225, 375, 525
    assert indices(sample_frames(small_video, fps=2, max_frames=4)) == [75, 225, 375, 525]
    # stride 10 over [0, 1): grid frames 0, 10, 20; max_frames=2 keeps grid samples
    # floor(0.5 * 3 / 2) = 0 and floor(1.5 * 3 / 2) = 2 -> frames 0 and 20
    assert indices(sample_frames(small_video, end=1.0, frame_stride=10, max_frames=2)) == [0, 20]
    # a cap above the grid changes nothing
    assert indices(sample_frames(small_video, end=1.0, frame_stride=10, max_frames=50)) == [0, 10, 20]


@pytest.mark.parametrize("mode", ["exact", "keyframe"])
def test_segments_with_rates_equal_sample_frames(small_video, mode):
    spans = [(0.0, 1.0), (4.5, 6.0), (19.0, 20.0), (None, None)]
    for kwargs in (dict(fps=2), dict(frame_stride=12), dict(fps=4, max_frames=3)):
        got = sample_segments(small_video, spans, mode=mode, **kwargs)
        assert [len(g) for g in got] == [len(sample_frames(small_video, start=a, end=b, mode=mode, **kwargs)) for a, b in spans]
        for (a, b), frames in zip(spans, got):
            assert indices(frames) == indices(sample_frames(small_video, start=a, end=b, mode=mode, **kwargs))
    # keyframe mode returns the keyframe (every 30 frames) at or before each grid frame
    [one] = sample_segments(small_video, [(4.5, 6.0)], fps=2, mode=mode)
    expected = [135, 150, 165] if mode == "exact" else [120, 150, 150]
    assert indices(one) == expected


def test_collect_mode_with_rates(small_video):
    got = sample_segments(small_video, [(0.0, 1.0), (30.0, 31.0)], frame_stride=15, errors="collect")
    assert indices(got[0]) == [0, 15] and isinstance(got[1], ValueError) and "past the end" in str(got[1])


def test_default_is_still_eight_uniform_frames(small_video):
    assert indices(sample_frames(small_video)) == [int((k + 0.5) * SMALL_FRAMES / 8) for k in range(8)]
    assert DEFAULT_NUM_FRAMES == 8 and frame_sampling().describe() == {"num_frames": 8}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_frames=4, fps=2), "exactly one of num_frames, fps, frame_stride .*got num_frames, fps"),
        (dict(fps=2, frame_stride=3), "exactly one of .*got fps, frame_stride"),
        (dict(num_frames=4, frame_stride=3), "exactly one of .*got num_frames, frame_stride"),
        (dict(num_frames=4, max_frames=2), "max_frames caps fps or frame_stride"),
        (dict(max_frames=2), "max_frames caps fps or frame_stride"),
        (dict(fps=0), "fps must be a positive number"),
        (dict(fps=-1.5), "fps must be a positive number"),
        (dict(fps=float("nan")), "fps must be a positive number"),
        (dict(fps=float("inf")), "fps must be a positive number"),
        (dict(fps=True), "fps must be a positive number"),
        (dict(fps="2"), "fps must be a positive number"),
        (dict(frame_stride=0), "frame_stride must be an integer >= 1"),
        (dict(frame_stride=2.5), "frame_stride must be an integer >= 1"),
        (dict(fps=2, max_frames=0), "max_frames must be an integer >= 1"),
        (dict(fps=2, max_frames=MAX_FRAMES + 1), f"max_frames={MAX_FRAMES + 1} exceeds the maximum"),
    ],
)
def test_bad_sampling_arguments_name_them(small_video, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_frames(small_video, **kwargs)
    with pytest.raises(ValueError, match=match):
        sample_segments(small_video, [(0.0, 1.0)], **kwargs)


def test_rate_above_the_frame_limit_needs_max_frames(small_video):
    # 1000 per second over 20 s = 20,000 samples > MAX_FRAMES: refused before decoding, naming fps
    with pytest.raises(ValueError, match=r"fps=1000.0 gives 20000 frames .* pass max_frames"):
        sample_frames(small_video, fps=1000)
    assert len(sample_frames(small_video, fps=1000, max_frames=5, size=(64, 64))) == 5


def test_frame_sampling_timestamps_and_description():
    spec = frame_sampling(fps=3)
    assert spec == FrameSampling(fps=3.0)
    assert spec.timestamps(0.0, 1.0, 30.0) == [0.0, 1 / 3, 2 / 3]  # float noise adds no 4th sample at the end
    assert frame_sampling(frame_stride=5).timestamps(2.0, 3.0, 25.0) == [2.0, 2.2, 2.4, 2.6, 2.8]
    assert frame_sampling(num_frames=2).timestamps(0.0, 4.0, 30.0) == [1.0, 3.0]
    assert frame_sampling(fps=1, max_frames=3).describe() == {"fps": 1.0, "max_frames": 3}
    assert frame_sampling(frame_stride=10).describe() == {"frame_stride": 10}
    with pytest.raises(ValueError, match=r"start \(2.0\) must be < end"):
        spec.timestamps(2.0, 2.0, 30.0)
