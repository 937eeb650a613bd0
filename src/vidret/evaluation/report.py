"""Plain-text tables of results records (what `vidret evaluate` and `vidret demo` print)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def model_label(record: Mapping[str, Any]) -> str:
    """The model's name as shown in tables; random-weight models say so."""
    model = record["model"]
    label = str(model["id"])
    if Path(label).is_dir():  # a local folder: its name is enough
        label = Path(label).name
    if model.get("random_weights"):
        label += " (random weights)"
    return label


def format_table(records: Sequence[Mapping[str, Any]]) -> str:
    """One row per (record, task): benchmark, model, task, every metric, failures.

    Args:
        records: results records (see `vidret.evaluation.results.build_record`).

    Returns:
        An aligned text table.
    """
    header = ["benchmark", "model", "task", "metrics", "queries", "failed"]
    rows = [header]
    for rec in records:
        for task_id, task in rec["tasks"].items():
            metrics = "  ".join(f"{k} {v:6.2f}" for k, v in task["metrics"].items())
            rows.append(
                [rec["benchmark"], model_label(rec), task_id, metrics, str(task["num_queries"]), str(task["num_failed"])]
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_record(record: Mapping[str, Any]) -> str:
    """A table of one record plus its failures and run facts."""
    lines = [format_table([record])]
    if record["failures"]:
        lines.append(f"{record['num_failed']} item(s) failed to decode (counted as misses):")
        lines += [f"  {f.get('kind', 'item')} {f['item_id']}: {f['reason']}" for f in record["failures"][:20]]
        if record["num_failed"] > 20:
            lines.append(f"  ... and {record['num_failed'] - 20} more (see the results file)")
    lines.append(f"{record['num_processes']} process(es), {record['wall_time_s']:.1f} s")
    return "\n".join(lines)
