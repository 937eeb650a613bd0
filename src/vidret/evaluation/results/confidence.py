"""Uncertainty of results: per-query data, intervals, and paired comparisons of two runs.

A results task entry keeps what a statistic needs (`per_query`): the query ids, and either each
query's first-relevant rank (retrieval kernel) or its AP@K and hit@K (composed kernel), exactly as
the `vidret.scoring` kernels computed them; which one is the task's declared kernel
(`TaskSpec.kernel`), never guessed from the data's shape. Comparisons take typed records
(`vidret.evaluation.results.model.ResultsRecord`). From these, `vidret.scoring.bootstrap` gives the
intervals written next to the metrics (`ci_low`, `ci_high`, `ci`) and the paired tests of
`vidret compare` and the leaderboard. Where a task declares what its queries cluster on
(`TaskSpec.cluster`: LoVR clips on their long video), `per_query` also keeps each query's cluster
id, the intervals resample clusters, and comparisons resample and swap whole clusters. Results
written before per-query data existed still load: they simply have no interval and cannot be
compared; results written before cluster ids were kept compare query by query, and say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidret.evaluation.results.model import ResultsRecord, TaskResult
from vidret.scoring.bootstrap import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    PAIRED_METHOD,
    PairedResult,
    QueryValues,
    paired_comparison,
    paired_method,
)
from vidret.scoring.composed import composed_query_values
from vidret.scoring.metrics import CLUSTER_COLUMN, cutoffs, kernel_spec
from vidret.scoring.retrieval import retrieval_query_values


class ComparisonError(ValueError):
    """Two results that must not be compared; the message names every difference."""


def task_intervals(kernel_output: Mapping[str, Any], metrics: Iterable[str]) -> dict[str, Any]:
    """The interval fields of a results task entry from a kernel's output (`intervals=True`).

    Args:
        kernel_output: what `composed_map` / `retrieval_metrics` returned.
        metrics: the task's reported metrics; intervals of other metrics are dropped.

    Returns:
        {"ci_low": {metric: low}, "ci_high": {metric: high}, "ci": {method, level, num_resamples,
        seed, and for a cluster bootstrap cluster_key and num_clusters}}.
    """
    names = list(metrics)
    low, high = kernel_output["ci_low"], kernel_output["ci_high"]
    return {
        "ci_low": {name: float(low[name]) for name in names if name in low},
        "ci_high": {name: float(high[name]) for name in names if name in high},
        "ci": dict(kernel_output["ci"]),
    }


def has_per_query(task: TaskResult) -> bool:
    """True when a task result carries per-query data."""
    return task.per_query is not None


def query_clusters(task: TaskResult) -> tuple[str, ...] | None:
    """Each query's cluster id as the task result records it (``per_query.cluster``), in the
    order of its query ids; None without per-query data or cluster ids (independent queries, or
    results written before vidret kept them)."""
    return task.per_query.cluster if task.per_query is not None else None


def query_values(task: TaskResult, kernel: str) -> dict[str, QueryValues] | None:
    """The per-query values of each reported metric of a task result.

    The task's declared kernel says how its per-query data is stored (`vidret.scoring.metrics.KERNELS`):
    the retrieval kernel stores ranks (`rank`: None = a miss, which enters MdR/MnR as
    gallery_size + 1, as in scoring); the composed kernel stores `AP@K` and `hit@K` columns.

    Args:
        task: a task result (`metrics`, `gallery_size`, `per_query`).
        kernel: its declared kernel (`TaskSpec.kernel`: "retrieval" or "composed").

    Returns:
        Metric name → `QueryValues`, in the order of `task.metrics`, for the metrics the
        per-query data covers; None when the task has no per-query data.

    Raises:
        ValueError: the per-query data is malformed (wrong lengths, a rank out of range, ...), or
            an unknown kernel.
        TypeError: a rank is not an int.
    """
    if task.per_query is None:
        return None
    columns = task.per_query.columns
    if kernel_spec(kernel).stores_ranks:
        if "rank" not in columns:
            return {}
        ks = cutoffs(task.metrics, "R")
        # Scoring gives a miss rank gallery_size + 1 with the gallery counted as at least 1.
        gallery_size = max(1, task.gallery_size)
        values = retrieval_query_values(columns["rank"], ks or (1,), gallery_size=gallery_size)
    else:
        values = composed_query_values(columns)
    return {name: values[name] for name in task.metrics if name in values}


def comparability_problems(a: ResultsRecord, b: ResultsRecord) -> list[str]:
    """Why two results are not scores of the same thing (empty when they are).

    Runs are comparable when benchmark, split, protocol and dataset revision all agree.

    Returns:
        One sentence per difference, naming both values.
    """
    checks = (
        ("benchmark", a.benchmark, b.benchmark),
        ("split", a.split, b.split),
        ("protocol", a.protocol, b.protocol),
        ("dataset revision", a.dataset.revision, b.dataset.revision),
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
        cluster_key: what the shared queries were resampled and swapped by (e.g. "video_id"),
            or None: query by query (independent queries, or results without cluster ids).
        num_clusters: how many clusters the shared queries fall in (with `cluster_key`).
    """

    task_id: str
    num_shared: int = 0
    only_a: int = 0
    only_b: int = 0
    metrics: dict[str, PairedResult | None] = field(default_factory=dict)
    skipped: str | None = None
    cluster_key: str | None = None
    num_clusters: int | None = None

    @property
    def method(self) -> str:
        """How the interval and the p-value were computed (`vidret.scoring.bootstrap.paired_method`)."""
        return paired_method(self.cluster_key)


def _shared_clusters(
    task_a: TaskResult, task_b: TaskResult, rows_a: list[int], rows_b: list[int], cluster_key: str | None
) -> tuple[list[str] | None, str | None]:
    """(the cluster id of each shared query, what they name) for a paired test; (None, None) for
    a test query by query (neither run recorded cluster ids).

    Cluster ids are a property of the data, not of a run: where only one run recorded them
    (the other was written before vidret kept them), its ids are used.

    Raises:
        ComparisonError: the runs give a shared query different cluster ids (the first such
            query is named), or name their clusters differently.
    """
    ids_a, ids_b = query_clusters(task_a), query_clusters(task_b)
    keys = {ci.cluster_key for ci in (task_a.ci, task_b.ci) if ci is not None and ci.cluster_key is not None}
    if len(keys) > 1:
        raise ComparisonError(f"task {task_a.task_id}: the runs cluster its queries on different keys: {sorted(keys)}")
    if ids_a is None and ids_b is None:
        return None, None
    key = next(iter(keys), None) or cluster_key or CLUSTER_COLUMN
    if ids_a is not None and ids_b is not None:
        assert task_a.per_query is not None
        for i, j in zip(rows_a, rows_b):
            if ids_a[i] != ids_b[j]:
                raise ComparisonError(
                    f"task {task_a.task_id}: query {task_a.per_query.query_id[i]!r} is in cluster {ids_a[i]!r} in A "
                    f"but {ids_b[j]!r} in B; runs on the same data give every query the same {key!r}"
                )
    return ([ids_a[i] for i in rows_a] if ids_a is not None else [ids_b[j] for j in rows_b]), key  # type: ignore[index]


def compare_task(
    task_a: TaskResult,
    task_b: TaskResult,
    kernel: str,
    *,
    metrics: Sequence[str] | None = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    interval: bool = True,
    cluster_key: str | None = None,
) -> TaskComparison:
    """Paired comparison of one task of two runs on the queries both scored.

    Where the runs record each query's cluster id (``per_query.cluster``), the paired bootstrap
    resamples whole clusters and the randomisation test swaps them (`paired_comparison`).

    Args:
        task_a: A's task result.
        task_b: B's task result (the same task).
        kernel: the task's declared kernel (`record.task_spec(task_id).kernel`).
        metrics: metrics to compare (default: every metric both report, in A's order).
        num_resamples: bootstrap resamples and randomisation rounds.
        level: confidence level of the difference's interval.
        seed: seed of both.
        interval: compute the difference's interval (off: the p-value only, half the work).
        cluster_key: the task's declared cluster (`TaskSpec.cluster`), the name of the recorded
            ids where the records' `ci` does not give it.

    Returns:
        The comparison; `skipped` says why when a side has no per-query data or no query is shared.

    Raises:
        ComparisonError: the runs give a shared query different cluster ids.
        ValueError: an unknown metric is asked for, or the per-query data is malformed.
    """
    task_id = task_a.task_id
    values_a, values_b = query_values(task_a, kernel), query_values(task_b, kernel)
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
    assert task_a.per_query is not None and task_b.per_query is not None
    keys_a, keys_b = _keyed(task_a.per_query.query_id), _keyed(task_b.per_query.query_id)
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
    clusters, result.cluster_key = _shared_clusters(task_a, task_b, rows_a, rows_b, cluster_key)
    ia, ib = np.asarray(rows_a), np.asarray(rows_b)
    result.metrics = paired_comparison(
        {name: QueryValues(values_a[name].values[ia], values_a[name].statistic, values_a[name].scale) for name in common},
        {name: QueryValues(values_b[name].values[ib], values_b[name].statistic, values_b[name].scale) for name in common},
        clusters=clusters,
        num_resamples=num_resamples,
        level=level,
        seed=seed,
        interval=interval,
    )
    if clusters is not None:
        result.num_clusters = len(set(clusters))
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
        method: how intervals and p-values were computed: the one method of every compared task,
            or `PER_TASK_METHOD` where tasks differ (clustered and independent queries).
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
                    "method": None if t.skipped else t.method,
                    **({"cluster_key": t.cluster_key, "num_clusters": t.num_clusters} if t.cluster_key else {}),
                    "metrics": {name: (r.as_dict() if r else None) for name, r in t.metrics.items()},
                }
                for t in self.tasks
            },
        }


def compare_results(
    a: ResultsRecord,
    b: ResultsRecord,
    *,
    tasks: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    num_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    """Compare run A with run B, per task and metric, on the queries both scored.

    Args:
        a: the record of run A (see `vidret.evaluation.results.validation.load_record`).
        b: the record of run B.
        tasks: task ids to compare (default: every task both scored).
        metrics: metrics to compare (default: every metric of each task).
        num_resamples: bootstrap resamples and randomisation rounds.
        level: confidence level of the difference's interval.
        seed: seed of the resampling.

    Returns:
        The comparison (difference = A - B).

    Raises:
        ComparisonError: the runs differ in benchmark, split, protocol or dataset revision; share
            no task; a requested task is not in both; or they give a shared query different
            cluster ids.
        ValueError: a bad metric name or bootstrap argument.
    """
    problems = comparability_problems(a, b)
    if problems:
        raise ComparisonError("these results are not comparable: " + "; ".join(problems))
    declared = a.protocol_spec.tasks  # the benchmark's order
    shared = [task_id for task_id in declared if task_id in a.tasks and task_id in b.tasks]
    if tasks is not None:
        missing = [task_id for task_id in tasks if task_id not in shared]
        if missing:
            raise ComparisonError(f"task(s) {missing} not scored by both runs; both scored: {shared}")
        shared = [task_id for task_id in shared if task_id in tasks]
    if not shared:
        raise ComparisonError(f"the runs share no task (A: {sorted(a.tasks)}, B: {sorted(b.tasks)})")
    compared = [
        compare_task(
            a.tasks[task_id], b.tasks[task_id], declared[task_id].kernel,
            metrics=metrics, num_resamples=num_resamples, level=level, seed=seed, cluster_key=declared[task_id].cluster,
        )
        for task_id in shared
    ]
    methods = {t.task_id: t.method for t in compared if not t.skipped}
    return Comparison(
        benchmark=a.benchmark,
        split=a.split,
        protocol=a.protocol,
        dataset_revision=a.dataset.revision,
        tasks=compared,
        method=_summary(methods),
        level=level,
        num_resamples=num_resamples,
        seed=seed,
    )


#: `Comparison.method` where tasks were compared differently (clustered and independent queries).
PER_TASK_METHOD = "per task: see each task's method"


def _summary(methods: dict[str, str]) -> str:
    """One method for the whole comparison: the compared tasks' common one, else `PER_TASK_METHOD`."""
    distinct = set(methods.values())
    if len(distinct) > 1:
        return PER_TASK_METHOD
    return distinct.pop() if distinct else PAIRED_METHOD
