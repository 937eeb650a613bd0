"""Plots of a leaderboard table (matplotlib, no pyplot): a Recall@K curve per retrieval task,
bars per K for other families (mAP@K of composed tasks), for the best rows of each task.

What is drawn comes from the metric declarations (`vidret.scoring.metrics`): the family of the
task's headline, its cut-offs in order of K.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from vidret.hub.leaderboard.model import LeaderboardTable
from vidret.scoring.metrics import MetricSpec, metric_spec

MAX_PLOTTED_ROWS = 10  # plots show the best rows only; the table has them all

# family → (file name part, axis and caption text); other families get their own name.
_FAMILY_NAMES = {"R": ("recall", "Recall@K"), "mAP": ("map", "mAP@K")}


def _row_label(row: dict[str, Any]) -> str:
    """A row's name in a legend: the model's last name part, revision and frames."""
    revision = f"@{str(row['model_revision'])[:7]}" if row["model_revision"] else ""
    frames = f" ({row['frames']}f)" if row["frames"] is not None else ""
    return f"{row['model'].rsplit('/', 1)[-1]}{revision}{frames}"


def legend_labels(rows: list[dict[str, Any]]) -> list[str]:
    """One distinct legend label per row.

    Rows whose labels collide get their settings added when their settings differ, then a
    counter ("#2", "#3") for what still collides. "$" is escaped, or matplotlib would read
    "a$^$b" as (broken) math and fail the whole site; a leading "_" (which matplotlib's legend
    skips) is kept visible.
    """
    labels = [_row_label(row) for row in rows]
    settings: dict[str, set[str]] = {}
    for label, row in zip(labels, rows):
        settings.setdefault(label, set()).add(row["settings"])
    labels = [  # settings added to a colliding group whose settings differ
        f"{label} [{row['settings']}]" if len(settings[label]) > 1 and row["settings"] else label
        for label, row in zip(labels, rows)
    ]
    counts, seen = Counter(labels), Counter()
    unique = []
    for label in labels:
        seen[label] += 1
        unique.append(label if counts[label] == 1 or seen[label] == 1 else f"{label} #{seen[label]}")
    return [(" " + label if label.startswith("_") else label).replace("$", r"\$") for label in unique]


def plotted_metrics(metrics: tuple[str, ...]) -> list[MetricSpec]:
    """The metrics a task's plot shows: the cut-off family of its headline (or of its first metric
    with a cut-off), every K of that family, in order of K. Empty when no metric has a cut-off."""
    specs = [metric_spec(m) for m in metrics]
    family = next((s.family.family for s in specs if s.k is not None), None)
    return sorted((s for s in specs if s.family.family == family), key=lambda s: s.k)


def plot_table(table: LeaderboardTable, out_dir: str | Path, *, max_rows: int | None = None) -> list[tuple[Path, str]]:
    """Plots of the best rows scoring each task: an R@K curve per retrieval task, mAP@K bars per composed task.

    Args:
        table: from `build_table`.
        out_dir: folder the PNG files are written to (created if needed).
        max_rows: rows drawn per task (default `MAX_PLOTTED_ROWS`).

    Returns:
        (PNG path, caption) pairs; empty when the table has no rows.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    limit = MAX_PLOTTED_ROWS if max_rows is None else max_rows
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: list[tuple[Path, str]] = []
    for task_id, metrics in table.tasks.items():
        # Rows of partial runs that did not score this task are left out, not drawn as zeros.
        scored = [row for row in table.rows if row.get(f"{task_id}/{metrics[0]}") is not None]
        rows = scored[:limit]
        specs = plotted_metrics(metrics)
        if not rows or not specs:
            continue
        shown = f"top {len(rows)} of {len(scored)} rows" if len(scored) > len(rows) else "all rows"
        family = specs[0].family
        file_part, name = _FAMILY_NAMES.get(family.family, (family.family.lower(), f"{family.family}@K"))
        labels = legend_labels(rows)
        fig = Figure(figsize=(7.2, 4.0), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ks = [spec.k for spec in specs]
        if family.per_query == "hit":  # recall grows with K: a curve over K
            for row, label in zip(rows, labels):
                ax.plot(ks, [row.get(f"{task_id}/{s.name}") for s in specs], marker="o", label=label)
            ax.set_xscale("log")
            ax.set_xticks(ks, [str(k) for k in ks])
            ax.set_xlabel("K")
        else:  # one group of bars per K
            width = 0.8 / len(rows)
            for i, (row, label) in enumerate(zip(rows, labels)):
                values = [row.get(f"{task_id}/{s.name}") for s in specs]  # missing: no bar
                ax.bar([x + i * width for x in range(len(ks))], [float("nan") if v is None else v for v in values], width, label=label)
            ax.set_xticks([x + width * (len(rows) - 1) / 2 for x in range(len(ks))], [s.name for s in specs])
        ax.set_ylabel(f"{name} (%)" if family.percentage else name)
        # A little room so scores of 0 and 100 stay visible (official TF-CoVR scores may pass 100).
        values = [v for row in rows for m in metrics if isinstance(v := row.get(f"{task_id}/{m}"), (int, float))]
        ax.set_ylim(-2, max([100.0] + values) * 1.04)
        ax.set_title(f"{table.page} {task_id}")
        ax.grid(alpha=0.3)
        fig.legend(loc="outside right upper", fontsize="small")  # beside the axes: never over a bar at 100
        path = out_dir / f"{table.page}_{task_id}_{file_part}.png"
        fig.savefig(path)
        plots.append((path, f"{task_id}: {name} ({shown})"))
    return plots
