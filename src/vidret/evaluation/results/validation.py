"""Check a results JSON: the repo's JSON Schema first, then consistency with the benchmark.

The schema (`results.schema.json`, next to this file) says what a results file looks like;
this module also checks what a schema cannot: every task of the benchmark is scored with every
metric it declares (per `vidret.benchmarks`), values lie in their range, and the counts agree
with each other. Every problem names the field it is about, as a dotted path such as
`tasks.t2v.metrics.R@1`, so a user can find it in the file.

It is the gate for `vidret submit` and the leaderboard, so it also refuses results that no run
can produce: an R@K that is not a whole number of queries out of `num_queries`, more hits than
queries that did not fail, a median or mean rank that the R@K values rule out (R@1 = 100 means
every rank is 1), a composed mAP@K above R@K (vidret protocol), duplicate JSON keys (readers
disagree on which value counts), empty or control-character identifiers, and JSON nested deeper
than `MAX_DEPTH` (reported, never a RecursionError). Checks follow what the record declares (its
metrics, counts and `settings.protocol`), not one benchmark's numbers. Problems print with
control characters escaped (`vidret.terminal.printable`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from vidret.benchmarks import BENCHMARKS, VIDRET_PROTOCOL, ProtocolSpec
from vidret.terminal import printable

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")

# Metric families by name; percentages are reported x100, ranks are 1-based.
_PERCENT_METRIC = re.compile(r"^(R|mAP)@(\d+)$")
_RANK_METRICS = ("MdR", "MnR")
# Results nest about 6 levels deep; anything far deeper is not a results file (and would make
# recursive readers such as jsonschema raise RecursionError).
MAX_DEPTH = 64
# Slack on reported numbers: they may be rounded to 2 decimals (the official protocols round).
_ROUNDING = 0.005 + 1e-9
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a results file.

    Attributes:
        path: dotted path of the field, e.g. "tasks.t2v.num_failed"; "(root)" for the whole file.
        message: what is wrong, in words.
    """

    path: str
    message: str

    def __str__(self) -> str:
        # Paths and messages quote the file's own keys and values: never print them raw.
        return f"{printable(self.path)}: {printable(self.message)}"


class ResultsValidationError(ValueError):
    """A results file failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{printable(source)}: " if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where}{len(self.problems)} problem(s) in results\n{lines}")


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The results JSON Schema shipped with vidret.

    Returns:
        The parsed schema (draft 2020-12).
    """
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _dotted(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "(root)"


def _structure_problems(data: Any, duplicates: dict[int, list[str]] | None = None) -> list[Problem]:
    """Nesting deeper than MAX_DEPTH, and duplicate keys, found without recursion.

    Args:
        data: parsed JSON.
        duplicates: ``{id(dict): [keys that appeared more than once in it]}`` from the parser.
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple, int]] = [(data, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict):
            for key in (duplicates or {}).get(id(node), []):
                problems.append(
                    Problem(
                        _dotted([*path, key]),
                        "key appears more than once in its object; JSON readers disagree on which value counts "
                        "(write each key once)",
                    )
                )
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth >= MAX_DEPTH:
            problems.append(Problem(_dotted(path), f"nested more than {MAX_DEPTH} levels deep; not a results file"))
            continue
        stack.extend((value, (*path, key), depth + 1) for key, value in children)
    return sorted(problems, key=lambda p: p.path)


def _schema_problems(results: Any) -> list[Problem]:
    import jsonschema  # lazily: `vidret --help` should not pay for it

    validator = jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker())
    problems = []
    for error in sorted(validator.iter_errors(results), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if error.validator == "required":
            # Name the missing field itself rather than its parent.
            missing = re.match(r"'([^']+)' is a required property", error.message)
            if missing:
                problems.append(Problem(_dotted([*path, missing.group(1)]), "required field is missing"))
                continue
        problems.append(Problem(_dotted(path), error.message))
    return problems


def parse_created_at(value: str) -> datetime:
    """The time of an ISO-8601 `created_at`, timezone-aware (UTC when the text names no zone).

    Args:
        value: e.g. "2026-03-01T12:00:00Z" or "2026-03-01T13:00:00+01:00".

    Returns:
        The aware datetime, so that times written in different zones compare correctly.

    Raises:
        ValueError: when `value` is not an ISO-8601 date-time.
    """
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _check_created_at(results: dict[str, Any]) -> list[Problem]:
    # jsonschema checks "date-time" only when rfc3339-validator is installed; check it here too.
    value = results.get("created_at")
    if not isinstance(value, str):
        return []
    try:
        parse_created_at(value)
    except ValueError:
        return [Problem("created_at", f"{value!r} is not an ISO-8601 date-time")]
    return []


def _check_metric_value(path: str, name: str, value: Any, gallery_size: Any, bounded: bool = True) -> list[Problem]:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return []  # the schema already reports non-numbers
    if not math.isfinite(value):
        return [Problem(path, f"{value} is not a finite number")]
    if _PERCENT_METRIC.match(name):
        # The official TF-CoVR numbers count repeated gallery hits and may pass 100 (not bounded).
        if bounded and not 0 <= value <= 100:
            return [Problem(path, f"{value} is outside [0, 100] ({name} is a percentage)")]
        if value < 0:
            return [Problem(path, f"{value} is negative ({name} is a percentage)")]
    elif name in _RANK_METRICS:
        if value < 1:
            return [Problem(path, f"{value} is below 1 ({name} is a 1-based rank)")]
        # A miss (failed query, or no rankable relevant item) enters MdR/MnR as gallery_size + 1
        # (see vidret.scoring.retrieval), so that is the largest legitimate value.
        if isinstance(gallery_size, int) and gallery_size >= 1 and value > gallery_size + 1:
            return [Problem(path, f"{value} exceeds gallery_size + 1 = {gallery_size + 1} (the rank given to a miss)")]
    return []


def _check_identifiers(results: dict[str, Any]) -> list[Problem]:
    """Ids that name what was evaluated: non-empty, no surrounding spaces, no control characters."""
    problems = []
    fields = [("model", "id"), ("model", "adapter"), ("model", "revision"), ("dataset", "repo"), ("dataset", "revision")]
    for parent, name in fields:
        value = results.get(parent, {}).get(name) if isinstance(results.get(parent), dict) else None
        if not isinstance(value, str):
            continue  # absent / null / not a string: the schema's business
        if not value.strip():
            problems.append(Problem(f"{parent}.{name}", "is empty; it must say what was evaluated"))
        elif value != value.strip():
            problems.append(Problem(f"{parent}.{name}", f"{value!r} has leading or trailing spaces"))
        elif _CONTROL.search(value):
            problems.append(Problem(f"{parent}.{name}", f"{value!r} holds a control character"))
    split = results.get("split")
    if isinstance(split, str) and (not split or _CONTROL.search(split)):
        problems.append(Problem("split", f"{split!r} is empty" if not split else f"{split!r} holds a control character"))
    tasks = results.get("tasks")
    for task_id in tasks if isinstance(tasks, dict) else ():
        if _CONTROL.search(task_id):
            problems.append(Problem(f"tasks.{task_id}", f"task id {task_id!r} holds a control character"))
    return problems


def _protocol(results: dict[str, Any]) -> str:
    """The protocol the record declares (`settings.protocol`); records without one mean "vidret"."""
    settings = results.get("settings")
    protocol = settings.get("protocol") if isinstance(settings, dict) else None
    return protocol if isinstance(protocol, str) else VIDRET_PROTOCOL


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _recall_hits(base: str, metrics: dict[str, Any], num_queries: int, num_failed: int) -> tuple[dict[int, tuple[int, int]], list[Problem]]:
    """``{K: (fewest, most) queries within K}`` that each R@K allows, and the R@K that no count gives.

    R@K is 100 x (queries with a hit within K) / num_queries, so it is a multiple of
    100 / num_queries (up to rounding to 2 decimals), and a failed query is never a hit.
    """
    hits: dict[int, tuple[int, int]] = {}
    problems: list[Problem] = []
    for name, value in metrics.items():
        m = _PERCENT_METRIC.match(name)
        if not m or m.group(1) != "R" or not _number(value) or not 0 <= value <= 100:
            continue
        fewest = max(0, math.ceil((value - _ROUNDING) * num_queries / 100))
        most = min(num_queries, math.floor((value + _ROUNDING) * num_queries / 100))
        path = f"{base}.metrics.{name}"
        if fewest > most:
            problems.append(
                Problem(
                    path,
                    f"{value} is not a whole number of queries out of num_queries = {num_queries} "
                    f"(R@K moves in steps of 100/{num_queries} = {100 / num_queries:.4g})",
                )
            )
            continue
        if fewest > num_queries - num_failed:
            problems.append(
                Problem(
                    path,
                    f"{value} means at least {fewest} of {num_queries} queries hit, but {num_failed} failed "
                    f"(a failed query is a miss): at most {100 * (num_queries - num_failed) / num_queries:.4g}",
                )
            )
            continue
        hits[int(m.group(2))] = (fewest, most)
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


def _run_mean(runs: list[tuple[int, int]]) -> float:
    return sum(count * rank for count, rank in runs) / sum(count for count, _ in runs)


def _run_median(runs: list[tuple[int, int]]) -> float:
    n = sum(count for count, _ in runs)

    def at(position: int) -> int:  # 0-based position in the sorted ranks
        for count, rank in runs:
            if position < count:
                return rank
            position -= count
        raise IndexError(position)

    return at((n - 1) // 2) if n % 2 else (at(n // 2 - 1) + at(n // 2)) / 2


def _check_recall_counts(base: str, task: dict[str, Any], protocol: ProtocolSpec) -> list[Problem]:
    """R@K against the query counts; MdR/MnR against what the R@K values allow; mAP@K <= R@K.

    Only for protocols whose percentages are shares of queries with each gallery item ranked once
    (`ProtocolSpec.bounded`): the official TF-CoVR R@K counts every copy of a repeated target.
    """
    if not protocol.bounded:
        return []
    metrics = task.get("metrics") if isinstance(task.get("metrics"), dict) else {}
    n, failed, gallery = task.get("num_queries"), task.get("num_failed"), task.get("gallery_size")
    if not (isinstance(n, int) and n >= 1 and isinstance(failed, int) and 0 <= failed <= n):
        return []
    hits, problems = _recall_hits(base, metrics, n, failed)
    if problems or not hits or not isinstance(gallery, int):
        return problems
    # Nothing ranks below the gallery's last item: every R@K with K >= gallery_size is the same.
    capped = sorted(k for k in hits if k >= gallery >= 1)
    for k in capped[1:]:
        if hits[k][0] > hits[capped[0]][1] or hits[k][1] < hits[capped[0]][0]:
            problems.append(
                Problem(
                    f"{base}.metrics.R@{k}",
                    f"{metrics[f'R@{k}']} differs from R@{capped[0]} = {metrics[f'R@{capped[0]}']}, but with "
                    f"gallery_size = {gallery} both count every query whose relevant item was ranked at all",
                )
            )
    if problems:
        return problems
    # The scorer ranks against at least one item (see vidret.evaluation.running.score).
    lowest, highest = _sorted_rank_bounds(hits, n, failed, max(1, gallery))
    shown = ", ".join(f"{name} = {metrics[name]}" for name in metrics if _PERCENT_METRIC.match(name) and name.startswith("R@"))
    for name, summary in (("MdR", _run_median), ("MnR", _run_mean)):
        value = metrics.get(name)
        if not _number(value):
            continue
        low, high = summary(lowest), summary(highest)
        if not low - _ROUNDING <= value <= high + _ROUNDING:
            what = "median" if name == "MdR" else "mean"
            problems.append(
                Problem(
                    f"{base}.metrics.{name}",
                    f"{value} is impossible with {shown} over {n} queries ({failed} failed, gallery_size = {gallery}): "
                    f"those put the {what} rank between {low:g} and {high:g}",
                )
            )
    # AP@K <= 1 and is 0 for a query without a target in its top K, which R@K counts as a miss.
    for k in hits:
        ap, recall = metrics.get(f"mAP@{k}"), metrics.get(f"R@{k}")
        if _number(ap) and _number(recall) and ap > recall + _ROUNDING:
            problems.append(
                Problem(
                    f"{base}.metrics.mAP@{k}",
                    f"{ap} exceeds R@{k} = {recall}: a query scores AP@{k} > 0 only with a target in its top {k}",
                )
            )
    return problems


def _check_task(benchmark: str, task_id: str, task: dict[str, Any], protocol: ProtocolSpec) -> list[Problem]:
    spec = protocol.tasks.get(task_id)  # each protocol declares its own metrics per task
    base = f"tasks.{task_id}"
    if spec is None:
        known = ", ".join(protocol.tasks)
        return [Problem(base, f"unknown task for benchmark {benchmark!r}; known tasks: {known}")]
    problems: list[Problem] = []
    metrics = task.get("metrics") if isinstance(task.get("metrics"), dict) else {}
    for name in spec.metrics:
        if name not in metrics:
            problems.append(Problem(f"{base}.metrics.{name}", f"missing; task {task_id!r} reports {list(spec.metrics)}"))
    gallery_size = task.get("gallery_size")
    for name, value in metrics.items():
        problems += _check_metric_value(f"{base}.metrics.{name}", name, value, gallery_size, protocol.bounded)

    # Recall@K counts hits within the top K, so it cannot drop as K grows.
    recalls = sorted(
        (int(m.group(2)), name)
        for name in metrics
        if (m := _PERCENT_METRIC.match(name)) and m.group(1) == "R" and isinstance(metrics[name], (int, float))
    )
    for (_, low_name), (_, high_name) in zip(recalls, recalls[1:]):
        if metrics[low_name] > metrics[high_name]:
            problems.append(
                Problem(
                    f"{base}.metrics.{high_name}",
                    f"{metrics[high_name]} is below {low_name} = {metrics[low_name]} (recall cannot drop as K grows)",
                )
            )

    main_score = task.get("main_score")
    if isinstance(main_score, str):
        if main_score != spec.main_score:
            problems.append(Problem(f"{base}.main_score", f"{main_score!r}, expected {spec.main_score!r}"))
        elif main_score not in metrics:
            problems.append(Problem(f"{base}.main_score", f"{main_score!r} is not among the task's metrics"))

    num_queries, num_failed = task.get("num_queries"), task.get("num_failed")
    if isinstance(num_queries, int) and isinstance(num_failed, int) and num_failed > num_queries:
        problems.append(Problem(f"{base}.num_failed", f"{num_failed} exceeds num_queries = {num_queries}"))
    failed_queries = task.get("failed_queries")
    if isinstance(failed_queries, list) and isinstance(num_failed, int) and len(failed_queries) != num_failed:
        problems.append(
            Problem(f"{base}.failed_queries", f"{len(failed_queries)} entries but num_failed = {num_failed}")
        )
    if isinstance(num_queries, int) and num_queries > 0 and gallery_size == 0:
        problems.append(Problem(f"{base}.gallery_size", f"0 with {num_queries} queries: nothing was ranked"))
    problems += _check_recall_counts(base, task, protocol)
    problems += _check_intervals(base, task, metrics)
    problems += _check_per_query(base, task, metrics, protocol)
    return problems


def _check_intervals(base: str, task: dict[str, Any], metrics: dict[str, Any]) -> list[Problem]:
    low, high = task.get("ci_low"), task.get("ci_high")
    if not isinstance(low, dict) or not isinstance(high, dict):
        return []  # absent (results of earlier versions) or already reported by the schema
    problems = []
    if "ci" not in task:
        problems.append(Problem(f"{base}.ci", "missing; ci_low/ci_high need the method, level and seed that made them"))
    for name in sorted(set(low) | set(high)):
        if name not in metrics:
            problems.append(Problem(f"{base}.ci_low.{name}", f"interval of {name!r}, which the task does not report"))
        elif name not in low or name not in high:
            problems.append(Problem(f"{base}.ci_high.{name}", "an interval needs both ci_low and ci_high"))
        elif all(isinstance(v, (int, float)) for v in (low[name], high[name])) and low[name] > high[name]:
            problems.append(Problem(f"{base}.ci_low.{name}", f"{low[name]} is above ci_high = {high[name]}"))
    return problems


def _first_bad(values: list[Any], ok: Any) -> int | None:
    return next((i for i, value in enumerate(values) if not ok(value)), None)


def _per_query_entry_problems(path: str, per_query: dict[str, Any], protocol: ProtocolSpec) -> list[Problem]:
    """Entry types of the per-query columns (the schema checks only that they are arrays)."""
    rules = {
        "query_id": (lambda v: isinstance(v, str), "is not a string"),
        "rank": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1), "is not an integer >= 1 or null"),
        "AP": (lambda v: _number(v) and v >= 0, "is not a finite number >= 0"),
        # 0/1; where percentages are not bounded (official TF-CoVR), copies of the designated target.
        "hit": (lambda v: type(v) is int and v >= 0, "is not an integer >= 0")
        if not protocol.bounded
        else (lambda v: type(v) is int and v in (0, 1), "is not 0 or 1"),
    }
    problems = []
    for key, values in per_query.items():
        rule = rules.get(key.split("@")[0] if "@" in key else key)
        if rule is None or not isinstance(values, list):
            continue
        bad = _first_bad(values, rule[0])
        if bad is not None:
            problems.append(Problem(f"{path}.{key}.{bad}", f"{values[bad]!r} {rule[1]}"))
    return problems


# Metrics recomputed from per-query data must match the reported ones up to this (scores
# reported rounded to 2 decimals, as the official protocol does, are off by at most 0.005).
_PER_QUERY_TOLERANCE = 0.01


def _check_per_query(base: str, task: dict[str, Any], metrics: dict[str, Any], protocol: ProtocolSpec) -> list[Problem]:
    from vidret.evaluation.results.confidence import query_values  # lazily: scoring kernels import numpy

    per_query = task.get("per_query")
    if not isinstance(per_query, dict) or not isinstance(per_query.get("query_id"), list):
        return []  # absent (results of earlier versions) or already reported by the schema
    path = f"{base}.per_query"
    num_queries = task.get("num_queries")
    problems = [
        Problem(f"{path}.{key}", f"{len(values)} entries but num_queries = {num_queries}")
        for key, values in per_query.items()
        if isinstance(values, list) and isinstance(num_queries, int) and len(values) != num_queries
    ]
    problems += _per_query_entry_problems(path, per_query, protocol)
    if problems:
        return problems
    try:
        columns = query_values(task) or {}
    except (TypeError, ValueError) as err:
        return [Problem(path, str(err))]
    for name, column in columns.items():
        reported = metrics.get(name)
        if not isinstance(reported, (int, float)) or isinstance(reported, bool) or column.values.size == 0:
            continue
        recomputed = column.value()
        if math.isfinite(recomputed) and abs(recomputed - reported) > _PER_QUERY_TOLERANCE:
            problems.append(
                Problem(f"{base}.metrics.{name}", f"{reported} but the per-query data give {recomputed:.4f}")
            )
    return problems


def _check_consistency(results: dict[str, Any], require_all_tasks: bool) -> list[Problem]:
    problems: list[Problem] = []
    benchmark = results.get("benchmark")
    tasks = results.get("tasks") if isinstance(results.get("tasks"), dict) else {}
    # Records without a protocol are ours; an unknown one is the schema's to report.
    if benchmark in BENCHMARKS and _protocol(results) in BENCHMARKS[benchmark].protocols:
        protocol = BENCHMARKS[benchmark].protocol(_protocol(results))
        if require_all_tasks:
            for task_id in BENCHMARKS[benchmark].default_tasks():
                if task_id not in tasks:
                    problems.append(Problem(f"tasks.{task_id}", f"missing; benchmark {benchmark!r} scores it by default"))
        for task_id, task in tasks.items():
            if isinstance(task, dict):
                problems += _check_task(benchmark, task_id, task, protocol)

    num_failed, failures = results.get("num_failed"), results.get("failures")
    if isinstance(num_failed, int) and isinstance(failures, list) and num_failed != len(failures):
        problems.append(Problem("num_failed", f"{num_failed} but the failures list has {len(failures)} entries"))
    total = results.get("num_queries")
    task_counts = [t.get("num_queries") for t in tasks.values() if isinstance(t, dict)]
    if isinstance(total, int) and all(isinstance(n, int) for n in task_counts) and total != sum(task_counts):
        problems.append(Problem("num_queries", f"{total} but the tasks' num_queries add up to {sum(task_counts)}"))
    if num_failed == 0:
        # A query can only fail if some item failed to decode.
        for task_id, task in tasks.items():
            if isinstance(task, dict) and isinstance(task.get("num_failed"), int) and task["num_failed"] > 0:
                problems.append(
                    Problem(f"tasks.{task_id}.num_failed", f"{task['num_failed']} failed queries but no failed item is listed")
                )
    problems += _check_created_at(results)
    problems += _check_identifiers(results)
    return problems


def check_results(results: Any, *, require_all_tasks: bool = True) -> list[Problem]:
    """Every problem with a results dict: schema violations, then consistency problems.

    Args:
        results: the parsed results JSON.
        require_all_tasks: report a default task of the benchmark (see `vidret.benchmarks`) that
            the results do not score. Off for partial runs (`--tasks`).

    Returns:
        The problems found, empty when the results are valid. Input nested deeper than
        `MAX_DEPTH` gets that one problem and no other check (they would recurse that deep).
    """
    too_deep = _structure_problems(results)
    if too_deep:
        return too_deep
    problems = _schema_problems(results)
    if isinstance(results, dict):
        problems += _check_consistency(results, require_all_tasks)
    # The schema and the consistency checks can both see e.g. a bad count; report each once.
    return list(dict.fromkeys(problems))


def validate_results(results: Any, *, require_all_tasks: bool = True, source: str | None = None) -> None:
    """Raise when `results` has any problem.

    Args:
        results: the parsed results JSON.
        require_all_tasks: see `check_results`.
        source: file name to put in the error message.

    Raises:
        ResultsValidationError: listing every problem found.
    """
    problems = check_results(results, require_all_tasks=require_all_tasks)
    if problems:
        raise ResultsValidationError(problems, source)


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a results JSON file without validating it.

    Args:
        path: the file.

    Returns:
        The parsed JSON object.

    Raises:
        FileNotFoundError: when the file does not exist.
        ResultsValidationError: when it is not JSON, not a JSON object, repeats a key within an
            object (each named by its path), or is nested deeper than `MAX_DEPTH`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file not found: {printable(path)}")
    duplicates: dict[int, list[str]] = {}
    repeated: list[dict] = []  # keeps those dicts alive, so their ids stay theirs

    def pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            counts: dict[str, int] = {}
            for key, _ in pairs:
                counts[key] = counts.get(key, 0) + 1
            duplicates[id(obj)] = [key for key, count in counts.items() if count > 1]
            repeated.append(obj)
        return obj

    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=pairs_to_dict)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultsValidationError([Problem("(root)", f"not valid JSON: {err}")], str(path)) from None
    except RecursionError:
        raise ResultsValidationError(
            [Problem("(root)", f"nested too deeply to read (results nest about 6 levels; the limit is {MAX_DEPTH})")],
            str(path),
        ) from None
    structure = _structure_problems(data, duplicates)
    if structure:
        raise ResultsValidationError(structure, str(path))
    if not isinstance(data, dict):
        raise ResultsValidationError([Problem("(root)", f"expected a JSON object, got {type(data).__name__}")], str(path))
    return data


def validate_file(path: str | Path, *, require_all_tasks: bool = True) -> dict[str, Any]:
    """Read and validate a results JSON file.

    Args:
        path: the file.
        require_all_tasks: see `check_results`.

    Returns:
        The parsed, valid results.

    Raises:
        FileNotFoundError: when the file does not exist.
        ResultsValidationError: listing every problem found, with the file name.
    """
    results = load_results(path)
    validate_results(results, require_all_tasks=require_all_tasks, source=str(path))
    return results


def summarize(results: dict[str, Any]) -> str:
    """A one-line summary of valid results: benchmark, model, and each task's headline score.

    Args:
        results: valid results (see `validate_results`).

    Returns:
        e.g. "lovr/test [vidret protocol] openai/clip@abc123 [clip, 8 frames] t2v R@1=42.10 ... (0 failed)".
    """
    model = results["model"]
    revision = f"@{model['revision']}" if model.get("revision") else ""
    settings = results["settings"]
    scores = " ".join(
        f"{task_id} {task['main_score']}={task['metrics'][task['main_score']]:.2f}"
        for task_id, task in results["tasks"].items()
    )
    flags = " RANDOM-WEIGHTS" if model.get("random_weights") else ""
    protocol = _protocol(results)
    frames = "frames not recorded" if settings["frames"] is None else f"{settings['frames']} frames"
    # Every part but the numbers comes from the file: escape control characters.
    return printable(
        f"{results['benchmark']}/{results['split']} [{protocol} protocol] {model['id']}{revision} "
        f"[{model['adapter']}, {frames}]{flags} {scores} ({results['num_failed']} failed)"
    )
