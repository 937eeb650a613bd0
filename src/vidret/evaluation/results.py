"""The results record of one evaluation run: build it, check it against the schema, write it.

The schema (``results.schema.json`` next to this file) is the contract with `vidret validate`,
`vidret submit` and the leaderboard; records are checked with `vidret.evaluation.validation`
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

from vidret.environment import hardware_info, package_versions
from vidret.evaluation.validation import validate_results

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
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2, sort_keys=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest
