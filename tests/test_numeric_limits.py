"""Every numeric flag and setting is bounded before work starts (issue 19, item 5): one line naming
the flag, the limit (and the constant that sets it, or the flag that raises it), exit status 2."""

from __future__ import annotations

import re

import pytest

from runner_helpers import build_sample_repos, build_tiny_model
from vidret.cli.main import main
from vidret.evaluation.running.limits import LimitError
from vidret.evaluation.running.runner import EvalSettings, evaluate

HUGE = "9" * 400  # a 400-digit number: int() reads it, float() makes it 1e400 = inf


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("limits"))


def _refused(argv: list[str], capsys) -> str:
    """Run the command line; assert exit status 2 and return the error line (the last of stderr)."""
    try:
        status = main(argv)
    except SystemExit as exit_info:  # argparse's own refusals
        status = exit_info.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no message"
    return err[-1]


EVALUATE = ["evaluate", "--benchmark", "lovr", "--data", ".", "--model", "m"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compare", "a.json", "b.json", "--resamples", "1000000000"],
         "argument --resamples: expected an integer from 1 to 100,000 (vidret.scoring.bootstrap.MAX_RESAMPLES), got '1000000000'"),
        (["compare", "a.json", "b.json", "--seed", HUGE], "argument --seed: expected an integer from 0 to 4,294,967,295, got '"),
        ([*EVALUATE, "--fps", "1e308"],
         "argument --fps: expected a number > 0 and <= 1000 (vidret.video.timeline.MAX_SAMPLE_FPS), got '1e308'"),
        ([*EVALUATE, "--fps", "nan"], "argument --fps: expected a number > 0 and <= 1000"),
        ([*EVALUATE, "--frame-stride", HUGE],
         "argument --frame-stride: expected an integer from 1 to 1,000,000 (vidret.video.timeline.MAX_FRAME_STRIDE), got "
         f"'{'9' * 24}'... (400 characters)"),
        ([*EVALUATE, "--max-frames", HUGE], "argument --max-frames: expected an integer from 1 to 10,000 (vidret.video.timeline.MAX_FRAMES)"),
        ([*EVALUATE, "--frames", "10001"], "argument --frames: expected an integer from 1 to 10,000 (vidret.video.timeline.MAX_FRAMES)"),
        ([*EVALUATE, "--resolution", "100000"],
         "argument --resolution: expected an integer from 1 to 4,096 (vidret.adapters.preprocess.MAX_RESOLUTION)"),
        ([*EVALUATE, "--batch-size", "100000000000"],
         "argument --batch-size: expected an integer from 1 to 4,096 (vidret.evaluation.running.limits.MAX_BATCH_SIZE)"),
        ([*EVALUATE, "--limit", HUGE], "argument --limit: expected an integer from 1 to 1,000,000,000"),
        ([*EVALUATE, "--num-workers", "100000"], "argument --num-workers: expected an integer from 0 to 256"),
        ([*EVALUATE, "--text-max-length", HUGE], "argument --text-max-length: expected an integer from 2 to 1,048,576"),
        ([*EVALUATE, "--batch-memory", "inf"],
         "argument --batch-memory: expected a number > 0 and <= 1024 (vidret.evaluation.running.limits.MAX_BATCH_MEMORY_GIB)"),
        (["sample", "v.mp4", "--frames", HUGE], "argument --frames: expected an integer from 1 to 10,000"),
        (["sample", "v.mp4", "--columns", "0"], "argument --columns: expected an integer from 1 to 10,000"),
        (["demo", "--frames", "1000"], "argument --frames: expected an integer from 1 to 64, got '1000'"),
        (["build", "lovr", "--raw", "r", "--out", "o", "--workers", "0"], "argument --workers: expected an integer from 1 to 256"),
    ],
)
def test_a_flag_past_its_bound_is_refused_by_the_parser(argv, expected, capsys):
    line = _refused(argv, capsys)
    assert expected in line and len(line) < 240, line


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--frames", "10000", "--resolution", "224"],
         "--batch-size 16 x 10000 frames x 3 x 224x224 float32 model input (the flags given) needs 89.72 GiB per batch, "
         "more than the batch memory budget of 2.00 GiB: pass fewer --frames / --max-frames or a smaller --resolution, "
         "or raise the budget with --batch-memory GIB (EvalSettings.batch_memory), default 2"),
        (["--frames", "64", "--resolution", "448"], "needs 2.30 GiB per batch, more than the batch memory budget of 2.00 GiB: "
         "pass --batch-size 13 or less, or raise the budget with --batch-memory GIB"),
        (["--fps", "2", "--max-frames", "64", "--resolution", "448", "--batch-memory", "1"], "pass --batch-size 6 or less"),
    ],
)
def test_frames_times_resolution_times_batch_is_checked_against_the_budget(repos, tmp_path, capsys, flags, expected):
    argv = ["evaluate", "--benchmark", "lovr", "--data", str(repos["lovr"]), "--model", str(tmp_path / "any-model"),
            "--no-cache", "--output", str(tmp_path / "r.json"), *flags]
    line = _refused(argv, capsys)
    assert line == f"vidret evaluate: error: {expected}" if expected.startswith("--batch-size") else expected in line, line
    assert not (tmp_path / "r.json").exists()


def test_the_loaded_model_s_frames_and_input_size_are_checked_before_decoding(repos, tmp_path, capsys):
    """No --resolution: the tiny CLIP's own 32x32 input is only known once it is loaded."""
    model = build_tiny_model("clip", tmp_path)
    argv = ["evaluate", "--benchmark", "lovr", "--data", str(repos["lovr"]), "--model", str(model), "--frames", "2000",
            "--batch-memory", "0.1", "--no-cache", "--num-workers", "0", "--output", str(tmp_path / "r.json")]
    line = _refused(argv, capsys)
    assert line.startswith("vidret evaluate: error: --batch-size 16 x 2000 frames x 3 x 32x32 float32 model input (model ")
    assert "needs 0.37 GiB per batch, more than the batch memory budget of 0.10 GiB: pass --batch-size 4 or less" in line
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("frame_stride", int(HUGE), "--frame-stride must be an integer from 1 to 1,000,000 (vidret.video.timeline.MAX_FRAME_STRIDE), got a 400-character value"),
        ("fps", 1e308, "--fps must be a number > 0 and <= 1000"),
        ("max_frames", int(HUGE), "--max-frames must be an integer from 1 to 10,000"),
        ("frames", 10_001, "--frames must be an integer from 1 to 10,000"),
        ("frames", 8.5, "--frames must be an integer from 1 to 10,000"),
        ("batch_size", 10**6, "--batch-size must be an integer from 1 to 4,096"),
        ("num_workers", 10**6, "--num-workers must be an integer from 0 to 256"),
        ("limit", int(HUGE), "--limit must be an integer from 1 to 1,000,000,000"),
        ("batch_memory", 0, "--batch-memory must be a number of GiB > 0 and <= 1024"),
        ("batch_memory", float("nan"), "--batch-memory must be a number of GiB > 0 and <= 1024"),
    ],
)
def test_library_settings_get_the_same_bounds(repos, field, value, message):
    settings = EvalSettings(benchmark="lovr", data=str(repos["lovr"]), model="oracle")
    setattr(settings, field, value)
    if field == "max_frames":
        settings.fps = 1.0
    with pytest.raises(LimitError, match=re.escape(message)):
        evaluate(settings)


def test_library_resolution_and_frames_budget(repos, tmp_path):
    settings = EvalSettings(benchmark="lovr", data=str(repos["lovr"]), model=str(tmp_path / "m"), frames=10_000, resolution=224)
    with pytest.raises(LimitError, match=r"needs 89\.72 GiB per batch, more than the batch memory budget of 2\.00 GiB"):
        evaluate(settings)
    settings.resolution = int(HUGE)
    with pytest.raises(LimitError, match=r"--resolution must be an integer from 1 to 4,096"):
        evaluate(settings)


def test_sampling_rates_are_bounded_in_the_video_layer(tmp_path):
    from vidret.testing.synthetic import make_test_video
    from vidret.video import sample_frames

    video = make_test_video(tmp_path / "v.mp4", 1.0)
    with pytest.raises(ValueError, match=r"fps=1e\+308 is above the maximum of 1000 samples per second \(vidret.video.timeline.MAX_SAMPLE_FPS\)"):
        sample_frames(video, fps=1e308)
    with pytest.raises(ValueError, match=r"frame_stride is above the maximum of 1000000 \(vidret.video.timeline.MAX_FRAME_STRIDE\)"):
        sample_frames(video, frame_stride=int(HUGE))
    with pytest.raises(ValueError, match=r"max_frames=a 400-digit number exceeds the maximum of 10000"):
        sample_frames(video, fps=1.0, max_frames=int(HUGE))
    assert len(sample_frames(video, fps=1000, max_frames=3, size=(32, 32))) == 3  # the bound itself is allowed


def test_resamples_are_bounded_in_the_library():
    import numpy as np

    from vidret.scoring.bootstrap import MAX_RESAMPLES, QueryValues, bootstrap_intervals, check_bootstrap_args

    with pytest.raises(ValueError, match=r"num_resamples \(--resamples\) is above the maximum of 100,000"):
        check_bootstrap_args(10**9, 0.95)
    with pytest.raises(ValueError, match="MAX_RESAMPLES"):
        bootstrap_intervals({"R@1": QueryValues(np.ones(5))}, num_resamples=10**9)
    assert check_bootstrap_args(MAX_RESAMPLES, 0.95) == (MAX_RESAMPLES, 0.95, 0)


def test_load_adapter_refuses_a_huge_resolution():
    from vidret.adapters.preprocess import FrameTransform

    with pytest.raises(ValueError, match=r"resolution \(--resolution N\) is above the maximum of 4096 pixels per side"):
        FrameTransform.from_processor_config(None, 224, resolution=100_000)
