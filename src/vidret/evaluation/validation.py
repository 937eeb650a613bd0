"""Check a results JSON: the repo's JSON Schema first, then consistency with the benchmark.

The schema (`results.schema.json`, next to this file) says what a results file looks like;
this module also checks what a schema cannot: every task of the benchmark is scored with every
metric it declares (per `vidret.benchmarks`), values lie in their range, and the counts agree
with each other. Every problem names the field it is about, as a dotted path such as
`tasks.t2v.metrics.R@1`, so a user can find it in the file.
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

from vidret.benchmarks import BENCHMARKS

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")

# Metric families by name; percentages are reported x100, ranks are 1-based.
_PERCENT_METRIC = re.compile(r"^(R|mAP)@(\d+)$")
_RANK_METRICS = ("MdR", "MnR")


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
        return f"{self.path}: {self.message}"


class ResultsValidationError(ValueError):
    """A results file failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
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


def _check_metric_value(path: str, name: str, value: Any, gallery_size: Any) -> list[Problem]:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return []  # the schema already reports non-numbers
    if not math.isfinite(value):
        return [Problem(path, f"{value} is not a finite number")]
    if _PERCENT_METRIC.match(name):
        if not 0 <= value <= 100:
            return [Problem(path, f"{value} is outside [0, 100] ({name} is a percentage)")]
    elif name in _RANK_METRICS:
        if value < 1:
            return [Problem(path, f"{value} is below 1 ({name} is a 1-based rank)")]
        # A miss (failed query, or no rankable relevant item) enters MdR/MnR as gallery_size + 1
        # (see vidret.scoring.retrieval), so that is the largest legitimate value.
        if isinstance(gallery_size, int) and gallery_size >= 1 and value > gallery_size + 1:
            return [Problem(path, f"{value} exceeds gallery_size + 1 = {gallery_size + 1} (the rank given to a miss)")]
    return []


def _check_task(benchmark: str, task_id: str, task: dict[str, Any]) -> list[Problem]:
    spec = BENCHMARKS[benchmark].tasks.get(task_id)
    base = f"tasks.{task_id}"
    if spec is None:
        known = ", ".join(BENCHMARKS[benchmark].tasks)
        return [Problem(base, f"unknown task for benchmark {benchmark!r}; known tasks: {known}")]
    problems: list[Problem] = []
    metrics = task.get("metrics") if isinstance(task.get("metrics"), dict) else {}
    for name in spec.metrics:
        if name not in metrics:
            problems.append(Problem(f"{base}.metrics.{name}", f"missing; task {task_id!r} reports {list(spec.metrics)}"))
    gallery_size = task.get("gallery_size")
    for name, value in metrics.items():
        problems += _check_metric_value(f"{base}.metrics.{name}", name, value, gallery_size)

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
    return problems


def _check_consistency(results: dict[str, Any], require_all_tasks: bool) -> list[Problem]:
    problems: list[Problem] = []
    benchmark = results.get("benchmark")
    tasks = results.get("tasks") if isinstance(results.get("tasks"), dict) else {}
    if benchmark in BENCHMARKS:
        if require_all_tasks:
            for task_id in BENCHMARKS[benchmark].default_tasks():
                if task_id not in tasks:
                    problems.append(Problem(f"tasks.{task_id}", f"missing; benchmark {benchmark!r} scores it by default"))
        for task_id, task in tasks.items():
            if isinstance(task, dict):
                problems += _check_task(benchmark, task_id, task)

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
    return problems


def check_results(results: Any, *, require_all_tasks: bool = True) -> list[Problem]:
    """Every problem with a results dict: schema violations, then consistency problems.

    Args:
        results: the parsed results JSON.
        require_all_tasks: report a default task of the benchmark (see `vidret.benchmarks`) that
            the results do not score. Off for partial runs (`--tasks`).

    Returns:
        The problems found, empty when the results are valid.
    """
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
        ResultsValidationError: when it is not JSON, or not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultsValidationError([Problem("(root)", f"not valid JSON: {err}")], str(path)) from None
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
        e.g. "lovr/test openai/clip@abc123 [clip, 8 frames] t2v R@1=42.10 ... (0 failed)".
    """
    model = results["model"]
    revision = f"@{model['revision']}" if model.get("revision") else ""
    settings = results["settings"]
    scores = " ".join(
        f"{task_id} {task['main_score']}={task['metrics'][task['main_score']]:.2f}"
        for task_id, task in results["tasks"].items()
    )
    flags = " RANDOM-WEIGHTS" if model.get("random_weights") else ""
    return (
        f"{results['benchmark']}/{results['split']} {model['id']}{revision} "
        f"[{model['adapter']}, {settings['frames']} frames]{flags} {scores} ({results['num_failed']} failed)"
    )
