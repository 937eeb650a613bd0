"""Per-query data in results, its validation, `vidret compare`, and results of earlier versions."""

from __future__ import annotations

import json

import pytest
from results_helpers import DELETE, make_results, with_change, with_per_query, write_results

from vidret.cli.main import main
from vidret.evaluation.results.confidence import ComparisonError, compare_results as compare_records, query_values
from vidret.evaluation.results.model import ResultsRecord
from vidret.evaluation.results.record import results_json, write_results as write_record
from vidret.evaluation.results.validation import check_results, validate_results


def problems_of(results) -> list[str]:
    return [str(p) for p in check_results(results)]


def compare_results(a: dict, b: dict, **kwargs):
    """`compare_results` of two results objects, each parsed into its record."""
    return compare_records(ResultsRecord.from_json(a), ResultsRecord.from_json(b), **kwargs)


# ---------------------------------------------------------------- the results record


def test_per_query_data_reproduces_every_metric():
    for benchmark in ("lovr", "tf-covr"):
        results = with_per_query(make_results(benchmark), 0.4)
        record = validate_results(results)
        for task_id, task in record.tasks.items():
            columns = query_values(task, record.task_spec(task_id).kernel)
            assert list(columns) == list(task.metrics)
            assert {name: col.value() for name, col in columns.items()} == pytest.approx(task.metrics)


def test_results_of_earlier_versions_still_validate_and_have_no_query_values():
    old = make_results("lovr")
    assert "per_query" not in old["tasks"]["t2v"] and problems_of(old) == []
    assert query_values(ResultsRecord.from_json(old).tasks["t2v"], "retrieval") is None


@pytest.mark.parametrize(
    "path, value, expected",
    [
        ("tasks.t2v.per_query.rank", [1] * 199, "tasks.t2v.per_query.rank: 199 entries but num_queries = 200"),
        ("tasks.t2v.per_query.query_id", [7] * 200, "tasks.t2v.per_query.query_id.0: 7 is not a string"),
        ("tasks.t2v.per_query.rank", [0] * 200, "tasks.t2v.per_query.rank.0: 0 is not an integer >= 1 or null"),
        ("tasks.t2v.per_query.rank", [True] * 200, "tasks.t2v.per_query.rank.0: True is not an integer >= 1 or null"),
        ("tasks.t2v.per_query.rank", [301] * 200, "tasks.t2v.per_query: rank of query 0 is 301, beyond gallery_size=300"),
        ("tasks.t2v.per_query.rank", [1] * 200, "tasks.t2v.metrics.R@1: "),  # metrics no longer match
        ("tasks.t2v.metrics.MdR", 9.0, "tasks.t2v.metrics.MdR: 9.0 but the per-query data give"),
        ("tasks.t2v.ci_low.R@1", 99.0, "tasks.t2v.ci_low.R@1: 99.0 is above ci_high"),
        ("tasks.t2v.ci_low.R@3", 1.0, "tasks.t2v.ci_low.R@3: interval of 'R@3', which the task does not report"),
        ("tasks.t2v.ci", DELETE, "tasks.t2v.ci: missing"),
        ("tasks.t2v.ci", {"method": "x", "level": 1.5, "num_resamples": 10, "seed": 0}, "tasks.t2v.ci.level"),
        ("tasks.t2v.per_query.extra", [], "tasks.t2v.per_query: 'extra' does not match any of the regexes"),
    ],
)
def test_validation_names_bad_per_query_data_and_intervals(path, value, expected):
    results = with_change(with_per_query(make_results("lovr"), 0.4), path, value)
    assert any(problem.startswith(expected) for problem in problems_of(results)), problems_of(results)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("hit@1", 2, "tasks.cvr.per_query.hit@1.0: 2 is not 0 or 1"),
        ("hit@1", 1.0, "tasks.cvr.per_query.hit@1.0: 1.0 is not 0 or 1"),
        ("AP@5", -0.5, "tasks.cvr.per_query.AP@5.0: -0.5 is not a finite number from 0 to 1"),
        ("AP@5", 1.5, "tasks.cvr.per_query.AP@5.0: 1.5 is not a finite number from 0 to 1"),
    ],
)
def test_validation_names_bad_composed_entries(key, value, expected):
    results = with_per_query(make_results("tf-covr"), 0.4)
    results["tasks"]["cvr"]["per_query"][key][0] = value
    assert expected in problems_of(results)


def test_ap_above_one_and_hit_counts_are_valid_per_query_data_under_the_official_protocol():
    # The official TF-CoVR protocol (duplicated gallery) reports AP > 1 and counts copies of the
    # designated target; that is data, not an error. Under vidret's protocol a hit is 0 or 1 and AP at most 1.
    results = with_per_query(make_results("tf-covr"), 0.4)
    above_one = with_change(results, "tasks.cvr.per_query.AP@5", [1.5] * 200)
    assert "tasks.cvr.per_query.AP@5.0: 1.5 is not a finite number from 0 to 1" in problems_of(above_one)
    official_ap = with_change(above_one, "settings.protocol", "official")
    assert not [p for p in problems_of(official_ap) if "per_query.AP@5" in p]
    results["tasks"]["cvr"]["per_query"]["hit@50"][0] = 2
    assert "tasks.cvr.per_query.hit@50.0: 2 is not 0 or 1" in problems_of(results)
    official = with_change(results, "settings.protocol", "official")
    assert not [p for p in problems_of(official) if "per_query.hit@50" in p]
    official["tasks"]["cvr"]["per_query"]["hit@50"][0] = -1
    assert "tasks.cvr.per_query.hit@50.0: -1 is not an integer >= 0" in problems_of(official)


def test_results_json_keeps_each_column_on_one_line_and_round_trips(tmp_path):
    results = with_per_query(make_results("lovr"), 0.4)
    text = results_json(results)
    assert json.loads(text) == results
    assert len(text.splitlines()) < 400  # 4 tasks x 200 queries x 2 columns would be 1,600+ lines indented
    task = json.loads(text)["tasks"]["t2v"]
    assert list(task)[-1] == "per_query"  # the long lines come last in each task
    assert '"rank": [' in text and '"ci_low": {' in text
    path = write_record(results, tmp_path / "r.json")
    assert path.read_text() == text


# ---------------------------------------------------------------- compare


def two_runs(benchmark: str = "lovr", gap: float = 0.0) -> tuple[dict, dict]:
    a = with_per_query(make_results(benchmark, model_id="acme/a"), 0.45 + gap, seed=0)
    b = with_per_query(make_results(benchmark, model_id="acme/b"), 0.45, seed=1)
    return a, b


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("benchmark", "tf-covr", "benchmark differs: A has 'lovr', B has 'tf-covr'"),
        ("split", "val", "split differs: A has 'test', B has 'val'"),
        ("settings.protocol", "official", "protocol differs: A has 'vidret', B has 'official'"),
        ("dataset.revision", "v2.0.0", "dataset revision differs: A has 'v1.0.0', B has 'v2.0.0'"),
    ],
)
def test_compare_refuses_runs_of_different_things(path, value, message):
    a, b = two_runs()
    with pytest.raises(ComparisonError, match=message.replace("(", r"\(")):
        compare_results(a, with_change(b, path, value))


def test_compare_names_every_difference_at_once_and_missing_protocol_means_vidret():
    a, b = two_runs()
    changed = with_change(with_change(b, "split", "val"), "dataset.revision", None)
    with pytest.raises(ComparisonError, match="split differs.*; dataset revision differs"):
        compare_results(a, changed)
    assert compare_results(a, with_change(b, "settings.protocol", "vidret")).protocol == "vidret"


def test_compare_reports_difference_interval_and_p_value_per_task_and_metric():
    a, b = two_runs(gap=0.25)
    comparison = compare_results(a, b, seed=3)
    assert [t.task_id for t in comparison.tasks] == ["t2v", "v2t", "t2c", "c2t"]
    for task in comparison.tasks:
        assert task.skipped is None and (task.num_shared, task.only_a, task.only_b) == (200, 0, 0)
        assert list(task.metrics) == list(a["tasks"][task.task_id]["metrics"])
        r1 = task.metrics["R@1"]
        assert r1.value_a == a["tasks"][task.task_id]["metrics"]["R@1"]
        assert r1.difference == pytest.approx(r1.value_a - r1.value_b)
        assert r1.ci_low <= r1.difference <= r1.ci_high
        assert r1.difference > 0 and r1.p_value < 0.01  # 25 points better on 200 paired queries
    assert compare_results(a, b, seed=3).as_dict() == comparison.as_dict()  # deterministic


def test_compare_uses_only_the_queries_both_runs_scored():
    a, b = two_runs()
    t2v = b["tasks"]["t2v"]
    keep = slice(50, 200)
    subset = {key: values[keep] for key, values in t2v["per_query"].items()}
    b = with_change(b, "tasks.t2v.per_query", subset)
    comparison = compare_results(a, b, tasks=["t2v"], metrics=["R@1", "MdR"])
    (task,) = comparison.tasks
    assert (task.num_shared, task.only_a, task.only_b) == (150, 50, 0)
    assert list(task.metrics) == ["R@1", "MdR"]
    ranks = a["tasks"]["t2v"]["per_query"]["rank"][50:]
    assert task.metrics["R@1"].value_a == pytest.approx(100 * sum(r == 1 for r in ranks) / 150)


def test_compare_skips_tasks_without_per_query_data_and_refuses_disjoint_tasks():
    a, _ = two_runs()
    old = make_results("lovr", model_id="acme/old")
    comparison = compare_results(a, old)
    assert all(t.skipped == "B has no per-query data (results written before vidret kept it)" for t in comparison.tasks)
    only_t2v = with_change(a, "tasks", {"t2v": a["tasks"]["t2v"]})
    only_c2t = with_change(a, "tasks", {"c2t": a["tasks"]["c2t"]})
    with pytest.raises(ComparisonError, match="share no task"):
        compare_results(only_t2v, only_c2t)
    with pytest.raises(ComparisonError, match=r"task\(s\) \['c2t'\] not scored by both"):
        compare_results(only_t2v, a, tasks=["c2t"])
    with pytest.raises(ValueError, match="metric\\(s\\) \\['mAP@5'\\] not in both"):
        compare_results(a, a, metrics=["mAP@5"])


def test_compare_cli_prints_the_table_and_writes_json(tmp_path, capsys):
    a, b = two_runs("tf-covr", gap=0.2)
    pa, pb = write_results(tmp_path / "a.json", a), write_results(tmp_path / "b.json", b)
    out_json = tmp_path / "cmp.json"
    assert main(["compare", str(pa), str(pb), "--seed", "1", "--resamples", "200", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "tf-covr/test, protocol vidret, dataset revision v1.0.0" in out
    assert "A: acme/a (a.json)" in out and "B: acme/b (b.json)" in out
    row = next(line for line in out.splitlines() if line.startswith("cvr") and " mAP@50 " in line)
    assert row.rstrip().endswith("*")  # a real difference is marked significant
    assert "200 resamples, seed 1" in out
    saved = json.loads(out_json.read_text())
    assert saved["difference"] == "A - B" and saved["num_resamples"] == 200
    assert saved["tasks"]["cvr"]["metrics"]["mAP@50"]["p_value"] < 0.05


def test_compare_cli_refuses_with_one_clear_line(tmp_path, capsys):
    a, b = two_runs()
    pa = write_results(tmp_path / "a.json", a)
    pb = write_results(tmp_path / "b.json", with_change(b, "dataset.revision", "v2.0.0"))
    assert main(["compare", str(pa), str(pb)]) == 1
    err = capsys.readouterr().err
    assert "not comparable: dataset revision differs: A has 'v1.0.0', B has 'v2.0.0'" in err
    assert str(pa) in err and str(pb) in err
    assert main(["compare", str(pa), str(tmp_path / "missing.json")]) == 1
    assert "results file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", str(pa), str(pb), "--level", "95"])
    assert "strictly between 0 and 1" in capsys.readouterr().err


def test_compare_cli_escapes_what_it_quotes_from_the_files(tmp_path, capsys):
    # A bidirectional override passes validation (it is no control character) but must not reach the terminal raw.
    a, b = two_runs()
    pa = write_results(tmp_path / "a.json", with_change(a, "model.id", "acme/\u202eevil"))
    pb = write_results(tmp_path / "b.json", b)
    assert main(["compare", str(pa), str(pb), "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "A: acme/\\u202eevil (a.json)" in out
    pc = write_results(tmp_path / "c.json", with_change(b, "dataset.revision", "v2\u202e"))
    assert main(["compare", str(pa), str(pc)]) == 1
    err = capsys.readouterr().err
    assert "\u202e" not in err and "not comparable" in err


def test_compare_cli_says_when_a_file_has_no_per_query_data(tmp_path, capsys):
    a, _ = two_runs()
    pa = write_results(tmp_path / "a.json", a)
    pold = write_results(tmp_path / "old.json", make_results("lovr", model_id="acme/old"))
    assert main(["compare", str(pa), str(pold)]) == 0
    out = capsys.readouterr().out
    assert "t2v: not compared: B has no per-query data" in out
