"""Uncertainty of results: per-query data, intervals, and paired comparisons of two runs.

A results task entry keeps what a statistic needs (`per_query`): the query ids, and either each
query's first-relevant rank (retrieval tasks) or its AP@K and hit@K (composed tasks), exactly as
the `vidret.scoring` kernels computed them. From these, `vidret.scoring.bootstrap` gives the
intervals written next to the metrics (`ci_low`, `ci_high`, `ci`) and the paired tests of
`vidret compare` and the leaderboard. Results written before per-query data existed still load:
they simply have no interval and cannot be compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidret.benchmarks import BENCHMARKS, VIDRET_PROTOCOL
from vidret.scoring.bootstrap import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    PAIRED_METHOD,
    PairedResult,
    QueryValues,
    paired_comparison,
)
from vidret.scoring.composed import composed_query_values
from vidret.scoring.retrieval import retrieval_query_values

class ComparisonError(ValueError):
    """Two results that must not be compared; the message names every difference."""


def task_intervals(kernel_output: Mapping[str, Any], metrics: Iterable[str]) -> dict[str, Any]:
    """The interval fields of a results task entry from a kernel's output (`intervals=True`).

    Args:
        kernel_output: what `composed_map` / `retrieval_metrics` returned.
        metrics: the task's reported metrics; intervals of other metrics are dropped.

    Returns:
        {"ci_low": {metric: low}, "ci_high": {metric: high}, "ci": {method, level, num_resamples, seed}}.
    """
    names = list(metrics)
    low, high = kernel_output["ci_low"], kernel_output["ci_high"]
    return {
        "ci_low": {name: float(low[name]) for name in names if name in low},
        "ci_high": {name: float(high[name]) for name in names if name in high},
        "ci": dict(kernel_output["ci"]),
    }


def has_per_query(task: Mapping[str, Any]) -> bool:
    """True when a results task entry carries per-query data."""
    return isinstance(task.get("per_query"), Mapping)


def query_values(task: Mapping[str, Any]) -> dict[str, QueryValues] | None:
    """The per-query values of each reported metric of a results task entry.

    Retrieval tasks store ranks (`rank`: None = a miss, which enters MdR/MnR as gallery_size + 1,
    as in scoring); composed tasks store `AP@K` and `hit@K` columns.

    Args:
        task: a results task entry (`metrics`, `gallery_size`, `per_query`).

    Returns:
        Metric name → `QueryValues`, in the order of `task["metrics"]`, for the metrics the
        per-query data covers; None when the entry has no per-query data.

    Raises:
        ValueError: the per-query data is malformed (wrong lengths, a rank out of range, ...).
        TypeError: a rank is not an int.
    """
    if not has_per_query(task):
        return None
    per_query = task["per_query"]
    metrics = list(task.get("metrics", {}))
    if "rank" in per_query:
        ks = [int(name[2:]) for name in metrics if name.startswith("R@") and name[2:].isdigit()]
        # Scoring gives a miss rank gallery_size + 1 with the gallery counted as at least 1.
        gallery_size = max(1, int(task.get("gallery_size") or 0))
        columns = retrieval_query_values(per_query["rank"], ks or (1,), gallery_size=gallery_size)
    else:
        columns = composed_query_values(per_query)
    return {name: columns[name] for name in metrics if name in columns}


def protocol_of(results: Mapping[str, Any]) -> str:
    """The scoring protocol of a results record (`settings.protocol`; missing means "vidret")."""
    settings = results.get("settings") or {}
    return str(settings.get("protocol") or VIDRET_PROTOCOL)


def comparability_problems(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Why two results are not scores of the same thing (empty when they are).

    Runs are comparable when benchmark, split, protocol and dataset revision all agree.

    Returns:
        One sentence per difference, naming both values.
    """
    checks = (
        ("benchmark", a.get("benchmark"), b.get("benchmark")),
        ("split", a.get("split"), b.get("split")),
        ("protocol", protocol_of(a), protocol_of(b)),
        ("dataset revision", (a.get("dataset") or {}).get("revision"), (b.get("dataset") or {}).get("revision")),
    )
    return [f"{what} differs: A has {va!r}, B has {vb!r}" for what, va, vb in checks if va != vb]


def _keyed(ids: Sequence[str]) -> list[tuple[str, int]]:
    # (id, occurrence): a protocol may list the same query twice; each occurrence is its own query.
    seen: dict[str, int] = {}
    keys = []
    for qid in ids:
        seen[qid] = seen.get(qid, -1) + 1
        keys.append((qid, seen[qid]))
    return keys


@dataclass
class TaskComparison:
    """Two runs on one task.

    Attributes:
        task_id: the task.
        num_shared: queries both runs scored (the comparison uses these only).
        only_a: queries only A scored.
        only_b: queries only B scored.
        metrics: metric → `PairedResult` (None where the metric has no interval, e.g. an unknown rank).
        skipped: why the task was not compared (then `metrics` is empty).
    """

    task_id: str
    num_shared: int = 0
    only_a: int = 0
    only_b: int = 0
    metrics: dict[str, PairedResult | None] = field(default_factory=dict)
    skipped: str | None = None


def compare_task(
    task_a: Mapping[str, Any],
    task_b: Mapping[str, Any],
    task_id: str,
    *,
    metrics: Sequence[str] | None = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    interval: bool = True,
) -> TaskComparison:
    """Paired comparison of one task of two runs on the queries both scored.

    Args:
        task_a: A's results task entry.
        task_b: B's results task entry.
        task_id: the task's id (for the report).
        metrics: metrics to compare (default: every metric both report, in A's order).
        num_resamples: bootstrap resamples and randomisation rounds.
        level: confidence level of the difference's interval.
        seed: seed of both.
        interval: compute the difference's interval (off: the p-value only, half the work).

    Returns:
        The comparison; `skipped` says why when a side has no per-query data or no query is shared.

    Raises:
        ValueError: an unknown metric is asked for, or the per-query data is malformed.
    """
    values_a, values_b = query_values(task_a), query_values(task_b)
    for side, values in (("A", values_a), ("B", values_b)):
        if values is None:
            return TaskComparison(task_id, skipped=f"{side} has no per-query data (results written before vidret kept it)")
    assert values_a is not None and values_b is not None
    common = [name for name in values_a if name in values_b]
    if metrics is not None:
        unknown = [name for name in metrics if name not in common]
        if unknown:
            raise ValueError(f"task {task_id}: metric(s) {unknown} not in both runs' per-query data; available: {common}")
        common = [name for name in common if name in metrics]
    keys_a, keys_b = _keyed(task_a["per_query"]["query_id"]), _keyed(task_b["per_query"]["query_id"])
    index_b = {key: i for i, key in enumerate(keys_b)}
    rows_a = [i for i, key in enumerate(keys_a) if key in index_b]
    rows_b = [index_b[keys_a[i]] for i in rows_a]
    result = TaskComparison(task_id, len(rows_a), len(keys_a) - len(rows_a), len(keys_b) - len(rows_b))
    if not rows_a:
        result.skipped = "the two runs share no query"
        return result
    if not common:
        result.skipped = "no metric is covered by both runs' per-query data"
        return result
    ia, ib = np.asarray(rows_a), np.asarray(rows_b)
    result.metrics = paired_comparison(
        {name: QueryValues(values_a[name].values[ia], values_a[name].statistic, values_a[name].scale) for name in common},
        {name: QueryValues(values_b[name].values[ib], values_b[name].statistic, values_b[name].scale) for name in common},
        num_resamples=num_resamples,
        level=level,
        seed=seed,
        interval=interval,
    )
    return result


@dataclass
class Comparison:
    """Two runs compared task by task.

    Attributes:
        benchmark: the benchmark both ran.
        split: the split both ran.
        protocol: the scoring protocol of both.
        dataset_revision: the dataset revision of both.
        tasks: one `TaskComparison` per task both runs scored, in the benchmark's order.
        method: how intervals and p-values were computed.
        level: the intervals' confidence level.
        num_resamples: bootstrap resamples and randomisation rounds.
        seed: their seed.
    """

    benchmark: str
    split: str
    protocol: str
    dataset_revision: str | None
    tasks: list[TaskComparison]
    method: str = PAIRED_METHOD
    level: float = DEFAULT_LEVEL
    num_resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the comparison."""
        return {
            "benchmark": self.benchmark,
            "split": self.split,
            "protocol": self.protocol,
            "dataset_revision": self.dataset_revision,
            "difference": "A - B",
            "method": self.method,
            "level": self.level,
            "num_resamples": self.num_resamples,
            "seed": self.seed,
            "tasks": {
                t.task_id: {
                    "num_shared_queries": t.num_shared,
                    "only_in_a": t.only_a,
                    "only_in_b": t.only_b,
                    "skipped": t.skipped,
                    "metrics": {name: (r.as_dict() if r else None) for name, r in t.metrics.items()},
                }
                for t in self.tasks
            },
        }


def compare_results(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    *,
    tasks: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    """Compare run A with run B, per task and metric, on the queries both scored.

    Args:
        a: valid results of run A.
        b: valid results of run B.
        tasks: task ids to compare (default: every task both scored).
        metrics: metrics to compare (default: every metric of each task).
        num_resamples: bootstrap resamples and randomisation rounds.
        level: confidence level of the difference's interval.
        seed: seed of the resampling.

    Returns:
        The comparison (difference = A - B).

    Raises:
        ComparisonError: the runs differ in benchmark, split, protocol or dataset revision; share
            no task; or a requested task is not in both.
        ValueError: a bad metric name or bootstrap argument.
    """
    problems = comparability_problems(a, b)
    if problems:
        raise ComparisonError("these results are not comparable: " + "; ".join(problems))
    spec = BENCHMARKS[a["benchmark"]]
    shared = [task_id for task_id in spec.tasks if task_id in a["tasks"] and task_id in b["tasks"]]
    if tasks is not None:
        missing = [task_id for task_id in tasks if task_id not in shared]
        if missing:
            raise ComparisonError(f"task(s) {missing} not scored by both runs; both scored: {shared}")
        shared = [task_id for task_id in shared if task_id in tasks]
    if not shared:
        raise ComparisonError(f"the runs share no task (A: {sorted(a['tasks'])}, B: {sorted(b['tasks'])})")
    compared = [
        compare_task(
            a["tasks"][task_id], b["tasks"][task_id], task_id,
            metrics=metrics, num_resamples=num_resamples, level=level, seed=seed,
        )
        for task_id in shared
    ]
    return Comparison(
        benchmark=a["benchmark"],
        split=a["split"],
        protocol=protocol_of(a),
        dataset_revision=(a.get("dataset") or {}).get("revision"),
        tasks=compared,
        level=level,
        num_resamples=num_resamples,
        seed=seed,
    )
