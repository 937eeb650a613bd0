"""What a new user trips over: a missing --data path, a repo without its videos, a partial
results file, an abbreviated option."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from results_helpers import make_results, write_results
from runner_helpers import build_sample_repos

from vidret.builders import build
from vidret.cli.build import benchmark_main
from vidret.cli.main import build_parser, main
from vidret.evaluation.planning.data_location import check_data_path, hub_dataset_commit, looks_like_path
from vidret.evaluation.planning.video_check import check_videos_found


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("usability"))


# --- --data: a path that does not exist fails at once ----------------------------------------------


def test_missing_local_path_fails_at_once_without_asking_the_hub(tmp_path):
    """`build/nonexistent` next to a build/ folder is a path: no Hub request, no 30 s of retries."""
    (tmp_path / "build" / "lovr").mkdir(parents=True)
    # A Hub request would go to a closed port and be retried with waits; none may be made.
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_DISABLE_TELEMETRY": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "vidret", "evaluate", "--benchmark", "lovr", "--data", "build/nonexistent", "--model", "oracle"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"vidret evaluate: --data 'build/nonexistent': no such folder: {tmp_path / 'build' / 'nonexistent'} "
        "(build/ holds: lovr) (a Hub dataset id looks like 'org/name')"
    )


@pytest.mark.parametrize(
    "data, path_like",
    [
        ("org/name", False), ("squad", False), ("vidret/tf-covr", False),
        ("./x", True), ("/abs/x", True), ("~/x", True), ("a/b/c", True), ("org/name/", True),
        ("build\\lovr", True), ("org/na me", True), ("org/na--me", True), ("build/lovr", True),
    ],
)
def test_looks_like_path(data, path_like, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "build").mkdir()  # so "build/lovr" is a path here, while "org/name" stays a Hub id
    assert looks_like_path(data) is path_like
    if path_like:
        with pytest.raises(ValueError, match="no such folder"):
            check_data_path(data)
    else:
        check_data_path(data)  # left to the Hub lookup


def test_offline_mode_leaves_the_hub_id_to_the_local_cache(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import OfflineModeIsEnabled

    def offline(self, *args, **kwargs):
        raise OfflineModeIsEnabled("offline")

    monkeypatch.setattr(huggingface_hub.HfApi, "repo_info", offline)
    assert hub_dataset_commit("org/name", None) is None


# --- an annotations-only repo without --video-root ---------------------------------------------------


@pytest.fixture(scope="module")
def annotations_only(repos, tmp_path_factory):
    out = tmp_path_factory.mktemp("annotations") / "tf-covr"
    build("tf-covr", repos["tf-covr"].parent / "raw_tfcovr", out, videos="none", progress=False)
    return out


def test_no_video_found_is_said_up_front(annotations_only, tmp_path, caplog):
    argv = ["evaluate", "--benchmark", "tf-covr", "--data", str(annotations_only), "--model", "oracle", "--no-cache",
            "--output", str(tmp_path / "r.json")]
    with caplog.at_level(logging.WARNING), pytest.raises(SystemExit) as err:
        main(argv)
    message = str(err.value)
    assert message.startswith("vidret evaluate: no video was found in the dataset repo: 10 video(s) to embed")
    assert f"(e.g. {annotations_only / 'videos'}" in message and message.endswith("pass --video-root DIR, the folder holding the videos")
    assert caplog.records == []  # not one warning per video first
    assert not (tmp_path / "r.json").exists()


def test_video_root_given_runs(annotations_only, repos, tmp_path):
    videos = repos["tf-covr"].parent / "raw_tfcovr" / "FineGD_videos"
    out = tmp_path / "r.json"
    assert main(["evaluate", "--benchmark", "tf-covr", "--data", str(annotations_only), "--model", "oracle", "--no-cache",
                 "--video-root", str(videos), "--output", str(out), "--num-workers", "0"]) == 0
    assert out.exists()
    with pytest.raises(SystemExit, match=f"no video was found under --video-root {tmp_path}"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(annotations_only), "--model", "oracle", "--no-cache",
              "--video-root", str(tmp_path)])


def test_stored_video_embeddings_need_no_video(annotations_only, repos, tmp_path):
    """Videos taken from --embeddings (e.g. released ones) need no video file: no check, no error."""
    from runner_helpers import run

    from vidret.evaluation.embeddings.export import export_embeddings

    cache = str(tmp_path / "cache")
    run("tf-covr", repos["tf-covr"], "oracle", cache_dir=cache, output=str(tmp_path / "full.json"))
    export_embeddings(tmp_path / "full.json", tmp_path / "export", cache_dir=cache)
    record = run("tf-covr", annotations_only, "oracle", embeddings=f"videos={tmp_path / 'export'}", cache_dir=cache)
    assert record["tasks"]["cvr"]["metrics"]["mAP@50"] == 100.0


def test_some_videos_missing_is_left_to_the_run(tmp_path):
    """One video present is enough to start: the missing ones are counted as failed items by the run."""
    present = tmp_path / "a.mp4"
    present.write_bytes(b"x")
    segments = [SimpleNamespace(source=str(tmp_path / f"{name}.mp4")) for name in ("missing1", "missing2", "a")]
    check_videos_found(SimpleNamespace(segments=segments), None)
    with pytest.raises(ValueError, match=r"2 video\(s\) to embed, none of the 2 looked for exists"):
        check_videos_found(SimpleNamespace(segments=segments[:2] * 2), None)  # clips of a video share its file


# --- vidret validate on a --tasks run -------------------------------------------------------------


def test_validate_names_allow_partial_for_a_tasks_subset(tmp_path, capsys):
    results = make_results("lovr")
    for task in ("v2t", "t2c", "c2t"):
        del results["tasks"][task]
    results["num_queries"] = results["tasks"]["t2v"]["num_queries"]
    path = write_results(tmp_path / "t2v.json", results)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"  {path} scores only t2v of lovr's default tasks t2v, v2t, t2c, c2t (a --tasks run): pass --allow-partial to accept it" in err
    assert main(["validate", "--allow-partial", str(path)]) == 0

    results["num_failed"] = 3  # another problem: --allow-partial alone would not do
    bad = write_results(tmp_path / "bad.json", results)
    assert main(["validate", str(bad)]) == 1
    assert "--allow-partial accepts the missing tasks, not the other problems" in capsys.readouterr().err
    assert main(["submit", str(path), "--model-repo", "acme/vclip", "--dry-run"]) == 1  # the same hint, same flag
    assert "(a --tasks run): pass --allow-partial to accept it" in capsys.readouterr().err
    complete = write_results(tmp_path / "full.json", {**make_results("lovr"), "num_failed": 3})
    assert main(["validate", str(complete)]) == 1
    assert "--allow-partial" not in capsys.readouterr().err


# --- no abbreviated options -------------------------------------------------------------------------


def all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from all_parsers(sub)


def test_no_parser_accepts_abbreviations():
    parsers = list(all_parsers(build_parser()))
    assert len(parsers) >= 13  # vidret, its 10 commands, metrics install/list
    assert [p.prog for p in parsers if p.allow_abbrev] == []


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["evaluate", "--benchmark", "lovr", "--data", ".", "--model", "oracle", "--fram", "4"], "--fram"),
        (["metrics", "list", "--cache", "x"], "--cache"),
        (["validate", "r.json", "--allow"], "--allow"),
    ],
)
def test_abbreviated_option_is_refused(argv, flag, capsys):
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    assert f"unrecognized arguments: {flag}" in capsys.readouterr().err


def test_dataset_entry_point_refuses_abbreviations(capsys):
    with pytest.raises(SystemExit) as err:
        benchmark_main("lovr", "datasets_scripts.lovr", None, ["--raw", "r", "--ou", "o"])
    assert err.value.code == 2
    assert "--ou" in capsys.readouterr().err


def test_help_still_works(capsys):
    with pytest.raises(SystemExit) as err:
        main(["evaluate", "--help"])
    assert err.value.code == 0 and "--frames" in capsys.readouterr().out
