"""Failures are counted, listed and scored as misses; --strict stops; bad arguments say what is wrong."""

from __future__ import annotations

import json
import re

import pytest

from runner_helpers import build_sample_repos, copy_repo, run
from vidret.cli.main import main
from vidret.evaluation.running.runner import EvalSettings, EvaluationError, evaluate
from vidret.evaluation.results.validation import validate_file
from vidret.testing.synthetic import make_corrupt_video


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("errors"))


@pytest.fixture(scope="module")
def broken_lovr(repos, tmp_path_factory):
    """A LoVR repo whose first test video is corrupt: all its clips and the video fail."""
    repo = copy_repo(repos["lovr"], tmp_path_factory.mktemp("broken") / "lovr")
    import datasets

    videos = datasets.load_dataset(str(repo), "videos", split="test")
    clips = datasets.load_dataset(str(repo), "clips", split="test")
    victim = videos[0]
    make_corrupt_video(repo / victim["video"])
    n_clips = sum(1 for c in clips if c["video_id"] == victim["video_id"])
    return repo, victim["video_id"], n_clips, len(clips), len(videos)


def test_corrupt_video_counted_as_misses(broken_lovr, tmp_path):
    repo, vid, n_bad, n_clips, n_videos = broken_lovr
    out = tmp_path / "r.json"
    record = run("lovr", repo, "oracle", output=str(out))
    validate_file(out)
    kinds = sorted((f["kind"], f["item_id"].split("-Scene")[0]) for f in record["failures"])
    assert kinds == [("clip", vid)] * n_bad + [("video", vid)]
    assert all(f["reason"] and f["source"].endswith(".mp4") for f in record["failures"])
    assert record["num_failed"] == n_bad + 1
    tasks = record["tasks"]
    # Queries whose own video/clip failed are misses; so are texts whose target is gone.
    assert tasks["c2t"]["num_failed"] == n_bad and tasks["v2t"]["num_failed"] == 1
    assert tasks["t2c"]["num_failed"] == 0 and tasks["t2c"]["gallery_size"] == n_clips - n_bad
    for task_id, total, bad in (("t2c", n_clips, n_bad), ("c2t", n_clips, n_bad), ("t2v", n_videos, 1), ("v2t", n_videos, 1)):
        assert tasks[task_id]["num_queries"] == total
        assert tasks[task_id]["metrics"]["R@1"] == pytest.approx(100.0 * (total - bad) / total)
    assert tasks["c2t"]["failed_queries"] and all(q.startswith(vid) for q in tasks["c2t"]["failed_queries"])
    # Per-query data: every query kept, the failed ones (and texts whose target is gone) as misses.
    for task_id in ("t2c", "c2t"):
        per_query = tasks[task_id]["per_query"]
        assert len(per_query["query_id"]) == len(per_query["rank"]) == n_clips
        misses = {q for q, r in zip(per_query["query_id"], per_query["rank"]) if r is None}
        assert len(misses) == n_bad and all(q.startswith(vid) for q in misses)
        low, high = tasks[task_id]["ci_low"]["R@1"], tasks[task_id]["ci_high"]["R@1"]
        assert low < tasks[task_id]["metrics"]["R@1"] <= high  # the misses widen the interval
    assert set(tasks["c2t"]["failed_queries"]) == {q for q, r in zip(tasks["c2t"]["per_query"]["query_id"], tasks["c2t"]["per_query"]["rank"]) if r is None}


def test_strict_makes_a_decode_failure_fatal(broken_lovr, tmp_path):
    repo, vid, *_ = broken_lovr
    out = tmp_path / "r.json"
    with pytest.raises(EvaluationError, match=f"--strict: clip '{vid}-Scene-"):
        run("lovr", repo, "oracle", strict=True, output=str(out))
    assert not out.exists()
    with pytest.raises(SystemExit, match="failed to decode"):
        main(["evaluate", "--benchmark", "lovr", "--data", str(repo), "--model", "oracle", "--strict",
              "--no-cache", "--num-workers", "0", "--output", str(out)])


def test_cli_writes_results_and_prints_table(repos, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", "oracle",
                 "--cache-dir", str(tmp_path / "c"), "--num-workers", "1", "--output", str(out), "--limit", "4"]) == 0
    printed = capsys.readouterr().out
    assert "tf-covr cvr [vidret protocol]: composed video retrieval" in printed  # the table names the protocol
    assert re.search(r"oracle \(check\)\s+100\.00 ", printed)  # its numbers on its line or the next
    assert json.loads(out.read_text())["settings"]["limit"] == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["--benchmark", "msrvtt"], "unknown benchmark"),
        (["--tasks", "t2v,cvr"], "unknown task"),
        (["--long-video", "frames"], "--long-video must be"),
        (["--long-video", "window:0"], "positive number of seconds"),
        (["--fusion", "concat"], "unknown fusion"),
        (["--data", "/no/such/folder"], "no such folder"),
        (["--video-root", "/no/such/videos"], "is not a folder"),
        (["--model", "/no/such/model"], "/no/such/model"),
        (["--split", "validation"], "validation"),
    ],
)
def test_bad_arguments_are_named(repos, tmp_path, args, message):
    base = {"--benchmark": "lovr", "--data": str(repos["lovr"]), "--model": "oracle"}
    given = dict(zip(args[::2], args[1::2]))
    argv = ["evaluate", *[x for k, v in {**base, **given}.items() for x in (k, v)], "--no-cache", "--output", str(tmp_path / "r.json")]
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--limit", "0"), ("--frames", "x"), ("--batch-size", "-1"), ("--num-workers", "-2"),
        ("--resolution", "0"), ("--resolution", "224x224"), ("--pooling", "median"),
        ("--text-max-length", "1"), ("--dtype", "int8"),
    ],
)
def test_bad_numbers_rejected_by_the_parser(flag, value, capsys):
    with pytest.raises(SystemExit) as err:
        main(["evaluate", "--benchmark", "lovr", "--data", ".", "--model", "oracle", flag, value])
    assert err.value.code == 2
    assert flag in capsys.readouterr().err


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("frames", 0, "--frames"),
        ("batch_size", 0, "--batch-size"),
        ("limit", 0, "--limit"),
        ("num_workers", -1, "--num-workers"),
        ("decode_mode", "fast", "--decode-mode"),
        ("data", "", "--data is required"),
        ("model", "", "--model is required"),
        ("aggregate", "median", "--aggregate"),
        ("resolution", 0, "--resolution must be a positive number of pixels"),
        ("pooling", "median", "--pooling must be one of mean|max"),
        ("text_max_length", 1, "--text-max-length must be >= 2"),
        ("dtype", "int8", "use --dtype fp32|bf16|fp16"),
    ],
)
def test_settings_check(repos, field, value, message):
    settings = EvalSettings(benchmark="lovr", data=str(repos["lovr"]), model="oracle")
    setattr(settings, field, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate(settings)


def test_model_overrides_refused_for_the_oracle(repos, tmp_path):
    with pytest.raises(SystemExit, match="--pooling, --dtype: the oracle has no model to configure"):
        main(["evaluate", "--benchmark", "lovr", "--data", str(repos["lovr"]), "--model", "oracle", "--pooling", "max",
              "--dtype", "bf16", "--no-cache", "--output", str(tmp_path / "r.json")])
    assert not (tmp_path / "r.json").exists()


def test_settings_from_dict_rejects_unknown_keys():
    from vidret.evaluation.running.runner import settings_from_dict

    with pytest.raises(ValueError, match="unknown evaluation setting"):
        settings_from_dict({"benchmark": "lovr", "data": ".", "model": "oracle", "frame": 8})
    assert settings_from_dict({"benchmark": "lovr", "data": ".", "model": "oracle"}).split == "test"


def test_help_lists_every_task(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "lovr: t2v,v2t,t2c,c2t (optional: theme2c,c2theme); tf-covr: cvr" in text
    for flag in ("--resolution N", "--pooling {mean,max}", "--text-max-length N", "--dtype {fp32,bf16,fp16}"):
        assert flag in text
    assert "--text-max-length, --dtype and --fusion override the model's adapter preset" in text
