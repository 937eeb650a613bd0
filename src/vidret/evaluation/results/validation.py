"""Check a results file: parse it into the typed record, then check it against its benchmark.

Validation is parsing (`vidret.evaluation.results.model`: nesting, the JSON Schema with the
registry's enums, the protocol the benchmark declares, per-query entries) plus the consistency
checks (`vidret.evaluation.results.consistency`: declared metrics, bounds, counts, intervals,
per-query data). Every problem names the field it is about, as a dotted path such as
`tasks.t2v.metrics.R@1`, so a user can find it in the file; problems print with control
characters escaped (`vidret.terminal.printable`).

It is the gate for `vidret submit`, `vidret compare` and the leaderboard: they read a file with
`load_record(path)` and get a `ResultsRecord` or one `ResultsValidationError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from vidret.evaluation.results.consistency import record_problems
from vidret.evaluation.results.model import ResultsRecord, parse_created_at, parse_results
from vidret.evaluation.results.schema import (
    MAX_DEPTH,
    SCHEMA_PATH,
    Problem,
    ResultsValidationError,
    load_schema,
    read_json,
    results_schema,
)
from vidret.terminal import printable

__all__ = [
    "MAX_DEPTH",
    "SCHEMA_PATH",
    "Problem",
    "ResultsRecord",
    "ResultsValidationError",
    "check_results",
    "load_record",
    "load_results",
    "load_schema",
    "parse_created_at",
    "results_schema",
    "summarize",
    "validate_file",
    "validate_results",
]


def _record_and_problems(
    results: ResultsRecord | Any, require_all_tasks: bool, source: str | None = None
) -> tuple[ResultsRecord | None, list[Problem]]:
    if isinstance(results, ResultsRecord):
        record = results
    else:
        record, problems = parse_results(results, source=source)
        if record is None:
            return None, problems
    return record, list(dict.fromkeys(record_problems(record, require_all_tasks)))


def check_results(results: ResultsRecord | Any, *, require_all_tasks: bool = True) -> list[Problem]:
    """Every problem with results: parsing problems, else consistency problems.

    Args:
        results: the parsed results JSON, or a record.
        require_all_tasks: report a default task of the benchmark (see `vidret.benchmarks`) that
            the results do not score. Off for partial runs (`--tasks`).

    Returns:
        The problems found, empty when the results are valid. A file that does not parse (nested
        deeper than `MAX_DEPTH`, against the schema, a protocol its benchmark does not declare,
        bad per-query entries) gets those problems only: the consistency checks need a record.
    """
    return _record_and_problems(results, require_all_tasks)[1]


def validate_results(
    results: ResultsRecord | Any, *, require_all_tasks: bool = True, source: str | None = None
) -> ResultsRecord:
    """The record of `results`; raises when they have any problem.

    Args:
        results: the parsed results JSON, or a record.
        require_all_tasks: see `check_results`.
        source: file name to put in the error message.

    Returns:
        The valid record.

    Raises:
        ResultsValidationError: listing every problem found.
    """
    record, problems = _record_and_problems(results, require_all_tasks, source)
    if problems or record is None:
        raise ResultsValidationError(problems, source)
    return record


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
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
    data = read_json(path)
    if not isinstance(data, dict):
        raise ResultsValidationError([Problem("(root)", f"expected a JSON object, got {type(data).__name__}")], str(path))
    return data


def validate_file(path: str | os.PathLike[str], *, require_all_tasks: bool = True) -> dict[str, Any]:
    """Read and validate a results JSON file; its JSON object (`load_record` gives the record).

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


def load_record(path: str | os.PathLike[str], *, require_all_tasks: bool = False) -> ResultsRecord:
    """Read, parse and validate a results file: the one way to read one.

    Args:
        path: the file.
        require_all_tasks: also require every default task of the benchmark (off: a `--tasks`
            run is a valid record).

    Returns:
        The valid record (`record.source` is `path`).

    Raises:
        ResultsValidationError: for every failure (a missing or unreadable file, not JSON, not a
            results file, inconsistent), naming the file; `problems` lists what is wrong.
    """
    source = str(path)
    try:
        results = load_results(path)
    except FileNotFoundError:
        raise ResultsValidationError([Problem("(root)", "results file not found")], source) from None
    return validate_results(results, require_all_tasks=require_all_tasks, source=source)


def summarize(results: ResultsRecord | Mapping[str, Any]) -> str:
    """A one-line summary of valid results: benchmark, model, and each task's headline score.

    Args:
        results: a valid record (or its JSON object).

    Returns:
        e.g. "lovr/test [vidret protocol] openai/clip@abc123 [clip, 8 frames] t2v R@1=42.10 ... (0 failed)".
    """
    record = results if isinstance(results, ResultsRecord) else ResultsRecord.from_json(results)
    model = record.model
    revision = f"@{model.revision}" if model.revision else ""
    scores = " ".join(f"{task_id} {task.main_score}={task.headline:.2f}" for task_id, task in record.tasks.items())
    flags = " RANDOM-WEIGHTS" if model.random_weights else ""
    frames = "frames not recorded" if record.settings.frames is None else f"{record.settings.frames} frames"
    # Every part but the numbers comes from the file: escape control characters.
    return printable(
        f"{record.benchmark}/{record.split} [{record.protocol} protocol] {model.id}{revision} "
        f"[{model.adapter}, {frames}]{flags} {scores} ({record.num_failed} failed)"
    )

