"""Plain-text tables of results records (what `vidret evaluate` and `vidret demo` print).

One block per (benchmark, task): a title line with the task's name, query count and gallery
size, then one row per model with the headline metric first (marked ``*``) and, when the results
carry one, its bootstrap interval beside it. Tables fit
`TABLE_WIDTH` columns: a model name too long for its row goes on a line of its own above the
numbers. The oracle is labelled a check: it proves the pipeline, it does not lead anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vidret.benchmarks import BENCHMARKS
from vidret.terminal import printable

TABLE_WIDTH = 80  # the narrowest common terminal
HEADLINE_MARK = "*"
INDENT = "  "


def model_label(record: Mapping[str, Any]) -> str:
    """The model's name as shown in tables (control characters escaped); random-weight models and
    the oracle say what they are."""
    model = record["model"]
    label = str(model["id"])
    if Path(label).is_dir():  # a local folder: its name is enough
        label = Path(label).name
    if model.get("adapter") == "oracle":
        label += " (check)"
    elif model.get("random_weights"):
        label += " (random weights)"
    return printable(label)


def _number(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "-"


def _interval(task: Mapping[str, Any], metric: str) -> str:
    """The metric's recorded interval as ``low-high`` ("-" for results without one).

    Scores are never negative, so a hyphen reads as a range and keeps an 8-metric row in 80 columns.
    """
    low, high = (task.get(key) or {} for key in ("ci_low", "ci_high"))
    if not isinstance(low.get(metric), (int, float)) or not isinstance(high.get(metric), (int, float)):
        return "-"
    return f"{low[metric]:.2f}-{high[metric]:.2f}"


def _task_name(benchmark: str, task_id: str, task: Mapping[str, Any]) -> str:
    """The task's name as recorded, else as the benchmark declares it, else its id."""
    if task.get("name"):
        return printable(task["name"])
    spec = BENCHMARKS.get(benchmark)
    return spec.tasks[task_id].name if spec is not None and task_id in spec.tasks else task_id


def _uniform(values: Sequence[Any]) -> Any:
    """The single value of `values`, or None when they differ."""
    return values[0] if len(set(map(str, values))) == 1 else None


def _task_block(benchmark: str, task_id: str, entries: list[tuple[str, Mapping[str, Any]]], width: int) -> list[str]:
    """The lines of one (benchmark, task) block; `entries` are (model label, task entry)."""
    tasks = [task for _, task in entries]
    headline = tasks[0].get("main_score") or next(iter(tasks[0]["metrics"]))
    names = list(dict.fromkeys([headline, *(m for task in tasks for m in task["metrics"])]))
    columns = [
        (name + (HEADLINE_MARK if name == headline else ""), [_number(task["metrics"].get(name)) for task in tasks])
        for name in names
    ]
    intervals = [_interval(task, headline) for task in tasks]
    if any(cell != "-" for cell in intervals):  # the headline's uncertainty, beside it
        level = next((task["ci"].get("level") for task in tasks if isinstance(task.get("ci"), Mapping)), None)
        header = f"{round(100 * level)}% CI" if isinstance(level, (int, float)) else "CI"
        columns.insert(1, (header, intervals))
    queries = _uniform([task.get("num_queries") for task in tasks])
    gallery = _uniform([task.get("gallery_size") for task in tasks])
    facts: list[str] = []
    for label, key, value in (("queries", "num_queries", queries), ("gallery", "gallery_size", gallery)):
        if value is not None:
            facts.append(f"{value} queries" if label == "queries" else f"gallery {value}")
        else:  # differs between rows (e.g. a --limit run): one column each
            columns.append((label, [str(task.get(key, "-")) for task in tasks]))
    if any(task.get("num_failed") for task in tasks):
        columns.append(("failed", [str(task.get("num_failed", 0)) for task in tasks]))
    facts.append(f"headline {headline}")

    widths = [max(len(header), *(len(v) for v in values)) for header, values in columns]
    numbers_width = sum(widths) + len(widths) - 1
    labels = [label for label, _ in entries]
    room = max(len("model"), width - len(INDENT) * 2 - numbers_width)
    label_width = max([len("model"), *(len(label) for label in labels if len(label) <= room)])

    def numbers(cells: Sequence[str]) -> str:
        return " ".join(cell.rjust(w) for cell, w in zip(cells, widths))

    title = f"{benchmark} {task_id}: {_task_name(benchmark, task_id, tasks[0])}"
    if len(title) + 2 + len(", ".join(facts)) <= width:
        lines = [f"{title}, {', '.join(facts)}"]
    else:  # e.g. five-digit counts: the facts on a line of their own
        lines = [title, INDENT + ", ".join(facts)]
    lines.append(INDENT + "model".ljust(label_width) + INDENT + numbers([header for header, _ in columns]))
    for row, label in enumerate(labels):
        cells = numbers([values[row] for _, values in columns])
        if len(label) > label_width:  # too long for the row: a line of its own, numbers below
            lines.append(INDENT + label)
            label = ""
        lines.append(INDENT + label.ljust(label_width) + INDENT + cells)
    return lines


def format_table(records: Sequence[Mapping[str, Any]], width: int = TABLE_WIDTH) -> str:
    """One block per (benchmark, task), one row per record: headline metric first, gallery size shown.

    Args:
        records: results records (see `vidret.evaluation.results.record.build_record`).
        width: the widest line wanted; only a metric row wider than this on its own exceeds it.

    Returns:
        The text table.
    """
    groups: dict[tuple[str, str], list[tuple[str, Mapping[str, Any]]]] = {}
    for record in records:
        for task_id, task in record["tasks"].items():
            groups.setdefault((record["benchmark"], task_id), []).append((model_label(record), task))
    blocks = ["\n".join(_task_block(benchmark, task_id, entries, width)) for (benchmark, task_id), entries in groups.items()]
    return "\n\n".join(blocks)


def format_record(record: Mapping[str, Any], width: int = TABLE_WIDTH) -> str:
    """A table of one record plus its failures and run facts.

    Failed items' ids and reasons come from the dataset (and its file paths): their control
    characters are escaped, never sent to the terminal raw.
    """
    lines = [format_table([record], width)]
    if record["failures"]:
        lines.append(f"{record['num_failed']} item(s) failed to decode or had no embedding (counted as misses):")
        lines += [printable(f"  {f.get('kind', 'item')} {f['item_id']}: {f['reason']}") for f in record["failures"][:20]]
        if record["num_failed"] > 20:
            lines.append(f"  ... and {record['num_failed'] - 20} more (see the results file)")
    lines.append(f"{record['num_processes']} process(es), {record['wall_time_s']:.1f} s")
    return "\n".join(lines)
