"""Consistency of a parsed results record with its benchmark's declarations and with itself.

A record that parsed (`vidret.evaluation.results.model`) has the right shape; this module checks
what a schema cannot: every task of the benchmark is scored with every metric its protocol
declares, values lie within their metric's declared bounds (`vidret.scoring.metrics`), counts agree
with each other, and nothing is reported that no run can produce: a share of queries (R@K) that
is not a whole number of queries out of `num_queries`, more hits than queries that did not fail,
a median or mean rank that the R@K values rule out (R@1 = 100 means every rank is 1), an average
precision above the recall at the same cut-off, per-query data that does not give the reported
metrics, an interval outside its metric's bounds or not holding the reported value, metrics of a
task without queries, a `created_at` in the future, empty or control-character identifiers.
Checks follow the record's declarations (its metrics, counts and protocol), never one
benchmark's numbers or a metric's name.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from vidret.common import weighted_median
from vidret.evaluation.results.model import ResultsRecord, TaskResult
from vidret.evaluation.results.schema import Problem
from vidret.scoring.metrics import CLUSTER_COLUMN, QUERY_ID_COLUMN, MetricSpec, metric_spec

# Slack on reported numbers: they may be rounded to 2 decimals (the official protocols round).
_ROUNDING = 0.005 + 1e-9
# Metrics recomputed from per-query data must match the reported ones up to this (scores
# reported rounded to 2 decimals, as the official protocol does, are off by at most 0.005).
_PER_QUERY_TOLERANCE = 0.01
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# How far ahead of this machine's clock a `created_at` may be (another machine's clock, time zones).
CLOCK_SKEW = timedelta(days=1)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def record_problems(record: ResultsRecord, require_all_tasks: bool = True) -> list[Problem]:
    """Every consistency problem of a parsed record.

    Args:
        record: the record.
        require_all_tasks: report a default task of the benchmark that the record does not score.
    """
    problems: list[Problem] = []
    protocol = record.protocol_spec
    if require_all_tasks:
        for task_id in record.missing_tasks():
            problems.append(Problem(f"tasks.{task_id}", f"missing; benchmark {record.benchmark!r} scores it by default"))
    for task_id, task in record.tasks.items():
        problems += _check_task(record, task_id, task, protocol)

    if record.num_failed != len(record.failures):
        problems.append(Problem("num_failed", f"{record.num_failed} but the failures list has {len(record.failures)} entries"))
    total = sum(t.num_queries for t in record.tasks.values())
    if record.num_queries is not None and record.num_queries != total:
        problems.append(Problem("num_queries", f"{record.num_queries} but the tasks' num_queries add up to {total}"))
    if record.num_failed == 0:
        # A query can only fail if some item failed to decode.
        for task_id, task in record.tasks.items():
            if task.num_failed > 0:
                problems.append(
                    Problem(f"tasks.{task_id}.num_failed", f"{task.num_failed} failed queries but no failed item is listed")
                )
    try:
        created = record.created
    except ValueError:
        problems.append(Problem("created_at", f"{record.created_at!r} is not an ISO-8601 date-time"))
    else:
        latest = datetime.now(timezone.utc) + CLOCK_SKEW
        if created > latest:
            problems.append(
                Problem("created_at", f"{record.created_at!r} is in the future (later than {latest:%Y-%m-%d %H:%M} UTC)")
            )
    problems += _identifier_problems(record)
    return problems


def _identifier_problems(record: ResultsRecord) -> list[Problem]:
    """Ids that name what was evaluated: non-empty, no surrounding spaces, no control characters."""
    problems = []
    fields = [
        ("model.id", record.model.id),
        ("model.adapter", record.model.adapter),
        ("model.revision", record.model.revision),
        ("dataset.repo", record.dataset.repo),
        ("dataset.revision", record.dataset.revision),
    ]
    for path, value in fields:
        if value is None:
            continue
        if not value.strip():
            problems.append(Problem(path, "is empty; it must say what was evaluated"))
        elif value != value.strip():
            problems.append(Problem(path, f"{value!r} has leading or trailing spaces"))
        elif _CONTROL.search(value):
            problems.append(Problem(path, f"{value!r} holds a control character"))
    split = record.split
    if not split or _CONTROL.search(split):
        problems.append(Problem("split", f"{split!r} is empty" if not split else f"{split!r} holds a control character"))
    for task_id in record.tasks:
        if _CONTROL.search(task_id):
            problems.append(Problem(f"tasks.{task_id}", f"task id {task_id!r} holds a control character"))
    return problems


def _metric_value_problems(path: str, spec: MetricSpec, value: float, gallery_size: int, bounded: bool) -> list[Problem]:
    if not _number(value):
        return [Problem(path, f"{value} is not a finite number")]
    name, low, high = spec.name, spec.lower_bound, spec.upper_bound(gallery_size, bounded)
    if spec.percentage:
        # Where repeats are counted (official TF-CoVR) a percentage may pass 100 (not bounded).
        if high is not None and not low <= value <= high:
            return [Problem(path, f"{value} is outside [{low:g}, {high:g}] ({name} is a percentage)")]
        if value < low:
            return [Problem(path, f"{value} is negative ({name} is a percentage)")]
        return []
    if value < low:
        return [Problem(path, f"{value} is below {low:g} ({name} is a 1-based rank)")]
    # A miss (failed query, or no rankable relevant item) enters a rank statistic as
    # gallery_size + 1 (see vidret.scoring.retrieval): that is the largest legitimate value.
    if high is not None and value > high:
        return [Problem(path, f"{value} exceeds gallery_size + 1 = {high:g} (the rank given to a miss)")]
    return []


def _check_task(record: ResultsRecord, task_id: str, task: TaskResult, protocol: Any) -> list[Problem]:
    spec = protocol.tasks.get(task_id)  # each protocol declares its own metrics per task
    base = f"tasks.{task_id}"
    if spec is None:
        known = ", ".join(protocol.tasks)
        return [Problem(base, f"unknown task for benchmark {record.benchmark!r}; known tasks: {known}")]
    problems: list[Problem] = []
    metrics = task.metrics
    for name in spec.metrics:
        if name not in metrics:
            problems.append(Problem(f"{base}.metrics.{name}", f"missing; task {task_id!r} reports {list(spec.metrics)}"))
    specs: dict[str, MetricSpec] = {}
    for name, value in metrics.items():
        try:
            specs[name] = metric_spec(name)
        except ValueError as err:
            problems.append(Problem(f"{base}.metrics.{name}", str(err)))
            continue
        problems += _metric_value_problems(f"{base}.metrics.{name}", specs[name], value, task.gallery_size, protocol.bounded)

    # A metric declared to grow with K (Recall@K counts hits within the top K) cannot drop as K grows.
    growing = sorted(
        (s.family.family, s.k, name)
        for name, s in specs.items()
        if s.family.grows_with_k and s.k is not None and _number(metrics[name])
    )
    for (fam_a, _, low_name), (fam_b, _, high_name) in zip(growing, growing[1:]):
        if fam_a == fam_b and metrics[low_name] > metrics[high_name]:
            problems.append(
                Problem(
                    f"{base}.metrics.{high_name}",
                    f"{metrics[high_name]} is below {low_name} = {metrics[low_name]} "
                    f"({specs[high_name].label.split('@')[0].lower()} cannot drop as K grows)",
                )
            )

    if task.main_score != spec.main_score:
        problems.append(Problem(f"{base}.main_score", f"{task.main_score!r}, expected {spec.main_score!r}"))
    elif task.main_score not in metrics:
        problems.append(Problem(f"{base}.main_score", f"{task.main_score!r} is not among the task's metrics"))

    if task.num_failed > task.num_queries:
        problems.append(Problem(f"{base}.num_failed", f"{task.num_failed} exceeds num_queries = {task.num_queries}"))
    if task.failed_queries is not None and len(task.failed_queries) != task.num_failed:
        problems.append(
            Problem(f"{base}.failed_queries", f"{len(task.failed_queries)} entries but num_failed = {task.num_failed}")
        )
    if task.num_queries == 0 and metrics:
        problems.append(
            Problem(
                f"{base}.num_queries",
                "0, but the task reports metrics: each is a statistic over its queries, and the scoring "
                "kernels refuse a task without any",
            )
        )
    if task.num_queries > 0 and task.gallery_size == 0:
        problems.append(Problem(f"{base}.gallery_size", f"0 with {task.num_queries} queries: nothing was ranked"))
    problems += _count_problems(base, task, specs, protocol, spec)
    problems += _interval_problems(base, task, specs, protocol.bounded)
    problems += _per_query_problems(base, task, spec.kernel)
    problems += _cluster_problems(base, task, spec.cluster)
    return problems


# ------------------------------------------------------------------------ counts


def _share_hits(
    base: str, metrics: dict[str, float], shares: dict[int, str], n: int, failed: int
) -> tuple[dict[int, tuple[int, int]], list[Problem]]:
    """``{K: (fewest, most) queries within K}`` that each share metric (R@K) allows, and the values
    that no count gives.

    R@K is 100 x (queries with a hit within K) / num_queries, so it is a multiple of
    100 / num_queries (up to rounding to 2 decimals), and a failed query is never a hit.
    """
    hits: dict[int, tuple[int, int]] = {}
    problems: list[Problem] = []
    for k, name in shares.items():
        value = metrics[name]
        if not _number(value) or not 0 <= value <= 100:
            continue
        fewest = max(0, math.ceil((value - _ROUNDING) * n / 100))
        most = min(n, math.floor((value + _ROUNDING) * n / 100))
        path = f"{base}.metrics.{name}"
        if fewest > most:
            problems.append(
                Problem(
                    path,
                    f"{value} is not a whole number of queries out of num_queries = {n} "
                    f"(R@K moves in steps of 100/{n} = {100 / n:.4g})",
                )
            )
            continue
        if fewest > n - failed:
            problems.append(
                Problem(
                    path,
                    f"{value} means at least {fewest} of {n} queries hit, but {failed} failed "
                    f"(a failed query is a miss): at most {100 * (n - failed) / n:.4g}",
                )
            )
            continue
        hits[k] = (fewest, most)
    return hits, problems


def _sorted_rank_bounds(
    hits: dict[int, tuple[int, int]], num_queries: int, num_failed: int, gallery_size: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Lowest and highest possible sorted ranks, as runs of ``(count, rank)``, given the R@K hits.

    Ranks are 1-based; a real rank is at most the gallery size and a miss (a failed query, or
    no relevant item ranked) is gallery_size + 1, so R@K counts ranks <= min(K, gallery_size).
    """
    miss = gallery_size + 1
    ks = sorted(hits)
    lowest: list[tuple[int, int]] = []
    highest: list[tuple[int, int]] = []
    # Lowest ranks: as many hits as allowed, each as early as its cut-off band allows.
    done, floor = 0, 1
    for k in ks:
        most = min(hits[k][1], num_queries - num_failed)
        if most > done:
            lowest.append((most - done, floor))
            done = most
        floor = min(k, gallery_size) + 1
    lowest.append((num_queries - num_failed - done, floor))
    lowest.append((num_failed, miss))
    # Highest ranks: as few hits as allowed, each at its band's cut-off.
    done = 0
    for k in ks:
        fewest = hits[k][0]
        if fewest > done:
            highest.append((fewest - done, min(k, gallery_size)))
            done = fewest
    highest.append((num_queries - done, miss))
    return [r for r in lowest if r[0] > 0], [r for r in highest if r[0] > 0]


def _run_statistic(runs: list[tuple[int, int]], statistic: str) -> float:
    """The mean or median of sorted ranks given as runs of ``(count, rank)``."""
    if statistic == "mean":
        return sum(count * rank for count, rank in runs) / sum(count for count, _ in runs)
    return weighted_median([rank for _, rank in runs], [count for count, _ in runs])


def _count_problems(base: str, task: TaskResult, specs: dict[str, MetricSpec], protocol: Any, spec: Any) -> list[Problem]:
    """Shares of queries against the counts; rank statistics against what the shares allow; AP@K
    against the share at the same K.

    Only for protocols whose percentages are shares of queries with each gallery item ranked once
    (`ProtocolSpec.bounded`): the official TF-CoVR R@K counts every copy of a repeated target.
    """
    if not protocol.bounded:
        return []
    n, failed, gallery, metrics = task.num_queries, task.num_failed, task.gallery_size, task.metrics
    if not (n >= 1 and 0 <= failed <= n):
        return []
    shares = {s.k: name for name, s in specs.items() if s.is_share and s.k is not None}
    hits, problems = _share_hits(base, dict(metrics), shares, n, failed)
    if problems or not hits:
        return problems
    # Nothing ranks below the gallery's last item: every R@K with K >= gallery_size is the same.
    capped = sorted(k for k in hits if k >= gallery >= 1)
    for k in capped[1:]:
        if hits[k][0] > hits[capped[0]][1] or hits[k][1] < hits[capped[0]][0]:
            first = shares[capped[0]]
            problems.append(
                Problem(
                    f"{base}.metrics.{shares[k]}",
                    f"{metrics[shares[k]]} differs from {first} = {metrics[first]}, but with "
                    f"gallery_size = {gallery} both count every query whose relevant item was ranked at all",
                )
            )
    if problems:
        return problems
    # The scorer ranks against at least one item (see vidret.evaluation.running.score).
    lowest, highest = _sorted_rank_bounds(hits, n, failed, max(1, gallery))
    shown = ", ".join(f"{name} = {metrics[name]}" for name in metrics if name in shares.values())
    for name, s in specs.items():
        if not s.is_rank or s.family.statistic not in ("mean", "median") or not _number(metrics[name]):
            continue
        value, statistic = metrics[name], s.family.statistic
        low, high = _run_statistic(lowest, statistic), _run_statistic(highest, statistic)
        if not low - _ROUNDING <= value <= high + _ROUNDING:
            problems.append(
                Problem(
                    f"{base}.metrics.{name}",
                    f"{value} is impossible with {shown} over {n} queries ({failed} failed, gallery_size = {gallery}): "
                    f"those put the {statistic} rank between {low:g} and {high:g}",
                )
            )
    # AP@K <= 1 and is 0 for a query without a valid target in its top K, which R@K (when it
    # counts any valid target) counts as a miss.
    if spec.rules.recall == "any":
        for name, s in specs.items():
            share = shares.get(s.k) if s.family.per_query == "AP" else None
            if share is None or s.k not in hits or not _number(metrics[name]):
                continue
            if metrics[name] > metrics[share] + _ROUNDING:
                problems.append(
                    Problem(
                        f"{base}.metrics.{name}",
                        f"{metrics[name]} exceeds {share} = {metrics[share]}: a query scores AP@{s.k} > 0 only with "
                        f"a target in its top {s.k}",
                    )
                )
    return problems


# ------------------------------------------------------------------------ intervals and per-query data


def _interval_problems(base: str, task: TaskResult, specs: dict[str, MetricSpec], bounded: bool) -> list[Problem]:
    """Each interval: both ends, within its metric's declared bounds, and around the reported value."""
    low, high = task.ci_low, task.ci_high
    if low is None or high is None:
        return []  # absent (results of earlier versions)
    problems = []
    if task.ci is None:
        problems.append(Problem(f"{base}.ci", "missing; ci_low/ci_high need the method, level and seed that made them"))
    for name in sorted(set(low) | set(high)):
        if name not in task.metrics:
            problems.append(Problem(f"{base}.ci_low.{name}", f"interval of {name!r}, which the task does not report"))
        elif name not in low or name not in high:
            problems.append(Problem(f"{base}.ci_high.{name}", "an interval needs both ci_low and ci_high"))
        elif low[name] > high[name]:
            problems.append(Problem(f"{base}.ci_low.{name}", f"{low[name]} is above ci_high = {high[name]}"))
        elif name in specs:
            problems += _interval_value_problems(base, name, specs[name], task, bounded)
    return problems


def _interval_value_problems(base: str, name: str, spec: MetricSpec, task: TaskResult, bounded: bool) -> list[Problem]:
    """An interval's ends against the metric's bounds, and the reported value against its interval
    (a percentile bootstrap interval holds the estimate; slack for values rounded to 2 decimals)."""
    ends = {"ci_low": task.ci_low[name], "ci_high": task.ci_high[name]}  # type: ignore[index]
    problems = []
    for field_name, value in ends.items():
        problems += _metric_value_problems(f"{base}.{field_name}.{name}", spec, value, task.gallery_size, bounded)
    value = task.metrics[name]
    if problems or not _number(value):
        return problems
    if not ends["ci_low"] - _ROUNDING <= value <= ends["ci_high"] + _ROUNDING:
        problems.append(
            Problem(
                f"{base}.ci_low.{name}",
                f"the interval [{ends['ci_low']}, {ends['ci_high']}] excludes the reported {name} = {value}",
            )
        )
    return problems


def _per_query_problems(base: str, task: TaskResult, kernel: str) -> list[Problem]:
    from vidret.evaluation.results.confidence import query_values  # lazily: scoring kernels import numpy

    per_query = task.per_query
    if per_query is None:
        return []  # results of earlier versions
    path = f"{base}.per_query"
    n = task.num_queries
    columns = {QUERY_ID_COLUMN: per_query.query_id, **per_query.columns}
    if per_query.cluster is not None:
        columns[CLUSTER_COLUMN] = per_query.cluster
    problems = [
        Problem(f"{path}.{key}", f"{len(values)} entries but num_queries = {n}")
        for key, values in columns.items()
        if len(values) != n
    ]
    if problems:
        return problems
    try:
        values = query_values(task, kernel) or {}
    except (TypeError, ValueError) as err:
        return [Problem(path, str(err))]
    for name, column in values.items():
        reported = task.metrics.get(name)
        if not _number(reported) or column.values.size == 0:
            continue
        recomputed = column.value()
        if math.isfinite(recomputed) and abs(recomputed - reported) > _PER_QUERY_TOLERANCE:
            problems.append(Problem(f"{base}.metrics.{name}", f"{reported} but the per-query data give {recomputed:.4f}"))
    return problems


def _cluster_problems(base: str, task: TaskResult, declared: str | None) -> list[Problem]:
    """The intervals' clusters against the per-query cluster ids and the task's declaration.

    Results written before clusters were kept have neither (their intervals resampled queries)
    and pass; a cluster bootstrap must name the task's declared cluster, say so in its method,
    and count the clusters of the recorded ids.
    """
    from vidret.scoring.bootstrap import interval_method  # lazily: numpy

    ci, per_query = task.ci, task.per_query
    ids = per_query.cluster if per_query is not None else None
    if ci is None:
        return []
    key = ci.cluster_key
    if key is None:
        if ci.num_clusters is not None:
            return [Problem(f"{base}.ci.num_clusters", "given without ci.cluster_key (what the queries cluster on)")]
        if ids is not None:
            return [
                Problem(
                    f"{base}.ci",
                    f"per_query holds cluster ids but the intervals are a {ci.method!r} without ci.cluster_key; "
                    "they must resample the clusters",
                )
            ]
        return []
    problems = []
    if declared is not None and key != declared:
        problems.append(Problem(f"{base}.ci.cluster_key", f"{key!r}, but the task's queries cluster on {declared!r}"))
    try:
        expected = interval_method(key)
    except ValueError as err:  # e.g. a key of spaces only
        return [*problems, Problem(f"{base}.ci.cluster_key", str(err))]
    if ci.method != expected:
        problems.append(Problem(f"{base}.ci.method", f"{ci.method!r}, but a cluster bootstrap on {key!r} is {expected!r}"))
    if per_query is not None and ids is None:
        problems.append(Problem(f"{base}.per_query", f"no {CLUSTER_COLUMN!r} ids, but the intervals resampled clusters ({key!r})"))
    elif ids is not None and ci.num_clusters is not None and len(set(ids)) != ci.num_clusters:
        problems.append(
            Problem(f"{base}.ci.num_clusters", f"{ci.num_clusters}, but per_query.{CLUSTER_COLUMN} names {len(set(ids))} clusters")
        )
    return problems
