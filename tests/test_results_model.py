"""Metrics declared once (`vidret.scoring.metrics`) and the typed results record, parsed once."""

from __future__ import annotations

import dataclasses

import pytest
from results_helpers import make_results, with_change, with_per_query, write_results

from vidret.benchmarks import registered
from vidret.evaluation.results.confidence import compare_results
from vidret.evaluation.results.model import (
    CacheInfo,
    DatasetRef,
    Failure,
    IntervalMethod,
    ModelRef,
    ResultsRecord,
    Settings,
    TaskResult,
    as_record,
    parse_results,
)
from vidret.evaluation.results.schema import load_schema, results_schema
from vidret.evaluation.results.validation import ResultsValidationError, check_results, load_record
from vidret.scoring import composed_map, retrieval_metrics
from vidret.scoring.metrics import CLUSTER_COLUMN, COLUMN_KINDS, FAMILIES, KERNELS, QUERY_ID_COLUMN, MetricFamily, is_metric, metric_spec


def declared_tasks():
    """(benchmark id, protocol name, TaskSpec) of every registered benchmark and protocol."""
    for benchmark in registered().values():
        for protocol in benchmark.protocols.values():
            for task in protocol.tasks.values():
                yield benchmark.benchmark, protocol.name, task


# ------------------------------------------------------------------ metric declarations


def test_every_metric_a_benchmark_declares_parses():
    seen = 0
    for benchmark, protocol, task in declared_tasks():
        where = f"{benchmark}/{protocol}/{task.task_id}"
        specs = [metric_spec(name) for name in task.metrics]  # raises for an undeclared name
        assert task.main_score in task.metrics, where
        assert task.kernel in KERNELS, where
        assert {s.family.family for s in specs} <= set(KERNELS[task.kernel].families), where
        for family in FAMILIES:
            assert task.cutoffs(family) == tuple(s.k for s in specs if s.family.family == family and s.k), where
        seen += 1
    assert seen >= 14  # LoVR's 6 and TF-CoVR's 1 task, under two protocols each


def test_kernel_defaults_are_the_declared_metric_sets():
    composed = composed_map([["a", "b"]], [["a"]])
    retrieval = retrieval_metrics(ranks=[1, 2], gallery_size=3)
    assert [k for k in composed if is_metric(k)] == list(KERNELS["composed"].default_metrics)
    assert [k for k in retrieval if is_metric(k)] == list(KERNELS["retrieval"].default_metrics)
    # The default protocol of each built-in benchmark reports its kernel's default metrics.
    for benchmark in registered().values():
        for task in benchmark.tasks.values():
            if benchmark.provider == "vidret":
                assert task.metrics == KERNELS[task.kernel].default_metrics, (benchmark.benchmark, task.task_id)


def test_direction_bounds_and_scale_come_from_the_declaration():
    assert [metric_spec(n).higher_is_better for n in ("R@1", "mAP@5", "MdR", "MnR")] == [True, True, False, False]
    recall, rank = metric_spec("R@5"), metric_spec("MnR")
    assert (recall.lower_bound, recall.upper_bound(), recall.upper_bound(bounded=False), recall.scale) == (0, 100, None, 100)
    assert (rank.lower_bound, rank.upper_bound(12), rank.upper_bound(None), rank.scale) == (1, 13, None, 1)
    assert recall.is_share and rank.is_rank and not metric_spec("mAP@5").is_share
    assert metric_spec("mAP@50").label == "mean Average Precision@50" and metric_spec("mAP@50").per_query_column == "AP@50"
    for bad in ("R", "MdR@5", "nDCG@10", "R@0", "R@x", 5):
        assert not is_metric(bad)
    with pytest.raises(ValueError, match=r"unknown metric 'R@0'; metrics are R@K, mAP@K, MdR, MnR"):
        metric_spec("R@0")
    assert COLUMN_KINDS["hit"].accepts(2, bounded=False) and not COLUMN_KINDS["hit"].accepts(2)
    assert not COLUMN_KINDS["rank"].accepts(True) and COLUMN_KINDS["rank"].accepts(None)
    # AP is a fraction: at most 1 where percentages are bounded; counted repeats (official TF-CoVR) pass 1.
    ap = COLUMN_KINDS["AP"]
    assert ap.accepts(1.0) and not ap.accepts(1.5) and not ap.accepts(1e308) and ap.accepts(1.5, bounded=False)
    assert (ap.describe(), ap.describe(bounded=False)) == ("a finite number from 0 to 1", "a finite number >= 0")


def test_parsing_refuses_numbers_no_results_file_holds():
    # The parser's walk names each: JSON objects built in Python meet the same rule as files.
    record, problems = parse_results(with_change(make_results("tf-covr"), "settings.fps", float("nan")))
    assert record is None and [str(p) for p in problems] == ["settings.fps: nan is not a finite number"]
    results = with_per_query(make_results("tf-covr"), 0.4)
    results["tasks"]["cvr"]["per_query"]["AP@5"][3] = 1e308
    with pytest.raises(ResultsValidationError, match=r"tasks\.cvr\.per_query\.AP@5\.3: 1e\+308 is out of range"):
        as_record(results)


def test_a_new_family_is_validated_from_its_declaration_alone(monkeypatch):
    results = make_results("lovr")
    results["tasks"]["t2v"]["metrics"]["nDCG@10"] = 150.0
    assert [p.path for p in check_results(results)] == ["tasks.t2v.metrics.nDCG@10"]  # not a declared metric
    assert "unknown metric 'nDCG@10'" in check_results(results)[0].message

    monkeypatch.setitem(FAMILIES, "nDCG", MetricFamily("nDCG", "normalised DCG", True, True, True, "gain", "mean"))
    assert metric_spec("nDCG@10").higher_is_better and metric_spec("nDCG@10").label == "normalised DCG@10"
    assert [str(p) for p in check_results(results)] == [
        "tasks.t2v.metrics.nDCG@10: 150.0 is outside [0, 100] (nDCG@10 is a percentage)"
    ]
    results["tasks"]["t2v"]["metrics"]["nDCG@10"] = 55.0
    assert check_results(results) == []
    # A rank-like family: lower is better, bounded below by rank 1 and above by a miss's rank.
    monkeypatch.setitem(FAMILIES, "GmR", MetricFamily("GmR", "geometric mean rank", False, False, False, "rank", "geomean"))
    results["tasks"]["t2v"]["metrics"]["GmR"] = 0.5
    assert [str(p) for p in check_results(results)] == ["tasks.t2v.metrics.GmR: 0.5 is below 1 (GmR is a 1-based rank)"]
    results["tasks"]["t2v"]["metrics"]["GmR"] = 14.0
    assert "exceeds gallery_size + 1 = 13" in check_results(results)[0].message
    assert not metric_spec("GmR").higher_is_better


def test_rounding_is_its_own_behaviour_flag():
    ranking = [["x", "y", "a"]]  # AP@5 = 1/3
    assert composed_map(ranking, [["a"]], k_values=(5,), recall_k_values=(1,))["mAP@5"] == pytest.approx(100 / 3)
    assert composed_map(ranking, [["a"]], k_values=(5,), recall_k_values=(1,), decimals=2)["mAP@5"] == 33.33


# ------------------------------------------------------------------ the typed record


def test_absent_and_null_protocol_give_the_same_record_everywhere():
    from vidret.hub.submit import eval_result_entries, results_repo_path

    absent = make_results("tf-covr")
    null = with_change(absent, "settings.protocol", None)
    named = with_change(absent, "settings.protocol", "vidret")
    records = [ResultsRecord.from_json(r) for r in (absent, null, named)]
    assert records[0] == records[1] == records[2]
    assert {r.protocol for r in records} == {"vidret"} and {r.protocol_spec.hub_suffix for r in records} == {""}
    assert all(check_results(r) == [] for r in (absent, null, named))
    assert {results_repo_path(r, "acme/vclip") for r in (absent, null, named)} == {"results/acme__vclip/0123abcd/tf-covr.json"}
    assert {e.task_id for r in (absent, null) for e in eval_result_entries(r)} == {"cvr"}
    assert compare_results(records[0], records[1]).protocol == "vidret"  # comparable: same protocol
    official = ResultsRecord.from_json(make_results("tf-covr", protocol="official"))
    assert official.protocol == "official" and official.protocol_spec.hub_suffix == "_official"


def test_what_readers_ask_the_record():
    record = ResultsRecord.from_json(with_change(make_results("lovr"), "tasks", {"t2v": make_results("lovr")["tasks"]["t2v"]}))
    assert record.task_spec("t2v").kernel == "retrieval" and record.task_spec("cvr") is None
    assert record.cutoffs("t2v", "R") == (1, 5, 10, 50) and record.cutoffs("t2v", "mAP") == ()
    assert record.missing_tasks() == ["v2t", "t2c", "c2t"] and record.limit is None
    assert record.tasks["t2v"].headline == record.tasks["t2v"].metrics["R@1"]
    assert record.created.isoformat() == "2026-03-01T12:00:00+00:00"
    cvr = ResultsRecord.from_json(make_results("tf-covr", protocol="official"))
    assert cvr.task_spec("cvr").kernel == "composed" and cvr.cutoffs("cvr", "R") == (5, 10, 25, 50)


def test_an_old_format_file_loads(tmp_path):
    # Written before protocols, per-query data, intervals, cache statistics and the total count.
    old = make_results("lovr")
    assert "protocol" not in old["settings"] and "num_queries" not in old
    path = write_results(tmp_path / "old.json", old)
    record = load_record(path)
    assert record.source == str(path) and record.protocol == "vidret" and record.num_queries is None
    assert all(t.per_query is None and t.ci is None and t.failed_queries is None for t in record.tasks.values())
    assert record.to_json() == {**old, "settings": {**old["settings"], "protocol": "vidret"}}
    assert record.missing_tasks() == []


def test_to_json_gives_back_what_was_read():
    full = with_per_query(make_results("tf-covr", protocol="vidret"), 0.4)
    full["dataset"].update(commit=None, fingerprint="abc")  # recorded nulls stay null
    full["cache"] = {"dir": None, "namespace": "n1", "hits": 3, "misses": 0}
    full["num_queries"] = 200
    full["tasks"]["cvr"]["failed_queries"] = []
    record = ResultsRecord.from_json(full)
    assert record.to_json() == full and list(record.to_json()["dataset"]) == ["repo", "revision", "commit", "fingerprint"]
    assert ResultsRecord.from_json(record.to_json()) == record
    assert record.settings.resolution == (224, 224) and record.settings.get("resolution") == [224, 224]
    assert record.cache == CacheInfo(dir=None, namespace="n1", hits=3, misses=0)
    # Built in Python: required fields always, optional ones when set.
    assert DatasetRef(repo="r", revision=None).to_json() == {"repo": "r", "revision": None}


def test_load_record_raises_one_error_naming_the_file(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(ResultsValidationError, match="missing.json: results file not found") as info:
        load_record(missing)
    assert info.value.source == str(missing)
    for name, text, fragment in [
        ("bad.json", "{not json", "not valid JSON"),
        ("list.json", "[]", "expected a JSON object, got list"),
    ]:
        (tmp_path / name).write_text(text)
        with pytest.raises(ResultsValidationError, match=fragment) as info:
            load_record(tmp_path / name)
        assert str(info.value).startswith(str(tmp_path / name))
    wrong = write_results(tmp_path / "wrong.json", with_change(make_results("lovr"), "tasks.t2v.metrics.R@1", 101.0))
    with pytest.raises(ResultsValidationError, match="tasks.t2v.metrics.R@1: 101.0 is outside") as info:
        load_record(wrong)
    assert str(info.value).startswith(str(wrong))
    partial = write_results(tmp_path / "partial.json", with_change(make_results("lovr"), "tasks", {"t2v": make_results("lovr")["tasks"]["t2v"]}))
    assert list(load_record(partial).tasks) == ["t2v"]  # a --tasks run is a valid record
    with pytest.raises(ResultsValidationError, match="scores it by default"):
        load_record(partial, require_all_tasks=True)


# ------------------------------------------------------------------ the schema


def test_schema_enums_are_the_registrys():
    benchmarks = list(registered())
    protocols = list(dict.fromkeys(p for spec in registered().values() for p in spec.protocols))
    schema = results_schema()
    assert schema["properties"]["benchmark"]["enum"] == benchmarks
    assert schema["properties"]["settings"]["properties"]["protocol"]["enum"] == [*protocols, None]
    # The shipped file lists the built-in benchmarks (a plug-in's id is added at run time).
    builtin = {b: spec for b, spec in registered().items() if spec.provider == "vidret"}
    shipped = load_schema()
    assert shipped["properties"]["benchmark"]["enum"] == list(builtin)
    builtin_protocols = list(dict.fromkeys(p for spec in builtin.values() for p in spec.protocols))
    assert shipped["properties"]["settings"]["properties"]["protocol"]["enum"] == [*builtin_protocols, None]


def _required(cls) -> set[str]:
    no_default = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    return no_default & set(cls.json_fields())


def test_schema_fields_are_the_records():
    schema = load_schema()
    task = schema["properties"]["tasks"]["additionalProperties"]
    objects = [
        (ResultsRecord, schema),
        (DatasetRef, schema["properties"]["dataset"]),
        (ModelRef, schema["properties"]["model"]),
        (TaskResult, task),
        (IntervalMethod, task["properties"]["ci"]),
        (Failure, schema["properties"]["failures"]["items"]),
        (CacheInfo, schema["properties"]["cache"]),
    ]
    for cls, obj in objects:
        assert set(cls.json_fields()) == set(obj["properties"]), cls.__name__
        assert _required(cls) == set(obj.get("required", [])), cls.__name__
    settings = schema["properties"]["settings"]
    assert set(Settings.json_fields()) <= set(settings["properties"])  # settings stay open: the rest via get()
    assert _required(Settings) - {"protocol"} == set(settings["required"])  # the protocol: absent = "vidret"
    # Per-query columns: one property per column kind without a cut-off, one pattern per kind with one.
    per_query = task["properties"]["per_query"]
    ids = {QUERY_ID_COLUMN, CLUSTER_COLUMN}  # the query ids and their clusters: no value columns
    assert set(per_query["properties"]) == ids | {k for k, c in COLUMN_KINDS.items() if not c.has_cutoff}
    assert set(per_query["patternProperties"]) == {f"^{k}@[1-9][0-9]*$" for k, c in COLUMN_KINDS.items() if c.has_cutoff}
