"""Valid results dicts for the validation, submit and leaderboard tests (shaped by the schema)."""

from __future__ import annotations

import copy
import json
import statistics
from pathlib import Path
from typing import Any

from vidret.benchmarks import BENCHMARKS


NUM_QUERIES = 10  # per task
GALLERY_SIZE = 12


def _metrics(metric_names: tuple[str, ...], base: float) -> dict[str, float]:
    """Metrics one real run could produce: R@K a whole number of the NUM_QUERIES queries, MdR/MnR
    the median/mean of ranks that give those R@K, mAP@K at most R@K; all growing with `base`."""
    hits = {
        int(name[2:]): min(NUM_QUERIES, int((base + 4.0 * len(name[2:]) + int(name[2:]) * 0.5) // 10))
        for name in metric_names
        if name.startswith("R@")
    }
    ranks, done, band_start = [], 0, 1
    for k in sorted(hits):
        ranks += [band_start] * (hits[k] - done)  # each hit at the first rank its R@K band allows
        done, band_start = hits[k], min(k, GALLERY_SIZE) + 1
    ranks += [GALLERY_SIZE + 1] * (NUM_QUERIES - done)  # the rest are misses
    values = {}
    for name in metric_names:
        kind, _, k = name.partition("@")
        if kind == "R":
            values[name] = 100.0 * hits[int(k)] / NUM_QUERIES
        elif kind == "mAP":
            values[name] = min(round(base / 2 + int(k) * 0.1, 2), 100.0 * hits.get(int(k), NUM_QUERIES) / NUM_QUERIES)
        elif name == "MdR":
            values[name] = float(statistics.median(ranks))
        elif name == "MnR":
            values[name] = float(statistics.mean(ranks))
    return values


def make_results(
    benchmark: str = "lovr",
    *,
    model_id: str = "acme/vclip",
    model_revision: str | None = "0123abcd",
    dataset_revision: str | None = "v1.0.0",
    base: float = 20.0,
    frames: int = 8,
    created_at: str = "2026-03-01T12:00:00Z",
    random_weights: bool = False,
    protocol: str | None = None,
) -> dict[str, Any]:
    """A valid results dict scoring every default task of `benchmark`; `base` shifts the scores.

    `protocol` (None: not recorded, which means "vidret") picks the tasks' metrics and is recorded.
    """
    spec = BENCHMARKS[benchmark]
    declared = spec.protocol(protocol).tasks
    tasks = {
        task_id: {
            "metrics": _metrics(declared[task_id].metrics, base),
            "main_score": declared[task_id].main_score,
            "num_queries": NUM_QUERIES,
            "num_failed": 0,
            "gallery_size": GALLERY_SIZE,
        }
        for task_id in spec.default_tasks()
    }
    return {
        "schema_version": "1.0",
        "benchmark": benchmark,
        "config": "videos+clips" if benchmark == "lovr" else "triplets",
        "split": "test",
        "dataset": {"repo": f"vidret/{spec.default_repo}", "revision": dataset_revision},
        "model": {"id": model_id, "revision": model_revision, "adapter": "clip", "random_weights": random_weights},
        "settings": {
            "frames": frames,
            "resolution": [224, 224],
            "fusion": "avg" if benchmark == "tf-covr" else None,
            **({"protocol": protocol} if protocol else {}),
        },
        "tasks": tasks,
        "num_failed": 0,
        "failures": [],
        "num_processes": 1,
        "versions": {"vidret": "0.1.0", "torch": "2.13.0"},
        "hardware": {"cpu_count": 2},
        "wall_time_s": 1.5,
        "created_at": created_at,
    }


def with_change(results: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `results` with the dotted `path` set to `value` (or deleted when value is DELETE)."""
    changed = copy.deepcopy(results)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return changed


DELETE = object()


def write_results(path: Path, results: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return path



def with_per_query(
    results: dict[str, Any],
    skill: float,
    *,
    num_queries: int = 200,
    gallery_size: int = 300,
    seed: int = 0,
    noise: float = 0.1,
) -> dict[str, Any]:
    """A copy of `results` whose tasks carry per-query data, and metrics and intervals computed from it.

    Each query has a difficulty drawn from a generator shared by every call (so two systems are
    paired: they find the same queries hard) plus this system's own noise (`seed`): a query is a
    top-1 hit when difficulty + noise < `skill`, else its target lands further down. Metrics and
    intervals come from the scoring kernels, as in a real run.
    """
    import numpy as np

    from vidret.evaluation.results.confidence import task_intervals
    from vidret.scoring import composed_map, retrieval_metrics

    changed = copy.deepcopy(results)
    difficulty = np.random.default_rng(12345).random(num_queries)
    own = np.random.default_rng(seed)
    query_ids = [f"q{i:05d}" for i in range(num_queries)]
    for task in changed["tasks"].values():
        top = difficulty + noise * own.standard_normal(num_queries) < skill
        ranks = np.where(top, 1, 2 + np.minimum(own.geometric(0.05, num_queries), gallery_size - 2)).tolist()
        if "mAP@50" in task["metrics"]:
            # The valid target sits at place `rank` of the top 50 (beyond 50: not retrieved).
            rankings = [[f"g{j}" for j in range(50)] for _ in ranks]
            for ranking, r in zip(rankings, ranks):
                if r <= 50:
                    ranking.insert(r - 1, "target")
                    del ranking[50:]
            out = composed_map(rankings, [["target"]] * num_queries, per_query=True, intervals=True)
        else:
            out = retrieval_metrics(ranks=ranks, gallery_size=gallery_size, per_query=True, intervals=True)
        task["metrics"] = {name: out[name] for name in task["metrics"]}
        task.update(task_intervals(out, task["metrics"]))
        task["per_query"] = {"query_id": list(query_ids), **out["per_query"]}
        task.update(num_queries=num_queries, gallery_size=gallery_size, num_failed=0)
    changed["num_queries"] = num_queries * len(changed["tasks"])
    return changed
