"""Results validation: schema, consistency with vidret.benchmarks, and the `vidret validate` command."""

from __future__ import annotations

import json

import pytest
from results_helpers import DELETE, make_results, with_change, with_per_query, write_results

from vidret.benchmarks import BENCHMARKS
from vidret.cli.main import main
from vidret.evaluation.results.schema import MAX_RESULTS_BYTES
from vidret.evaluation.results.validation import (
    Problem,
    ResultsValidationError,
    check_results,
    load_record,
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
    results = make_results("lovr")
    results["tasks"]["t2v"]["metrics"] = {"R@1": 0.0, "R@5": 0.0, "R@10": 0.0, "R@50": 0.0, "MdR": 13.0, "MnR": 13.0}
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

    from vidret.evaluation.results.validation import parse_created_at

    assert parse_created_at("2026-03-01T12:00:00Z") == datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    assert parse_created_at("2026-03-01T14:00:00+02:00") == parse_created_at("2026-03-01T12:00:00")
    with pytest.raises(ValueError):
        parse_created_at("yesterday")


def test_validate_file_returns_results(tmp_path):
    path = write_results(tmp_path / "r.json", make_results("tf-covr"))
    assert validate_file(path)["benchmark"] == "tf-covr"


def test_summarize():
    line = summarize(make_results("tf-covr", random_weights=True))
    assert line.startswith("tf-covr/test [vidret protocol] acme/vclip@0123abcd [clip, 8 frames] RANDOM-WEIGHTS")
    assert "cvr mAP@50=15.00" in line and line.endswith("(0 failed)")


def test_summarize_a_run_that_did_not_record_its_frames():
    # settings.frames is null for embeddings read from released files without --frames.
    line = summarize(with_change(make_results("lovr"), "settings.frames", None))
    assert "[clip, frames not recorded]" in line and "None" not in line


def test_cli_validate_ok_and_invalid(tmp_path, capsys):
    good = write_results(tmp_path / "good.json", make_results("lovr"))
    bad = write_results(tmp_path / "bad.json", with_change(make_results("lovr"), "tasks.t2v.metrics.R@50", 101))
    assert main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK {good}: lovr/test [vidret protocol] acme/vclip@0123abcd")
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
    from vidret.evaluation.results.validation import SCHEMA_PATH, load_schema

    assert load_schema() == json.loads(SCHEMA_PATH.read_text())
    assert {"benchmark", "tasks", "num_failed", "failures"} <= set(load_schema()["required"])


# --- impossible results (issue 15, item 14) ------------------------------------------------------


def t2v_with(metrics: dict, **task) -> dict:
    results = make_results("lovr")
    results["tasks"]["t2v"]["metrics"].update(metrics)
    results["tasks"]["t2v"].update(task)
    return results


@pytest.mark.parametrize(
    "metrics, task, path, fragment",
    [
        # R@1 = 100: every rank is 1, so the median rank is 1.
        ({"R@1": 100.0, "R@5": 100.0, "R@10": 100.0, "R@50": 100.0, "MdR": 5.0, "MnR": 1.0}, {}, "MdR", "between 1 and 1"),
        # 2 queries at rank 1, 1 at >= 6, 2 at >= 11 and 5 misses (13): the mean is at least 9.5.
        ({"MnR": 2.0}, {}, "MnR", "mean rank between 9.5 and 10.1"),
        ({"MnR": 12.9}, {}, "MnR", "between 9.5 and 10.1"),
        ({"MdR": 3.0}, {}, "MdR", "median rank between 12 and 12.5"),
        ({"R@1": 13.3}, {}, "R@1", "not a whole number of queries out of num_queries = 10"),
        (
            {"R@1": 0.0, "R@5": 12.5, "R@10": 12.5, "R@50": 37.5},
            {"num_queries": 8, "num_failed": 6},
            "R@50",
            "at least 3 of 8 queries hit, but 6 failed",
        ),
        ({"R@50": 60.0, "MdR": 9.0, "MnR": 7.0}, {"gallery_size": 8}, "R@50", "differs from R@10 = 30.0, but with gallery_size = 8"),
    ],
)
def test_impossible_retrieval_results_name_the_field(metrics, task, path, fragment):
    results = t2v_with(metrics, **task)
    if "num_failed" in task:  # failed queries need failed items
        results["num_failed"], results["failures"] = 1, [{"item_id": "v", "reason": "x"}]
    problems = [p for p in check_results(results) if p.path.startswith("tasks.t2v")]
    assert [p.path for p in problems] == [f"tasks.t2v.metrics.{path}"], problems
    assert fragment in problems[0].message, problems[0]


def test_rounded_values_are_accepted():
    # The official protocols report 2 decimals: 1/3 of the queries is 33.33, not 33.333...
    results = t2v_with(
        {"R@1": 33.33, "R@5": 33.33, "R@10": 66.67, "R@50": 100.0, "MdR": 10.0, "MnR": 7.33},
        num_queries=3, gallery_size=50,
    )
    assert check_results(results) == []


def test_composed_map_above_recall_depends_on_the_declared_protocol():
    results = with_change(make_results("tf-covr"), "tasks.cvr.metrics.mAP@5", 12.0)  # R@5 = 20
    assert check_results(results) == []
    results = with_change(results, "tasks.cvr.metrics.mAP@5", 25.0)
    assert [str(p) for p in check_results(results)] == [
        "tasks.cvr.metrics.mAP@5: 25.0 exceeds R@5 = 20.0: a query scores AP@5 > 0 only with a target in its top 5"
    ]
    # The official TF-CoVR R@K looks at one designated target only: no such bound there.
    results["settings"]["protocol"] = "official"
    assert not [p for p in check_results(results) if "exceeds R@5" in p.message]


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("model.id", "", "is empty"),
        ("model.id", "  ", "is empty"),
        ("model.id", " acme/vclip", "leading or trailing spaces"),
        ("model.id", "acme/\x1b[2Jvclip", "holds a control character"),
        ("dataset.repo", "", "is empty"),
        ("model.adapter", "", "is empty"),
    ],
)
def test_identifiers_must_name_something(field, value, fragment):
    problems = check_results(with_change(make_results("lovr"), field, value))
    assert [(p.path, fragment in p.message) for p in problems] == [(field, True)], problems


def test_real_scores_always_validate():
    # Whatever ranks a run produces, the scoring kernels' numbers pass: no false alarm.
    import random

    from vidret.scoring import composed_map, retrieval_metrics

    rng = random.Random(0)
    for _ in range(300):
        n, gallery = rng.randint(1, 40), rng.randint(1, 60)
        ranks = [None if rng.random() < 0.15 else rng.randint(1, gallery) for _ in range(n)]
        result = retrieval_metrics(ranks=ranks, k_values=(1, 5, 10, 50), gallery_size=gallery)
        task = {
            "metrics": {name: result[name] for name in ("R@1", "R@5", "R@10", "R@50", "MdR", "MnR")},
            "num_queries": n, "num_failed": sum(r is None for r in ranks), "gallery_size": gallery, "main_score": "R@1",
        }
        results = make_results("lovr")
        results["tasks"]["t2v"] = task
        results["num_failed"] = task["num_failed"]
        results["failures"] = [{"item_id": f"q{i}", "reason": "x"} for i in range(task["num_failed"])]
        assert check_results(results) == [], (ranks, gallery, task)
        # Rounded to 2 decimals, as the official protocols report them, they pass too.
        task["metrics"] = {k: round(v, 2) for k, v in task["metrics"].items()}
        assert check_results(results) == [], (ranks, gallery, task)
    for _ in range(100):
        n, gallery = rng.randint(1, 30), [f"g{j}" for j in range(rng.randint(1, 80))]
        targets = [rng.sample(gallery, rng.randint(1, min(5, len(gallery)))) for _ in range(n)]
        rankings = [[] if rng.random() < 0.1 else rng.sample(gallery, len(gallery)) for _ in range(n)]
        result = composed_map(rankings, targets)
        results = make_results("tf-covr")
        results["tasks"]["cvr"].update(
            metrics={k: v for k, v in result.items() if "@" in k}, num_queries=n,
            num_failed=result["num_failed"], gallery_size=len(gallery),
        )
        results["num_failed"] = result["num_failed"]
        results["failures"] = [{"item_id": f"q{i}", "reason": "x"} for i in range(result["num_failed"])]
        assert check_results(results) == [], (rankings, targets)


def test_duplicate_keys_are_named_by_path(tmp_path):
    text = json.dumps(make_results("lovr"))
    text = text.replace('"R@1": 20.0', '"R@1": 90.0, "R@1": 20.0', 1)  # which one counts?
    text = text[:-1] + ', "benchmark": "tf-covr"}'
    path = tmp_path / "dup.json"
    path.write_text(text)
    with pytest.raises(ResultsValidationError) as info:
        load_results(path)
    assert paths(info.value.problems) == ["benchmark", "tasks.t2v.metrics.R@1"]
    assert "appears more than once" in info.value.problems[0].message
    assert main(["validate", str(path)]) == 1


def test_deep_nesting_is_a_problem_not_a_recursion_error(tmp_path, capsys):
    text = json.dumps(make_results("lovr"))
    very_deep = tmp_path / "very_deep.json"  # deeper than the JSON parser recurses
    very_deep.write_text(text[:-1] + ', "hardware": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ResultsValidationError, match="nested too deeply to read"):
        load_results(very_deep)
    deep = tmp_path / "deep.json"  # parses, but no results file nests 900 levels
    deep.write_text(text.replace('"hardware": {"cpu_count": 2}', '"hardware": ' + '{"a": ' * 900 + "1" + "}" * 900))
    with pytest.raises(ResultsValidationError) as info:
        load_results(deep)
    assert [str(p) for p in info.value.problems] == ["hardware" + ".a" * 63 + ": nested more than 64 levels deep; not a results file"]
    # A dict built in Python (what submit and the runner pass) gets the same answer.
    nested: dict = {}
    node = nested
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    results = with_change(make_results("lovr"), "hardware", nested)
    assert [p.path.count(".") for p in check_results(results)] == [63]  # hardware + 63 levels
    assert main(["validate", str(very_deep), str(deep)]) == 1
    assert "Traceback" not in capsys.readouterr().err


# --- control characters never reach the terminal (issue 15, item 15) -----------------------------


def test_control_characters_are_escaped_in_validate_output(tmp_path, capsys):
    bad = make_results("lovr")
    bad["tasks"]["\x1b[31mfake"] = bad["tasks"]["t2v"]
    bad["model"]["id"] = "acme/\x1b]0;pwned\x07"
    bad["model"]["adapter"] = "clip\u202e\x9b31m"  # a bidi override and a C1 CSI
    bad["split"] = "test\r\nOK forged.json: all good"
    good_path = write_results(tmp_path / "ok\x1b[2J.json", make_results("lovr"))
    bad_path = write_results(tmp_path / "bad.json", bad)
    assert main(["validate", str(good_path), str(bad_path), str(tmp_path / "gone\x1b.json")]) == 1
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert not any(ch in printed for ch in "\x1b\x07\x9b\u202e\r")
    assert all(line.startswith(("OK ", "INVALID ", "  - ")) for line in printed.splitlines())  # no forged line
    assert captured.out.startswith(f"OK {tmp_path}/ok\\x1b[2J.json: lovr/test")
    assert "tasks.\\x1b[31mfake: unknown task" in captured.err
    assert "model.id: 'acme/\\x1b]0;pwned\\x07' holds a control character" in captured.err
    assert "split: 'test\\r\\nOK forged.json: all good' holds a control character" in captured.err
    assert "gone\\x1b.json: results file not found" in captured.err
    # The one-line summary of valid results escapes what it quotes from the file.
    results = make_results("lovr")
    results["settings"]["frames"], results["model"]["adapter"] = 8, "a\u202eb"
    assert "[a\\u202eb, 8 frames]" in summarize(results)


def test_printable():
    from vidret.terminal import printable

    assert printable("café 日本 🎬 t2v/R@1") == "café 日本 🎬 t2v/R@1"
    assert printable("a\x1b[0m\x00\x7f\x9b\u2028b\u202e") == "a\\x1b[0m\\x00\\x7f\\x9b\\u2028b\\u202e"
    assert printable("one\ntwo\t", keep_newlines=True) == "one\ntwo\\t"
    assert printable(3.5) == "3.5"


# ------------------------------------------------ numbers, sizes and values no run produces (issue 19)


def write_with_literal(path, results: dict, field: str, literal: str):
    """Write `results` with the dotted `field` set to a raw JSON `literal` (e.g. "1e400", "NaN")."""
    text = json.dumps(with_change(results, field, "@LITERAL@"), indent=2)
    path.write_text(text.replace('"@LITERAL@"', literal), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "field, literal, fragment",
    [
        ("tasks.t2v.metrics.MnR", "1" + "0" * 400, "100000000000... (401 characters) is out of range"),
        ("tasks.t2v.num_queries", "1" + "0" * 400, "is out of range"),
        ("tasks.t2v.gallery_size", "1" + "0" * 400, "is out of range"),
        ("settings.fps", "1" + "0" * 400, "is out of range"),
        ("wall_time_s", "1" + "0" * 5000, "(5001 characters) is out of range"),  # past Python's 4,300 digits
        ("tasks.t2v.metrics.R@1", "1e400", "1e400 is out of range"),
        ("tasks.t2v.ci_high", '{"R@1": 1e308}', "1e308 is out of range"),
        ("tasks.t2v.metrics.MdR", "NaN", "NaN is not a finite number"),
        ("tasks.t2v.metrics.MnR", "Infinity", "Infinity is not a finite number"),
        ("wall_time_s", "-Infinity", "-Infinity is not a finite number"),
    ],
)
def test_numbers_past_range_are_problems_naming_the_field(tmp_path, capsys, field, literal, fragment):
    path = write_with_literal(tmp_path / "r.json", make_results("lovr"), field, literal)
    with pytest.raises(ResultsValidationError) as caught:
        load_record(path)
    shown = field if field != "tasks.t2v.ci_high" else "tasks.t2v.ci_high.R@1"
    assert any(p.path == shown and fragment in p.message for p in caught.value.problems), caught.value.problems
    # `vidret validate`: the problem, exit status 1, no traceback (10**400 was a raw OverflowError).
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"  - {shown}: " in err and "Traceback" not in err


def test_non_finite_and_huge_numbers_in_a_python_object_are_problems_too():
    # Results built in Python (not read from a file) go through the same walk.
    problems = check_results(with_change(make_results("lovr"), "tasks.t2v.metrics.R@1", float("inf")))
    assert [str(p) for p in problems] == ["tasks.t2v.metrics.R@1: inf is not a finite number"]
    problems = check_results(with_change(make_results("lovr"), "settings.fps", 10**400))
    assert paths(problems) == ["settings.fps"] and "out of range" in problems[0].message


def test_a_file_past_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(MAX_RESULTS_BYTES + 1)  # sparse: nothing to read, and reading it would say "not JSON"
    with pytest.raises(ResultsValidationError) as caught:
        load_record(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {MAX_RESULTS_BYTES + 1:,} bytes; a results file is at most {MAX_RESULTS_BYTES:,} bytes")
    assert "MAX_RESULTS_BYTES" in message


def test_per_query_data_past_the_query_limit_is_refused_by_name(tmp_path, monkeypatch):
    from vidret.evaluation.results import schema

    monkeypatch.setattr(schema, "MAX_QUERIES", 150)
    results = with_per_query(make_results("lovr"), 0.4, num_queries=100)  # 4 tasks x 100 queries
    problems = check_results(results)
    assert [str(p) for p in problems] == [
        "tasks: per-query data for 400 queries (t2v: 100, v2t: 100, t2c: 100, c2t: 100); a results file holds "
        "at most 150 over all its tasks (vidret.evaluation.results.schema.MAX_QUERIES)"
    ]
    with pytest.raises(ResultsValidationError, match=r"r.json: 1 problem\(s\) in results\n  - tasks: per-query data for 400 queries"):
        load_record(write_results(tmp_path / "r.json", results))


def test_the_schema_declares_the_ranges_the_code_enforces():
    from vidret.adapters.preprocess import MAX_RESOLUTION
    from vidret.cli.argtypes import MAX_SEED
    from vidret.evaluation.results.schema import MAX_GALLERY_SIZE, MAX_QUERIES, load_schema
    from vidret.evaluation.running.limits import MAX_LIMIT, MAX_TEXT_MAX_LENGTH
    from vidret.scoring.bootstrap import MAX_RESAMPLES
    from vidret.video.timeline import MAX_FRAME_STRIDE, MAX_FRAMES, MAX_SAMPLE_FPS

    schema = load_schema()
    settings = schema["properties"]["settings"]["properties"]
    task = schema["properties"]["tasks"]["additionalProperties"]["properties"]
    declared = {
        "settings.frames": (settings["frames"], MAX_FRAMES),
        "settings.max_frames": (settings["max_frames"], MAX_FRAMES),
        "settings.fps": (settings["fps"], MAX_SAMPLE_FPS),
        "settings.frame_stride": (settings["frame_stride"], MAX_FRAME_STRIDE),
        "settings.resolution": (settings["resolution"]["items"], MAX_RESOLUTION),
        "settings.text_max_length": (settings["text_max_length"], MAX_TEXT_MAX_LENGTH),
        "settings.limit": (settings["limit"], MAX_LIMIT),
        "num_queries": (schema["properties"]["num_queries"], MAX_QUERIES),
        "tasks.*.num_queries": (task["num_queries"], MAX_QUERIES),
        "tasks.*.num_failed": (task["num_failed"], MAX_QUERIES),
        "tasks.*.gallery_size": (task["gallery_size"], MAX_GALLERY_SIZE),
        "tasks.*.ci.num_resamples": (task["ci"]["properties"]["num_resamples"], MAX_RESAMPLES),
        "tasks.*.ci.seed": (task["ci"]["properties"]["seed"], MAX_SEED),
        "tasks.*.ci.num_clusters": (task["ci"]["properties"]["num_clusters"], MAX_QUERIES),
    }
    assert {name: rule["maximum"] for name, (rule, _) in declared.items()} == {
        name: limit for name, (_, limit) in declared.items()
    }


def t2v_intervals(**bounds) -> dict:
    """Valid LoVR results whose t2v R@1 (20.0 here) has the interval `bounds` (ci_low, ci_high)."""
    results = make_results("lovr")
    task = results["tasks"]["t2v"]
    assert task["metrics"]["R@1"] == 20.0
    task["ci_low"], task["ci_high"] = {"R@1": bounds["low"]}, {"R@1": bounds["high"]}
    task["ci"] = {"method": "percentile bootstrap over queries", "level": 0.95, "num_resamples": 1000, "seed": 0}
    return results


@pytest.mark.parametrize(
    "results, expected",
    [
        (t2v_intervals(low=10.0, high=30.0), None),
        (t2v_intervals(low=20.004, high=20.004), None),  # rounding slack
        (t2v_intervals(low=-1e15, high=1e15), "tasks.t2v.ci_high.R@1: 1000000000000000.0 is outside [0, 100]"),
        (t2v_intervals(low=0.0, high=150.0), "tasks.t2v.ci_high.R@1: 150.0 is outside [0, 100] (R@1 is a percentage)"),
        (t2v_intervals(low=30.0, high=40.0), "tasks.t2v.ci_low.R@1: the interval [30.0, 40.0] excludes the reported R@1 = 20.0"),
        (t2v_intervals(low=0.0, high=10.0), "tasks.t2v.ci_low.R@1: the interval [0.0, 10.0] excludes the reported R@1 = 20.0"),
    ],
)
def test_intervals_lie_within_bounds_and_hold_their_metric(results, expected):
    problems = [str(p) for p in check_results(results)]
    if expected is None:
        assert problems == []
    else:
        assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("tasks.t2v.ci", {"method": "percentile bootstrap over queries", "level": 0.95, "num_resamples": 10**12, "seed": 0},
         "tasks.t2v.ci.num_resamples: 1000000000000 is greater than the maximum of 100000"),
        ("created_at", "2999-01-01T00:00:00Z", "created_at: '2999-01-01T00:00:00Z' is in the future"),
        ("settings.fps", 5000.0, "settings.fps: 5000.0 is greater than the maximum of 1000"),
        ("tasks.t2v.num_queries", 2_000_000, "tasks.t2v.num_queries: 2000000 is greater than the maximum of 1000000"),
    ],
)
def test_values_no_run_produces_are_problems(field, value, expected):
    problems = [str(p) for p in check_results(with_change(make_results("lovr"), field, value))]
    assert any(p.startswith(expected) for p in problems), problems


def test_a_task_without_queries_reports_no_metrics():
    results = with_change(make_results("lovr"), "tasks.t2v.num_queries", 0)
    results["tasks"]["t2v"]["metrics"]["R@1"] = 33.33
    results["num_queries"] = sum(task["num_queries"] for task in results["tasks"].values())
    problems = [str(p) for p in check_results(results)]
    assert (
        "tasks.t2v.num_queries: 0, but the task reports metrics: each is a statistic over its queries, "
        "and the scoring kernels refuse a task without any"
    ) in problems
