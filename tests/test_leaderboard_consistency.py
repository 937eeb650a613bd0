"""Task ids agree end to end: what the runner scores is what the dataset's eval.yaml declares and
what `vidret submit` reports in `.eval_results` (the Hub matches them by task id)."""

from __future__ import annotations

import pytest
import yaml
from results_helpers import make_results

from vidret.benchmarks import BENCHMARKS
from vidret.builders import build
from vidret.evaluation.running.runner import EvalSettings, evaluate
from vidret.evaluation.results.validation import validate_file
from vidret.hub.leaderboard import build_site
from vidret.hub.submit import eval_result_entries, eval_results_yaml
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
def test_submitted_task_ids_are_benchmark_task_ids(benchmark):
    spec = BENCHMARKS[benchmark]
    entries = eval_result_entries(make_results(benchmark))
    assert [e.task_id for e in entries] == spec.default_tasks()
    for task_id, task in spec.tasks.items():
        assert task.main_score in task.metrics, f"{benchmark}/{task_id}: main score not among its metrics"


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    """Build both sample benchmarks, score them with the oracle, keep the results files."""
    root = tmp_path_factory.mktemp("consistency")
    runs = {}
    for benchmark, make_release in (("lovr", make_lovr_release), ("tf-covr", make_tfcovr_release)):
        raw, repo, output = root / f"raw-{benchmark}", root / benchmark, root / "results" / f"{benchmark}.json"
        make_release(raw)
        build(benchmark, raw, repo, videos="copy")
        evaluate(EvalSettings(benchmark=benchmark, data=str(repo), model="oracle", output=str(output)))
        runs[benchmark] = (repo, output)
    return runs


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
def test_runner_tasks_are_declared_by_the_built_dataset(sample_runs, benchmark):
    repo, output = sample_runs[benchmark]
    declared = {task["id"]: task for task in yaml.safe_load((repo / "eval.yaml").read_text())["tasks"]}
    results = validate_file(output)  # what the runner wrote passes `vidret validate`
    assert set(results["tasks"]) <= set(declared)
    for task_id, task in results["tasks"].items():
        assert task["main_score"] == declared[task_id]["main_score"]
        assert set(task["metrics"]) == set(declared[task_id]["metrics"])
        assert task["metrics"][task["main_score"]] == 100.0  # the oracle is perfect
        # Per-query data and intervals (contract 4): one entry per query, intervals of a perfect run are [100, 100].
        per_query = task["per_query"]
        assert len(per_query["query_id"]) == task["num_queries"] == len(set(per_query["query_id"]))
        columns = ["rank"] if benchmark == "lovr" else ["AP@5", "AP@10", "AP@25", "AP@50", "hit@1", "hit@5", "hit@10", "hit@50"]
        # Queries that cluster (LoVR clips: their long video; TF-CoVR: the query video) keep their cluster ids.
        cluster = BENCHMARKS[benchmark].tasks[task_id].cluster
        assert list(per_query) == ["query_id", *(["cluster"] if cluster else []), *columns]
        assert task["ci_low"][task["main_score"]] == task["ci_high"][task["main_score"]] == 100.0
        ci = {"method": "percentile bootstrap over queries", "level": 0.95, "num_resamples": 1000, "seed": 0}
        if cluster:
            num_clusters = len(set(per_query["cluster"]))
            ci.update(method=f"cluster bootstrap ({cluster})", cluster_key=cluster, num_clusters=num_clusters)
        assert task["ci"] == ci

    dataset_id = f"vidret/{BENCHMARKS[benchmark].default_repo}"
    # The oracle is never submitted (`plan_submission` refuses it); its .eval_results file is what a model's would be.
    submitted = yaml.safe_load(eval_results_yaml(results, dataset_id))
    assert {entry["dataset"]["task_id"] for entry in submitted} == set(results["tasks"])
    revision = results["dataset"].get("commit") or results["dataset"]["revision"]
    assert all(entry["dataset"]["revision"] == revision for entry in submitted)


def test_runner_results_make_a_site(sample_runs, tmp_path):
    results_dir = next(iter(sample_runs.values()))[1].parent
    names = {path.name for path in build_site(results_dir, tmp_path / "site")}
    assert {"index.html", "lovr.html", "tf-covr.html", "tf-covr_cvr_map.png", "lovr_t2v_recall.png"} <= names
