"""The results record of one evaluation run: build it, check it against the schema, write it.

The schema (``results.schema.json`` next to this file) is the contract with `vidret validate`,
`vidret submit` and the leaderboard; records are checked with `vidret.evaluation.results.validation`
before they are written. Only the main process writes, and it writes atomically
(temporary file in the same folder, then rename), so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidret.common import atomic_write_text
from vidret.environment import hardware_info, package_versions
from vidret.evaluation.results.validation import validate_results

SCHEMA_VERSION = "1.0"


def build_record(
    *,
    benchmark: str,
    config: str,
    split: str,
    dataset: Mapping[str, Any],
    model: Mapping[str, Any],
    settings: Mapping[str, Any],
    tasks: Mapping[str, Mapping[str, Any]],
    failures: list[Mapping[str, Any]],
    num_processes: int,
    wall_time_s: float,
    cache: Mapping[str, Any] | None = None,
    timings: Mapping[str, float] | None = None,
    embeddings: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Assemble a results record; versions, hardware and the timestamp are stamped here.

    Args:
        benchmark: "lovr" or "tf-covr".
        config: dataset config(s) read, e.g. "videos+clips".
        split: dataset split.
        dataset: {"repo", "revision", optional "fingerprint"}.
        model: {"id", "revision", "adapter", ...}.
        settings: every setting that changes the numbers (frames, resolution, fusion, ...).
        tasks: task id → {"metrics", "main_score", "num_queries", "num_failed", "gallery_size", ...}.
        failures: one {"item_id", "kind", "source", "reason"} per item that could not be embedded.
        num_processes: the real world size of the run.
        wall_time_s: seconds from start to scores.
        cache: optional cache statistics.
        timings: optional seconds per stage.
        embeddings: optional, per side ("texts", "videos"), where its embeddings came from (the
            model and its cache namespace, or stored files with checksums, or a Hub repo + commit).

    Returns:
        The record (not yet validated; `write_results` validates).
    """
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "benchmark": benchmark,
        "config": config,
        "split": split,
        "dataset": dict(dataset),
        "model": dict(model),
        "settings": dict(settings),
        "tasks": {k: dict(v) for k, v in tasks.items()},
        "num_queries": int(sum(int(t.get("num_queries", 0)) for t in tasks.values())),
        "num_failed": len(failures),
        "failures": [dict(f) for f in failures],
        "num_processes": int(num_processes),
        "versions": package_versions(),
        "hardware": hardware_info(),
        "wall_time_s": round(float(wall_time_s), 3),
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if cache is not None:
        record["cache"] = dict(cache)
    if embeddings is not None:
        record["embeddings"] = {side: dict(origin) for side, origin in embeddings.items()}
    if timings is not None:
        record["timings"] = {k: round(float(v), 3) for k, v in timings.items()}
    return record


def results_json(record: Mapping[str, Any], *, ensure_ascii: bool = True) -> str:
    """A results record as indented JSON text, each per-query column on one line.

    Indenting every entry of a 40,000-query column would turn the file into 40,000 lines per
    column; here the record reads as before and each task's `per_query` (moved to the end of its
    task) holds one line per column. `json.loads` gives the record back unchanged.

    Args:
        record: a results record.
        ensure_ascii: escape non-ASCII characters (as `json.dumps` does by default).

    Returns:
        The JSON text, ending with a newline.
    """
    columns: dict[str, list[Any]] = {}
    shaped = dict(record)
    if isinstance(record.get("tasks"), Mapping):
        shaped["tasks"] = {}
        for task_id, task in record["tasks"].items():
            task = dict(task)
            per_query = task.pop("per_query", None)
            if isinstance(per_query, Mapping):
                placeholders = {}
                for key, values in per_query.items():
                    token = f"@per-query-{uuid.uuid4().hex}@"
                    columns[token] = values
                    placeholders[key] = token
                task["per_query"] = placeholders
            elif per_query is not None:
                task["per_query"] = per_query
            shaped["tasks"][task_id] = task
    text = json.dumps(shaped, indent=2, sort_keys=False, ensure_ascii=ensure_ascii)
    for token, values in columns.items():
        text = text.replace(json.dumps(token), json.dumps(values, ensure_ascii=ensure_ascii), 1)
    return text + "\n"


def write_results(record: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Validate `record` and write it as indented JSON, atomically.

    Args:
        record: a results record (see `build_record`).
        path: destination file; parent folders are created.

    Returns:
        The written path.

    Raises:
        ResultsValidationError: (a ValueError) listing every schema or consistency problem;
            nothing is written.
    """
    validate_results(record, require_all_tasks=False, source=str(path))
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(dest, results_json(record))
