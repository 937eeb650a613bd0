"""Results validation: schema, consistency with vidret.benchmarks, and the `vidret validate` command."""

from __future__ import annotations

import json

import pytest
from results_helpers import DELETE, make_results, with_change, write_results

from vidret.benchmarks import BENCHMARKS
from vidret.cli.main import main
from vidret.evaluation.validation import (
    Problem,
    ResultsValidationError,
    check_results,
    load_results,
    summarize,
    validate_file,
    validate_results,
)


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
def test_valid_results_have_no_problems(benchmark):
    assert check_results(make_results(benchmark)) == []
    validate_results(make_results(benchmark))  # does not raise


def test_schema_problems_name_the_field():
    results = with_change(make_results(), "dataset.revision", DELETE)
    results = with_change(results, "settings.frames", 0)
    results["unexpected"] = 1
    problems = check_results(results)
    assert "dataset.revision" in paths(problems)
    assert "settings.frames" in paths(problems)
    assert any(p.path == "(root)" and "unexpected" in p.message for p in problems)
    assert next(p for p in problems if p.path == "dataset.revision").message == "required field is missing"


def test_non_object_is_reported_at_root():
    assert paths(check_results([1, 2])) == ["(root)"]


@pytest.mark.parametrize(
    "path, value, expected_path, fragment",
    [
        ("tasks.t2v.metrics.R@1", 100.5, "tasks.t2v.metrics.R@1", "outside [0, 100]"),
        ("tasks.t2v.metrics.R@1", -1.0, "tasks.t2v.metrics.R@1", "outside [0, 100]"),
        ("tasks.t2v.metrics.MdR", 0.0, "tasks.t2v.metrics.MdR", "below 1"),
        ("tasks.t2v.metrics.MnR", 13.5, "tasks.t2v.metrics.MnR", "exceeds gallery_size + 1 = 13"),
        ("tasks.t2v.metrics.R@1", float("nan"), "tasks.t2v.metrics.R@1", "not a finite number"),
        ("tasks.t2v.metrics.R@10", 1.0, "tasks.t2v.metrics.R@10", "recall cannot drop"),
        ("tasks.v2t.metrics.R@50", DELETE, "tasks.v2t.metrics.R@50", "missing"),
        ("tasks.t2v.main_score", "R@5", "tasks.t2v.main_score", "expected 'R@1'"),
        ("tasks.t2v.num_failed", 11, "tasks.t2v.num_failed", "exceeds num_queries = 10"),
        ("tasks.t2v.gallery_size", 0, "tasks.t2v.gallery_size", "nothing was ranked"),
        ("tasks.c2t", DELETE, "tasks.c2t", "scores it by default"),
        ("num_failed", 1, "num_failed", "failures list has 0 entries"),
        ("created_at", "yesterday", "created_at", "date-time"),
        ("num_queries", 39, "num_queries", "add up to 40"),
        ("tasks.t2v.failed_queries", ["q1"], "tasks.t2v.failed_queries", "1 entries but num_failed = 0"),
    ],
)
def test_consistency_problems(path, value, expected_path, fragment):
    problems = check_results(with_change(make_results("lovr"), path, value))
    matching = [p for p in problems if p.path == expected_path and fragment in p.message]
    assert matching, problems


def test_rank_of_a_miss_is_accepted():
    # Every query missed (its relevant video failed upstream): retrieval_metrics gives each rank
    # gallery_size + 1, so MdR = MnR = 13 on a gallery of 12 is a real result, not an error.
    results = with_change(make_results("lovr"), "tasks.t2v.metrics.MnR", 13.0)
    results = with_change(results, "tasks.t2v.metrics.MdR", 13.0)
    assert check_results(results) == []


def test_runner_fields_are_accepted_when_consistent():
    results = make_results("lovr")
    results["num_queries"] = 40
    results["tasks"]["t2v"]["failed_queries"] = []
    results["cache"] = {"dir": None, "namespace": None, "hits": 0, "misses": 12}
    assert check_results(results) == []


def test_tf_covr_map_range_and_unknown_task():
    results = with_change(make_results("tf-covr"), "tasks.cvr.metrics.mAP@50", 101.0)
    results["tasks"]["t2v"] = results["tasks"]["cvr"]
    problems = check_results(results)
    assert any(p.path == "tasks.cvr.metrics.mAP@50" and "outside [0, 100]" in p.message for p in problems)
    assert any(p.path == "tasks.t2v" and "unknown task" in p.message for p in problems)


def test_main_score_must_be_a_reported_metric():
    results = with_change(make_results("lovr"), "tasks.t2v.metrics.R@1", DELETE)
    problems = check_results(results)
    assert any(p.path == "tasks.t2v.main_score" and "not among" in p.message for p in problems)


def test_failed_queries_need_failed_items():
    results = with_change(make_results("lovr"), "tasks.t2v.num_failed", 2)
    assert any(p.path == "tasks.t2v.num_failed" and "no failed item" in p.message for p in check_results(results))
    results["num_failed"] = 1
    results["failures"] = [{"item_id": "vid1", "reason": "moov atom not found"}]
    assert check_results(results) == []


def test_partial_runs_are_accepted_on_request():
    results = with_change(make_results("lovr"), "tasks.c2t", DELETE)
    assert check_results(results)
    assert check_results(results, require_all_tasks=False) == []
    # Optional tasks are never required but are checked when present.
    results["tasks"]["theme2c"] = dict(results["tasks"]["t2v"])
    assert check_results(results, require_all_tasks=False) == []


def test_validate_results_raises_with_every_problem(tmp_path):
    results = with_change(make_results(), "num_failed", 3)
    results = with_change(results, "tasks.t2v.metrics.R@1", 200.0)
    with pytest.raises(ResultsValidationError) as info:
        validate_results(results, source="r.json")
    assert {"num_failed", "tasks.t2v.metrics.R@1"} <= set(paths(info.value.problems))
    assert str(info.value).startswith("r.json: ")
    assert "tasks.t2v.metrics.R@1: 200.0 is outside" in str(info.value)


def test_load_results_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_results(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ResultsValidationError, match="not valid JSON") as info:
        load_results(bad)
    assert str(bad) in str(info.value)
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(ResultsValidationError, match="expected a JSON object, got list"):
        load_results(listed)


def test_parse_created_at():
    from datetime import datetime, timezone

    from vidret.evaluation.validation import parse_created_at

    assert parse_created_at("2026-03-01T12:00:00Z") == datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    assert parse_created_at("2026-03-01T14:00:00+02:00") == parse_created_at("2026-03-01T12:00:00")
    with pytest.raises(ValueError):
        parse_created_at("yesterday")


def test_validate_file_returns_results(tmp_path):
    path = write_results(tmp_path / "r.json", make_results("tf-covr"))
    assert validate_file(path)["benchmark"] == "tf-covr"


def test_summarize():
    line = summarize(make_results("tf-covr", random_weights=True))
    assert line.startswith("tf-covr/test acme/vclip@0123abcd [clip, 8 frames] RANDOM-WEIGHTS")
    assert "cvr mAP@50=15.00" in line and line.endswith("(0 failed)")


def test_cli_validate_ok_and_invalid(tmp_path, capsys):
    good = write_results(tmp_path / "good.json", make_results("lovr"))
    bad = write_results(tmp_path / "bad.json", with_change(make_results("lovr"), "tasks.t2v.metrics.R@50", 101))
    assert main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK {good}: lovr/test acme/vclip@0123abcd")
    assert out.count("\n") == 1

    assert main(["validate", str(good), str(bad), str(tmp_path / "none.json")]) == 1
    captured = capsys.readouterr()
    assert f"OK {good}" in captured.out
    assert f"INVALID {bad}: 1 problem(s)" in captured.err
    assert "tasks.t2v.metrics.R@50: 101 is outside [0, 100]" in captured.err
    assert "results file not found" in captured.err


def test_cli_validate_allow_partial(tmp_path, capsys):
    partial = write_results(tmp_path / "p.json", with_change(make_results("lovr"), "tasks.v2t", DELETE))
    assert main(["validate", str(partial)]) == 1
    assert main(["validate", "--allow-partial", str(partial)]) == 0


def test_schema_file_is_the_one_shipped():
    from vidret.evaluation.validation import SCHEMA_PATH, load_schema

    assert load_schema() == json.loads(SCHEMA_PATH.read_text())
    assert {"benchmark", "tasks", "num_failed", "failures"} <= set(load_schema()["required"])
