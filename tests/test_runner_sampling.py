"""`--fps R` / `--max-frames M` / `--frame-stride S` beside `--frames N`: checked, recorded, keyed."""

from __future__ import annotations

import pytest

from vidret.evaluation.runner import EvalSettings


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
    from vidret.evaluation.runner import cache_key
    from vidret.evaluation.oracle import OracleAdapter

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
    assert "expected a positive number, got '-1'" in capsys.readouterr().err
