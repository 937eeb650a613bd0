"""Queries that cluster (LoVR clips of one long video, TF-CoVR triplets of one query video): the
planners give each query its cluster, results keep it, intervals resample clusters, and
`vidret compare` and the leaderboard's ties test over clusters. Results without cluster ids (or
with clusters of one query) give exactly what they gave before."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from results_helpers import make_results, with_change, with_per_query, write_results
from runner_helpers import run

from vidret.benchmarks import get_benchmark
from vidret.benchmarks.lovr.planner import plan_lovr
from vidret.benchmarks.tf_covr.planner import plan_tfcovr
from vidret.cli.main import main
from vidret.evaluation.results.confidence import (
    PER_TASK_METHOD,
    ComparisonError,
    compare_results as compare_records,
    compare_task,
    query_values,
)
from vidret.evaluation.results.model import ResultsRecord
from vidret.evaluation.results.validation import check_results, validate_results
from vidret.hub.leaderboard import build_table
from vidret.scoring import composed_map, retrieval_metrics
from vidret.scoring.bootstrap import INTERVAL_METHOD, PAIRED_METHOD, intervals_output, paired_comparison, paired_method

OFFICIAL_LOVR = get_benchmark("lovr").protocol("official")
CLUSTERED = {"t2c", "c2t", "cvr"}  # the default tasks whose queries cluster (make_results scores the defaults)


def problems_of(results) -> list[str]:
    return [str(p) for p in check_results(results)]


def compare_results(a: dict, b: dict, **kwargs):
    return compare_records(ResultsRecord.from_json(a), ResultsRecord.from_json(b), **kwargs)


# ---------------------------------------------------------------- planners


def lovr_rows():
    # Theme "pets" spans vidA and vidB; "food" is vidC's alone.
    videos = [
        {"video_id": "vidA", "video": "videos/vidA.mp4", "duration": 6.0, "caption": "a dog runs", "theme": "pets"},
        {"video_id": "vidB", "video": "videos/vidB.mp4", "duration": 4.0, "caption": "a cat sits", "theme": "pets"},
        {"video_id": "vidC", "video": "videos/vidC.mp4", "duration": 4.0, "caption": "soup", "theme": "food"},
    ]
    clips = [
        {"clip_id": "A1", "video_id": "vidA", "start": 0.0, "end": 6.0, "caption": "a dog", "theme": "pets", "video": "videos/vidA.mp4"},
        {"clip_id": "C1", "video_id": "vidC", "start": 0.0, "end": 2.0, "caption": "pot", "theme": "food", "video": "videos/vidC.mp4"},
        {"clip_id": "B1", "video_id": "vidB", "start": 0.0, "end": 4.0, "caption": "a cat", "theme": "pets", "video": "videos/vidB.mp4"},
        {"clip_id": "C2", "video_id": "vidC", "start": 2.0, "end": 4.0, "caption": "bowl", "theme": "food", "video": "videos/vidC.mp4"},
    ]
    return videos, clips


def test_lovr_clip_and_theme_queries_cluster_on_their_long_video():
    videos, clips = lovr_rows()
    tasks = {t.task_id: t for t in plan_lovr(videos, clips, ["t2v", "v2t", "t2c", "c2t", "theme2c", "c2theme"], "test").tasks}
    assert tasks["t2v"].query_clusters() is None and tasks["v2t"].query_clusters() is None  # full videos: independent
    for task_id in ("t2c", "c2t", "c2theme"):
        assert tasks[task_id].query_ids == ["A1", "C1", "B1", "C2"]
        assert tasks[task_id].query_clusters() == ["vidA", "vidC", "vidB", "vidC"]
    # A distinct theme is its video's when its clips are one video's; spanning several, its own cluster.
    assert tasks["theme2c"].query_ids == ["theme:pets", "theme:food"]
    assert tasks["theme2c"].query_clusters() == ["theme:pets", "vidC"]


def test_lovr_official_queries_cluster_on_their_long_video():
    videos, clips = lovr_rows()
    clips[3]["theme"] = None  # per-clip themes: an unthemed clip is no query
    queries = [{"clip_id": "C2", "video_id": "vidC", "caption": "bowl"}, {"clip_id": "A1", "video_id": "vidA", "caption": "a dog"}]
    plan = plan_lovr(
        videos, clips, ["t2c", "c2t", "theme2c", "c2theme", "t2v"], "all",
        protocol=OFFICIAL_LOVR, query_lists={"clip_queries": queries},
    )
    tasks = {t.task_id: t for t in plan.tasks}
    assert tasks["t2c"].query_clusters() == tasks["c2t"].query_clusters() == ["vidC", "vidA"]
    assert tasks["theme2c"].query_ids == ["theme:A1", "theme:C1", "theme:B1"]
    assert tasks["theme2c"].query_clusters() == tasks["c2theme"].query_clusters() == ["vidA", "vidC", "vidB"]
    assert tasks["t2v"].query_clusters() is None


def test_tfcovr_triplets_cluster_on_their_query_video():
    videos = [{"video_id": v, "video": f"videos/{v}.mp4"} for v in ("q1", "q2", "t1", "t2")]
    triplets = [
        {"query_id": "0", "query_video": "q1", "target_video": "t1", "modification": "faster", "target_videos": ["t1"]},
        {"query_id": "1", "query_video": "q2", "target_video": "t2", "modification": "slower", "target_videos": ["t2"]},
        {"query_id": "2", "query_video": "q1", "target_video": "t2", "modification": "higher", "target_videos": ["t2"]},
    ]
    for protocol in ("vidret", "official"):
        (task,) = plan_tfcovr(triplets, videos, "test", protocol=get_benchmark("tf-covr").protocol(protocol)).tasks
        assert task.spec.cluster == "query_video" and task.query_clusters() == ["q1", "q2", "q1"]


def test_a_task_declaring_a_cluster_without_ids_is_refused_when_scored():
    videos, clips = lovr_rows()
    (task,) = plan_lovr(videos, clips, ["t2c"], "test").tasks
    task.clusters = None
    with pytest.raises(ValueError, match="'t2c' declares that its queries cluster on 'video_id'.*gave none"):
        task.query_clusters()
    task.clusters = ["vidA"]
    with pytest.raises(ValueError, match="gave 1 for 4 queries"):
        task.query_clusters()


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def lovr_runs(tmp_path_factory):
    """The LoVR sample built (both layouts, so both protocols run every task) and scored by the oracle."""
    import datasets

    from vidret.benchmarks.lovr.sample import make_release
    from vidret.builders import build

    root = tmp_path_factory.mktemp("clustered")
    make_release(root / "raw", layout="both", query_every=2)
    build("lovr", root / "raw", root / "lovr", videos="copy")
    clips = datasets.load_dataset(str(root / "lovr"), "clips", split="test").to_list()
    tasks = "t2v,v2t,t2c,c2t,theme2c,c2theme"
    return {
        "video_of": {row["clip_id"]: row["video_id"] for row in clips},
        "vidret": run("lovr", root / "lovr", "oracle", tasks=tasks, output=str(root / "vidret.json")),
        "official": run("lovr", root / "lovr", "oracle", tasks=tasks, protocol="official", output=str(root / "official.json")),
        "files": {"vidret": root / "vidret.json", "official": root / "official.json"},
    }


def test_runner_records_each_clips_video_and_a_cluster_bootstrap(lovr_runs):
    t2c = lovr_runs["vidret"]["tasks"]["t2c"]
    per_query = t2c["per_query"]
    assert list(per_query) == ["query_id", "cluster", "rank"]
    assert per_query["cluster"] == [lovr_runs["video_of"][clip] for clip in per_query["query_id"]]
    assert len(set(per_query["cluster"])) == 3  # the sample's test split: 3 long videos
    assert t2c["ci"] == {
        "method": "cluster bootstrap (video_id)", "level": 0.95, "num_resamples": 1000, "seed": 0,
        "cluster_key": "video_id", "num_clusters": 3,
    }
    t2v = lovr_runs["vidret"]["tasks"]["t2v"]
    assert "cluster" not in t2v["per_query"] and t2v["ci"]["method"] == INTERVAL_METHOD and "cluster_key" not in t2v["ci"]


@pytest.mark.parametrize("protocol", ["vidret", "official"])
def test_recorded_intervals_are_the_cluster_bootstrap_of_the_recorded_data(lovr_runs, protocol):
    record = validate_results(json.loads(lovr_runs["files"][protocol].read_text()))  # written files validate
    for task_id, task in record.tasks.items():
        spec = record.task_spec(task_id)
        clusters = task.per_query.cluster
        assert (clusters is not None) == (spec.cluster is not None)
        # The kernel again, on the recorded ranks and clusters (its columns as when scoring).
        redone = retrieval_metrics(
            ranks=task.per_query.columns["rank"], k_values=spec.cutoffs("R"), gallery_size=task.gallery_size,
            intervals=True, clusters=clusters, cluster_key=spec.cluster,
        )
        for bound in ("ci_low", "ci_high"):
            assert {m: redone[bound][m] for m in task.metrics} == dict(getattr(task, bound)), (task_id, bound)
        assert task.ci.to_json() == redone["ci"]
    if protocol == "official":
        # Per-clip themes over the release (5 videos) are not all told apart by the oracle: a real interval.
        theme = record.tasks["c2theme"]
        assert theme.ci.num_clusters == 5 and theme.ci_low["R@1"] < theme.ci_high["R@1"]


def test_cluster_ids_in_a_results_file_are_checked():
    results = with_clusters(with_per_query(make_results("lovr"), 0.4))
    assert problems_of(results) == []
    t2c = "tasks.t2c"
    cases = [
        (f"{t2c}.per_query.cluster", ["v"] * 199, f"{t2c}.per_query.cluster: 199 entries but num_queries = 200"),
        (f"{t2c}.per_query.cluster", [7] * 200, f"{t2c}.per_query.cluster.0: 7 is not a string"),
        (f"{t2c}.ci.num_clusters", 9, f"{t2c}.ci.num_clusters: 9, but per_query.cluster names 10 clusters"),
        (f"{t2c}.ci.method", INTERVAL_METHOD, f"{t2c}.ci.method: 'percentile bootstrap over queries', but a cluster bootstrap"),
        (f"{t2c}.ci.cluster_key", "theme", f"{t2c}.ci.cluster_key: 'theme', but the task's queries cluster on 'video_id'"),
        (f"{t2c}.ci", {"method": INTERVAL_METHOD, "level": 0.95, "num_resamples": 1000, "seed": 0},
         f"{t2c}.ci: per_query holds cluster ids but the intervals are a 'percentile bootstrap over queries'"),
        (f"{t2c}.per_query", {k: v for k, v in results["tasks"]["t2c"]["per_query"].items() if k != "cluster"},
         f"{t2c}.per_query: no 'cluster' ids, but the intervals resampled clusters"),
    ]
    for path, value, expected in cases:
        found = problems_of(with_change(results, path, value))
        assert any(p.startswith(expected) for p in found), (path, found)


def test_results_without_cluster_ids_still_validate_and_say_their_method():
    old = with_per_query(make_results("lovr"), 0.4)  # per-query data as written before clusters
    assert problems_of(old) == [] and problems_of(make_results("lovr")) == []
    record = validate_results(old)
    assert record.tasks["t2c"].ci.method == INTERVAL_METHOD and record.tasks["t2c"].per_query.cluster is None
    assert record.tasks["t2c"].ci.cluster_key is None
    assert record.to_json()["tasks"] == old["tasks"]  # read and written back unchanged


# ---------------------------------------------------------------- compare and ties


def with_clusters(results: dict, *, size: int = 20, ids=None) -> dict:
    """`results` (from `with_per_query`) with cluster ids on the tasks that declare a cluster and
    intervals recomputed over them, as the runner writes them: clusters of `size` queries each
    (or the given `ids`), named "v0", "v1", ..."""
    changed = copy.deepcopy(results)
    declared = get_benchmark(changed["benchmark"]).protocol(changed["settings"].get("protocol")).tasks
    for task_id, task in changed["tasks"].items():
        key = declared[task_id].cluster
        if key is None:
            continue
        per_query = task["per_query"]
        n = len(per_query["query_id"])
        clusters = list(ids) if ids is not None else [f"v{i // size}" for i in range(n)]
        columns = {k: v for k, v in per_query.items() if k not in ("query_id", "cluster")}
        values = query_values(ResultsRecord.from_json(results).tasks[task_id], declared[task_id].kernel)
        out = intervals_output(values, num_resamples=1000, level=0.95, seed=0, clusters=clusters, cluster_key=key)
        task["ci_low"] = {m: out["ci_low"][m] for m in task["metrics"] if m in out["ci_low"]}
        task["ci_high"] = {m: out["ci_high"][m] for m in task["metrics"] if m in out["ci_high"]}
        task["ci"] = out["ci"]
        task["per_query"] = {"query_id": per_query["query_id"], "cluster": clusters, **columns}
    return changed


def plain_runs(benchmark: str = "lovr", gap: float = 0.05) -> tuple[dict, dict]:
    """Two paired runs with per-query data as written before cluster ids were kept."""
    a = with_per_query(make_results(benchmark, model_id="acme/a"), 0.4 + gap, seed=1)
    b = with_per_query(make_results(benchmark, model_id="acme/b"), 0.4, seed=2)
    return a, b


def two_runs(benchmark: str = "lovr", gap: float = 0.05) -> tuple[dict, dict]:
    """The same two runs with cluster ids: 10 clusters of 20 queries on the clustered tasks."""
    a, b = plain_runs(benchmark, gap)
    return with_clusters(a), with_clusters(b)


def test_compare_resamples_and_swaps_whole_clusters():
    a, b = two_runs()
    comparison = compare_results(a, b, seed=3)
    tasks = {t.task_id: t for t in comparison.tasks}
    for task_id, task in tasks.items():
        clustered = task_id in CLUSTERED
        assert (task.cluster_key, task.num_clusters) == (("video_id", 10) if clustered else (None, None))
        assert task.method == paired_method(task.cluster_key)
        record_a, record_b = ResultsRecord.from_json(a).tasks[task_id], ResultsRecord.from_json(b).tasks[task_id]
        expected = paired_comparison(
            query_values(record_a, "retrieval"), query_values(record_b, "retrieval"),
            clusters=record_a.per_query.cluster, seed=3,
        )
        assert task.metrics == expected
    assert comparison.method == PER_TASK_METHOD  # t2v/v2t query by query, t2c/c2t by video
    saved = comparison.as_dict()["tasks"]
    assert saved["t2c"]["method"] == paired_method("video_id") and saved["t2c"]["num_clusters"] == 10
    assert saved["t2v"]["method"] == PAIRED_METHOD and "cluster_key" not in saved["t2v"]
    assert tasks["t2c"].metrics["R@1"].num_clusters == 10 and tasks["t2v"].metrics["R@1"].num_clusters is None


def test_compare_with_clusters_of_one_query_equals_the_test_query_by_query():
    plain_a, plain_b = plain_runs()
    singles = [f"q{i}" for i in range(200)]
    a1, b1 = with_clusters(plain_a, ids=singles), with_clusters(plain_b, ids=singles)
    assert problems_of(a1) == []
    for task_id in ("t2c", "c2t"):
        for side, plain in ((a1, plain_a), (b1, plain_b)):  # the intervals too: identical
            assert side["tasks"][task_id]["ci_low"] == plain["tasks"][task_id]["ci_low"]
            assert side["tasks"][task_id]["ci_high"] == plain["tasks"][task_id]["ci_high"]
    clustered = {t.task_id: t for t in compare_results(a1, b1, seed=5).tasks}
    plain = {t.task_id: t for t in compare_results(plain_a, plain_b, seed=5).tasks}
    for task_id in ("t2c", "c2t"):
        assert clustered[task_id].num_clusters == 200 and plain[task_id].cluster_key is None
        for name, result in clustered[task_id].metrics.items():
            other = plain[task_id].metrics[name]
            assert (result.difference, result.ci_low, result.ci_high, result.p_value) == (
                other.difference, other.ci_low, other.ci_high, other.p_value
            )


def test_compare_refuses_runs_that_put_a_query_in_different_clusters(tmp_path, capsys):
    a, b = two_runs()
    moved = copy.deepcopy(b)
    moved["tasks"]["t2c"]["per_query"]["cluster"][42] = "v9"
    with pytest.raises(ComparisonError, match="task t2c: query 'q00042' is in cluster 'v2' in A but 'v9' in B"):
        compare_results(a, moved)
    pa, pb = write_results(tmp_path / "a.json", a), write_results(tmp_path / "b.json", moved)
    assert main(["compare", str(pa), str(pb), "--resamples", "20"]) == 1
    assert "query 'q00042' is in cluster 'v2' in A but 'v9' in B" in capsys.readouterr().err


def test_compare_with_a_run_written_before_clusters_uses_the_other_runs_ids(tmp_path, capsys):
    old_a, old_b = plain_runs()  # no cluster ids
    a, b = with_clusters(old_a), with_clusters(old_b)
    assert problems_of(old_b) == []
    mixed = {t.task_id: t for t in compare_results(a, old_b, seed=3).tasks}
    both = {t.task_id: t for t in compare_results(a, b, seed=3).tasks}
    assert mixed["t2c"].cluster_key == "video_id" and mixed["t2c"].metrics == both["t2c"].metrics
    neither = compare_results(old_a, old_b, seed=3)
    assert all(t.cluster_key is None for t in neither.tasks) and neither.method == PAIRED_METHOD
    pa, pb = write_results(tmp_path / "a.json", old_a), write_results(tmp_path / "b.json", old_b)
    assert main(["compare", str(pa), str(pb), "--resamples", "50"]) == 0
    out = capsys.readouterr().out
    assert "t2c: query by query: the results hold no cluster ids" in out
    assert "t2v: query by query" not in out  # full-video queries are independent anyway
    pc = write_results(tmp_path / "c.json", a)
    assert main(["compare", str(pc), str(pb), "--resamples", "50"]) == 0
    assert "t2c: queries resampled and swapped by cluster (video_id: 10 clusters of the 200 shared queries)" in capsys.readouterr().out


def test_compare_tfcovr_over_query_videos():
    a, b = two_runs("tf-covr", gap=0.2)
    (task,) = compare_results(a, b).tasks
    assert (task.cluster_key, task.num_clusters) == ("query_video", 10)
    assert a["tasks"]["cvr"]["ci"]["method"] == "cluster bootstrap (query_video)"


def test_leaderboard_ties_test_over_clusters():
    a, b = two_runs(gap=0.05)
    board = {bd.task_id: bd for bd in build_table([a, b], "lovr").boards}["t2c"]
    second = next(e for e in board.entries if e.position == 2)
    # The best: the higher R@1, ties going to the model named first.
    best, other = sorted((a, b), key=lambda r: (-r["tasks"]["t2c"]["metrics"]["R@1"], r["model"]["id"]))
    best_t2c, other_t2c = (ResultsRecord.from_json(r).tasks["t2c"] for r in (best, other))
    expected = compare_task(best_t2c, other_t2c, "retrieval", metrics=["R@1"], interval=False, cluster_key="video_id")
    assert expected.cluster_key == "video_id" and second.p_value == expected.metrics["R@1"].p_value
    # Runs that disagree on a query's cluster are not tested (no tie claimed), and nothing breaks.
    moved = copy.deepcopy(b)
    moved["tasks"]["t2c"]["per_query"]["cluster"][0] = "elsewhere"
    moved["tasks"]["t2c"]["ci"]["num_clusters"] = 11
    board = {bd.task_id: bd for bd in build_table([a, moved], "lovr").boards}["t2c"]
    assert all(e.p_value is None and not e.tied for e in board.entries if e.position == 2)


def test_clustered_intervals_are_wider_on_clustered_data():
    # 40 videos x 10 clips whose hits are decided by the video: queries of a video are one draw.
    hits = np.repeat(np.random.default_rng(0).random(40) < 0.5, 10)
    ranks = np.where(hits, 1, 5).tolist()
    clusters = [f"v{i // 10}" for i in range(400)]
    plain = retrieval_metrics(ranks=ranks, gallery_size=9, intervals=True)
    grouped = retrieval_metrics(ranks=ranks, gallery_size=9, intervals=True, clusters=clusters, cluster_key="video_id")
    width = {name: out["ci_high"]["R@1"] - out["ci_low"]["R@1"] for name, out in (("plain", plain), ("grouped", grouped))}
    assert width["grouped"] > 2 * width["plain"]
    assert grouped["ci"]["method"] == "cluster bootstrap (video_id)" and grouped["ci"]["num_clusters"] == 40
    assert plain["ci"] == {"method": INTERVAL_METHOD, "level": 0.95, "num_resamples": 1000, "seed": 0}
    ranking = composed_map([["t"]] * 4, [["t"]] * 4, intervals=True, clusters=["a", "a", "b", "b"], cluster_key="query_video")
    assert ranking["ci"]["num_clusters"] == 2
