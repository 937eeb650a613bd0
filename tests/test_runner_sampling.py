"""`--fps R` / `--max-frames M` / `--frame-stride S` beside `--frames N`: checked, recorded, keyed."""

from __future__ import annotations

import pytest

from vidret.evaluation.running.runner import EvalSettings


def settings(**kwargs):
    return EvalSettings(benchmark="lovr", data=".", model="oracle", **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"frames": 8, "fps": 1.0}, r"--frames 8 and --fps 1.0: pass exactly one of --frames N"),
        ({"fps": 2.0, "frame_stride": 10}, r"--fps 2.0 and --frame-stride 10: pass exactly one"),
        ({"frames": 4, "fps": 1.0, "frame_stride": 3}, r"--frames 4 and --fps 1.0 and --frame-stride 3"),
        ({"fps": 0.0}, r"--fps must be a positive number"),
        ({"fps": float("nan")}, r"--fps must be a positive number"),
        ({"frame_stride": 0}, r"--frame-stride must be >= 1"),
        ({"fps": 1.0, "max_frames": 0}, r"--max-frames must be >= 1"),
        ({"frames": 8, "max_frames": 4}, r"--max-frames caps --fps or --frame-stride sampling"),
        ({"max_frames": 4}, r"--max-frames caps --fps or --frame-stride"),
    ],
)
def test_sampling_flags_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        settings(**kwargs)._check_sampling()


def test_frame_sampling_arguments():
    assert settings().frame_sampling() == {} and settings(frames=8).frame_sampling() == {}
    assert settings(fps=1, max_frames=32).frame_sampling() == {"fps": 1.0, "max_frames": 32}
    assert settings(frame_stride=10).frame_sampling() == {"frame_stride": 10}


def test_sampling_keys_the_cache_only_when_used():
    from vidret.evaluation.running.runner import cache_key
    from vidret.testing.oracle import OracleAdapter

    class Plan:
        visuals = {"a": []}

    adapter = OracleAdapter("lovr", [])
    source = {"commit": None, "fingerprint": None}
    uniform = cache_key(settings(), adapter, Plan(), source)
    assert "frame_sampling" not in uniform  # namespaces of uniform runs are unchanged
    dense = cache_key(settings(frame_stride=10), adapter, Plan(), source)
    assert dense["frame_sampling"] == {"frame_stride": 10}
    assert cache_key(settings(fps=1.0, max_frames=8), adapter, Plan(), source)["frame_sampling"] != dense["frame_sampling"]


def test_cli_sampling_flags(capsys):
    import argparse

    from vidret.cli.evaluate import add_arguments, settings_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    base = ["--benchmark", "lovr", "--data", ".", "--model", "oracle"]
    parsed = settings_from_args(parser.parse_args([*base, "--fps", "0.5", "--max-frames", "16"]))
    assert (parsed.fps, parsed.max_frames, parsed.frame_stride, parsed.frames) == (0.5, 16, None, None)
    assert settings_from_args(parser.parse_args([*base, "--frame-stride", "30"])).frame_stride == 30
    for bad in (["--fps", "-1"], ["--fps", "inf"], ["--frame-stride", "0"], ["--max-frames", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*base, *bad])
    assert "expected a number > 0 and <= 1000 (vidret.video.timeline.MAX_SAMPLE_FPS), got '-1'" in capsys.readouterr().err


def test_segment_decoder_samples_by_rate(tmp_path):
    # A 4 s clip at 10 fps: --frame-stride 5 reads frames 0, 5, 10, ... of each segment; over
    # [1, 3) s that is 20 frames / 5 = 4 frames (codes 10, 15, 20, 25); --fps 1 with --max-frames 2
    # over the whole video gives 4 samples at 0, 1, 2, 3 s thinned to 2 (codes 10 and 30).
    from vidret.evaluation.embeddings.model import SegmentDecoder
    from vidret.evaluation.planning.tasks import Segment
    from vidret.testing.synthetic import decode_frame_index, make_test_video

    video = str(make_test_video(tmp_path / "v.mp4", 4.0, fps=10, size=(64, 48), gop=10))
    seg = Segment("s", "v", "s", "clip", video, 1.0, 3.0)
    whole = Segment("w", "v", "w", "video", video, None, None)
    ((_, frames, error),) = SegmentDecoder([[seg]], 8, (64, 64), "exact", sampling={"frame_stride": 5})[0]
    assert error is None and [decode_frame_index(f) for f in frames] == [10, 15, 20, 25]
    ((_, frames, _),) = SegmentDecoder([[whole]], 8, (64, 64), "exact", sampling={"fps": 1.0, "max_frames": 2})[0]
    assert [decode_frame_index(f) for f in frames] == [10, 30]
    ((_, frames, _),) = SegmentDecoder([[seg]], 3, (64, 64), "exact")[0]  # uniform: the adapter's count
    assert len(frames) == 3


def test_oracle_run_with_rate_sampling_is_recorded_and_cached_apart(tmp_path):
    from runner_helpers import build_sample_repos, run

    repos = build_sample_repos(tmp_path / "samples")
    cache = str(tmp_path / "cache")
    out = tmp_path / "dense.json"
    dense = run("lovr", repos["lovr"], "oracle", tasks="t2c", frame_stride=5, max_frames=6, cache_dir=cache, output=str(out))
    from vidret.evaluation.results.validation import validate_file

    validate_file(out, require_all_tasks=False)  # the schema knows the sampling settings
    assert dense["tasks"]["t2c"]["metrics"]["R@1"] == 100.0
    s = dense["settings"]
    assert (s["fps"], s["max_frames"], s["frame_stride"]) == (None, 6, 5)
    uniform = run("lovr", repos["lovr"], "oracle", tasks="t2c", cache_dir=cache)
    assert (uniform["settings"]["fps"], uniform["settings"]["frame_stride"]) == (None, None)
    assert uniform["cache"]["namespace"] != dense["cache"]["namespace"]
    assert uniform["cache"]["hits"] == 0  # nothing of the dense run's is reused
