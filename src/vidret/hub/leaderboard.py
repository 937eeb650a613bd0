"""Leaderboard: results files → one table per benchmark → a static site (and the Space's table).

`build_table` is the one place that turns results into rows and columns; the static site
(`build_site`, behind `vidret leaderboard`) and the Hub Space (`spaces/leaderboard/app.py`) both
render its output. A row whose dataset revision differs from the most common one among the rows
is flagged: its scores were computed on different data and are not directly comparable. So are
a random-weight model and a run on a subset (`--limit`).
"""

from __future__ import annotations

import html
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vidret.benchmarks import BENCHMARKS, get_benchmark
from vidret.evaluation.validation import ResultsValidationError, parse_created_at, validate_file

logger = logging.getLogger(__name__)

TEMPLATE_PATH = Path(__file__).with_name("leaderboard_template.html")
MAX_PLOTTED_ROWS = 10  # plots show the best rows only; the table has them all
LOWER_IS_BETTER = ("MdR", "MnR")


@dataclass(frozen=True)
class Column:
    """One column of a leaderboard table.

    Attributes:
        key: key of the value in each row dict (metric columns: "<task>/<metric>").
        label: header text.
        kind: "text" or "number".
        higher_is_better: sort direction of the first click; None for text columns.
    """

    key: str
    label: str
    kind: Literal["text", "number"] = "text"
    higher_is_better: bool | None = None


@dataclass
class LeaderboardTable:
    """The rows of one benchmark, ready to render.

    Attributes:
        benchmark: benchmark name, e.g. "lovr".
        title: human-readable benchmark title.
        columns: display columns, settings first, then every metric of every task, then provenance.
        rows: one dict per result, keyed by `Column.key`, plus "flags" (list of strings) and "source".
        tasks: task id → metric names, for the tasks present in at least one row.
        reference_revision: the most common dataset revision among the rows.
        sort_key: the column rows are sorted by (the first task's headline score).
    """

    benchmark: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    tasks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reference_revision: str | None = None
    sort_key: str | None = None


def collect_results(
    results_dir: str | Path, *, on_invalid: Literal["error", "warn", "skip"] = "error"
) -> list[dict[str, Any]]:
    """Read and validate every `*.json` under a folder (recursively, in path order).

    Args:
        results_dir: folder of results files, e.g. a results dataset repo checkout.
        on_invalid: what to do with an invalid file: raise, log a warning naming it and skip it, or
            skip it silently.

    Returns:
        The valid results, each with "_source" set to its path relative to `results_dir`.

    Raises:
        FileNotFoundError: when `results_dir` is not a folder.
        ValueError: for an unknown `on_invalid`.
        ResultsValidationError: for an invalid file when `on_invalid="error"`.
    """
    if on_invalid not in ("error", "warn", "skip"):
        raise ValueError(f"on_invalid must be 'error', 'warn' or 'skip', got {on_invalid!r}")
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"results folder not found: {root}")
    collected = []
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # .cache/ and friends of a Hub checkout
        try:
            results = validate_file(path, require_all_tasks=False)
        except ResultsValidationError as err:
            if on_invalid == "error":
                raise
            if on_invalid == "warn":
                logger.warning("skipping invalid results file %s", err)
            continue
        results["_source"] = path.relative_to(root).as_posix()
        collected.append(results)
    return collected


def _settings_text(results: dict[str, Any]) -> str:
    # Every setting that changes the numbers and has no column of its own; vidret's protocol
    # defaults (exact decoding, float32, clip segments averaged) go unsaid.
    settings = results["settings"]
    parts = []
    if settings.get("resolution"):
        parts.append("{}x{}".format(*settings["resolution"]))
    if settings.get("fusion"):
        parts.append(f"fusion {settings['fusion']}")
    if settings.get("pooling"):
        parts.append(f"pooling {settings['pooling']}")
    if settings.get("decode_mode", "exact") != "exact":
        parts.append(f"{settings['decode_mode']} decoding")
    if settings.get("dtype", "float32") != "float32":
        parts.append(settings["dtype"])
    long_video = settings.get("long_video") or {}
    if long_video.get("segments") == "window":
        parts.append(f"{long_video.get('window_s')} s windows")
    if long_video.get("aggregate", "mean") != "mean":
        parts.append(f"{long_video['aggregate']} of segments")
    if settings.get("limit") is not None:
        parts.append(f"limit {settings['limit']}")
    return ", ".join(parts)


# Settings that change speed or failure handling, not the scores: runs differing only in these
# are reruns of the same row.
_SPEED_SETTINGS = ("batch_size", "num_workers", "strict", "http_timeout_s", "allow_external_videos")


def _identity(results: dict[str, Any]) -> tuple:
    model = results["model"]
    settings = {key: value for key, value in results["settings"].items() if key not in _SPEED_SETTINGS}
    return (
        model["id"],
        model.get("revision"),
        model["adapter"],
        results["split"],
        results["dataset"].get("revision"),
        json.dumps(settings, sort_keys=True),
    )


def build_table(results_list: list[dict[str, Any]], benchmark: str) -> LeaderboardTable:
    """The leaderboard table of one benchmark.

    Results of other benchmarks are ignored. When the same model, revision, split, dataset revision
    and settings (all but batch size, workers and strictness) appear more than once, only the most
    recent run (by `created_at`) is kept. A run on a subset (`settings.limit`) is flagged.

    Args:
        results_list: valid results (see `collect_results`).
        benchmark: benchmark name (any spelling `vidret.benchmarks.get_benchmark` accepts).

    Returns:
        The table, rows sorted by the first task's headline score, best first.

    Raises:
        ValueError: for an unknown benchmark.
    """
    spec = get_benchmark(benchmark)
    latest: dict[tuple, dict[str, Any]] = {}
    for results in results_list:
        if results.get("benchmark") != spec.benchmark:
            continue
        key = _identity(results)
        if key not in latest or parse_created_at(results["created_at"]) > parse_created_at(latest[key]["created_at"]):
            latest[key] = results
    kept = list(latest.values())

    tasks = {
        task_id: task.metrics
        for task_id, task in spec.tasks.items()
        if any(task_id in results["tasks"] for results in kept)
    }
    revisions = Counter(results["dataset"].get("revision") for results in kept)
    # Most common first; ties broken by the revision's text so the choice is stable.
    reference = min(revisions, key=lambda rev: (-revisions[rev], str(rev))) if revisions else None

    columns = [
        Column("model", "Model"),
        Column("model_revision", "Revision"),
        Column("adapter", "Adapter"),
        Column("frames", "Frames", "number", True),
        Column("settings", "Settings"),
        Column("split", "Split"),
    ]
    for task_id, metrics in tasks.items():
        for metric in metrics:
            columns.append(Column(f"{task_id}/{metric}", f"{task_id} {metric}", "number", metric not in LOWER_IS_BETTER))
    columns += [
        Column("num_failed", "Failed", "number", False),
        Column("date", "Date"),
        Column("dataset_revision", "Dataset revision"),
    ]

    rows = []
    for results in kept:
        model = results["model"]
        row: dict[str, Any] = {
            "model": model["id"],
            "model_revision": model.get("revision"),
            "adapter": model["adapter"],
            "frames": results["settings"]["frames"],
            "settings": _settings_text(results),
            "split": results["split"],
            "num_failed": results["num_failed"],
            "date": results["created_at"][:10],
            "dataset_revision": results["dataset"].get("revision"),
            "source": results.get("_source"),
            "flags": [],
        }
        for task_id, metrics in tasks.items():
            scored = results["tasks"].get(task_id, {}).get("metrics", {})
            for metric in metrics:
                row[f"{task_id}/{metric}"] = scored.get(metric)
        if row["dataset_revision"] != reference:
            row["flags"].append("dataset revision differs")
        if model.get("random_weights"):
            row["flags"].append("random weights")
        if results["settings"].get("limit") is not None:
            row["flags"].append("subset")
        rows.append(row)

    sort_key = None
    if tasks:
        first = next(iter(tasks))
        sort_key = f"{first}/{spec.tasks[first].main_score}"
        rows.sort(key=lambda r: (r[sort_key] is None, -(r[sort_key] or 0.0), r["model"]))
    return LeaderboardTable(spec.benchmark, spec.title, columns, rows, tasks, reference, sort_key)


def table_records(table: LeaderboardTable) -> list[dict[str, Any]]:
    """The table as records keyed by column label (for pandas / a Space), flags as one text column.

    Args:
        table: from `build_table`.

    Returns:
        One dict per row, in the table's order, with a final "Flags" entry ("; "-joined).
    """
    return [
        {**{column.label: row.get(column.key) for column in table.columns}, "Flags": "; ".join(row["flags"])}
        for row in table.rows
    ]


def _row_label(row: dict[str, Any]) -> str:
    revision = f"@{str(row['model_revision'])[:7]}" if row["model_revision"] else ""
    return f"{row['model'].rsplit('/', 1)[-1]}{revision} ({row['frames']}f)"


def plot_table(table: LeaderboardTable, out_dir: str | Path) -> list[tuple[Path, str]]:
    """Plots of the best rows scoring each task: an R@K curve per retrieval task, mAP@K bars per composed task.

    Args:
        table: from `build_table`.
        out_dir: folder the PNG files are written to (created if needed).

    Returns:
        (PNG path, caption) pairs; empty when the table has no rows.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: list[tuple[Path, str]] = []
    for task_id, metrics in table.tasks.items():
        # Rows of partial runs that did not score this task are left out, not drawn as zeros.
        scored = [row for row in table.rows if row.get(f"{task_id}/{metrics[0]}") is not None]
        rows = scored[:MAX_PLOTTED_ROWS]
        if not rows:
            continue
        shown = f"top {len(rows)} of {len(scored)} rows" if len(scored) > len(rows) else "all rows"
        map_metrics = [m for m in metrics if m.startswith("mAP@")]
        fig = Figure(figsize=(7.2, 4.0), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        if map_metrics:
            ks = [m.split("@")[1] for m in map_metrics]
            width = 0.8 / len(rows)
            for i, row in enumerate(rows):
                values = [row[f"{task_id}/{m}"] for m in map_metrics]
                ax.bar([x + i * width for x in range(len(ks))], values, width, label=_row_label(row))
            ax.set_xticks([x + width * (len(rows) - 1) / 2 for x in range(len(ks))], [f"mAP@{k}" for k in ks])
            ax.set_ylabel("mAP@K (%)")
            name, caption = f"{table.benchmark}_{task_id}_map.png", f"{task_id}: mAP@K ({shown})"
        else:
            recall_metrics = [m for m in metrics if m.startswith("R@")]
            ks = [int(m.split("@")[1]) for m in recall_metrics]
            for row in rows:
                ax.plot(ks, [row.get(f"{task_id}/{m}") for m in recall_metrics], marker="o", label=_row_label(row))
            ax.set_xscale("log")
            ax.set_xticks(ks, [str(k) for k in ks])
            ax.set_xlabel("K")
            ax.set_ylabel("Recall@K (%)")
            name, caption = f"{table.benchmark}_{task_id}_recall.png", f"{task_id}: Recall@K ({shown})"
        ax.set_ylim(-2, 104)  # a little room so scores of 0 and 100 stay visible
        ax.set_title(f"{table.benchmark} {task_id}")
        ax.grid(alpha=0.3)
        fig.legend(loc="outside right upper", fontsize="small")  # beside the axes: never over a bar at 100
        path = out_dir / name
        fig.savefig(path)
        plots.append((path, caption))
    return plots


def _fill(template: str, **parts: str) -> str:
    for name, value in parts.items():
        template = template.replace("{{" + name + "}}", value)
    return template


def _format_cell(column: Column, value: Any) -> tuple[str, str]:
    """(data-value attribute, displayed text) of one cell."""
    if value is None:
        return "", "–"
    if column.kind == "number":
        text = str(value) if isinstance(value, int) else f"{value:.2f}"
        return repr(float(value)), text
    return str(value), str(value)


def render_table_html(table: LeaderboardTable) -> str:
    """The `<table>` of a leaderboard, with data attributes the page's sorting script reads.

    Args:
        table: from `build_table`.

    Returns:
        HTML: a header cell per column (`data-key`, `data-type`, `data-first` sort direction) and a
        row per result whose cells carry their raw value in `data-value`; every text is escaped.
    """
    esc = html.escape
    head = []
    for column in table.columns:
        first = "descending" if column.higher_is_better else "ascending"
        sort = ' aria-sort="descending"' if column.key == table.sort_key else ""
        head.append(
            f'<th scope="col" data-key="{esc(column.key)}" data-type="{column.kind}" data-first="{first}"{sort}>'
            f'<button type="button">{esc(column.label)}</button></th>'
        )
    body = []
    for row in table.rows:
        cells = []
        for column in table.columns:
            value, text = _format_cell(column, row.get(column.key))
            badges = ""
            if column.key == "dataset_revision" and "dataset revision differs" in row["flags"]:
                badges = '<span class="badge revision" title="not the most common dataset revision">differs</span>'
            if column.key == "model" and "random weights" in row["flags"]:
                badges = '<span class="badge random">random weights</span>'
            if column.key == "settings" and "subset" in row["flags"]:
                badges = '<span class="badge subset" title="scored on the first items only (--limit)">subset</span>'
            klass = ' class="number"' if column.kind == "number" else ""
            cells.append(f'<td{klass} data-value="{esc(value)}">{esc(text)}{badges}</td>')
        flagged = ' class="flagged"' if "dataset revision differs" in row["flags"] else ""
        body.append(f"<tr{flagged}>{''.join(cells)}</tr>")
    return (
        f'<table class="leaderboard" id="leaderboard-{esc(table.benchmark)}">'
        f"<thead><tr>{''.join(head)}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table>"
    )


def _nav(benchmarks: list[str]) -> str:
    links = ['<a href="index.html">All benchmarks</a>']
    links += [f'<a href="{html.escape(b)}.html">{html.escape(BENCHMARKS[b].title.split(":")[0])}</a>' for b in benchmarks]
    return "".join(links)


def render_page(table: LeaderboardTable, plots: list[tuple[Path, str]], benchmarks: list[str]) -> str:
    """The HTML page of one benchmark: the sortable table, then its plots (linked by file name).

    Args:
        table: from `build_table`.
        plots: from `plot_table`, saved in the page's folder.
        benchmarks: benchmarks with a page, for the navigation bar.

    Returns:
        A self-contained HTML document (no external scripts or styles).
    """
    esc = html.escape
    flagged = sum("dataset revision differs" in row["flags"] for row in table.rows)
    meta = (
        f"{len(table.rows)} result(s). Dataset revision of reference: <code>{esc(str(table.reference_revision))}</code>"
        + (f"; {flagged} row(s) on another revision are highlighted and not directly comparable." if flagged else ".")
        + " Click a column header to sort; scores are percentages except MdR/MnR (ranks, lower is better)."
    )
    figures = "".join(
        f'<figure><img src="{esc(path.name)}" alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>'
        for path, caption in plots
    )
    body = f'<p class="meta">{meta}</p>\n<div class="table-wrap">{render_table_html(table)}</div>\n<div class="plots">{figures}</div>'
    return _fill(TEMPLATE_PATH.read_text(encoding="utf-8"), title=esc(table.title), nav=_nav(benchmarks), body=body)


def render_index(tables: list[LeaderboardTable]) -> str:
    """The site's index: each benchmark with its number of results and its leader.

    Args:
        tables: the tables that have a page.

    Returns:
        A self-contained HTML document.
    """
    esc = html.escape
    items = []
    for table in tables:
        leader = ""
        if table.rows and table.sort_key:
            best = table.rows[0]
            score = best.get(table.sort_key)
            if score is not None:
                leader = f" — leader: {esc(best['model'])} ({esc(table.sort_key.replace('/', ' '))} {score:.2f})"
        items.append(
            f'<li><a href="{esc(table.benchmark)}.html">{esc(table.title)}</a>: {len(table.rows)} result(s){leader}</li>'
        )
    body = "<ul>" + "".join(items) + "</ul>" if items else "<p>No results yet.</p>"
    return _fill(
        TEMPLATE_PATH.read_text(encoding="utf-8"),
        title="vidret leaderboards",
        nav=_nav([t.benchmark for t in tables]),
        body=body,
    )


def build_site(
    results_dir: str | Path, out_dir: str | Path, *, on_invalid: Literal["error", "warn", "skip"] = "error"
) -> list[Path]:
    """Write the static leaderboard site: index.html, one <benchmark>.html per benchmark with results, PNG plots.

    Args:
        results_dir: folder of results files (searched recursively).
        out_dir: folder to write the site to (created if needed).
        on_invalid: see `collect_results`.

    Returns:
        The files written.

    Raises:
        FileNotFoundError: when `results_dir` is not a folder.
        ResultsValidationError: for an invalid results file when `on_invalid="error"`.
    """
    results_list = collect_results(results_dir, on_invalid=on_invalid)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = [build_table(results_list, name) for name in BENCHMARKS]
    tables = [table for table in tables if table.rows]
    names = [table.benchmark for table in tables]
    written: list[Path] = []
    for table in tables:
        plots = plot_table(table, out_dir)
        page = out_dir / f"{table.benchmark}.html"
        page.write_text(render_page(table, plots, names), encoding="utf-8")
        written += [path for path, _ in plots] + [page]
    index = out_dir / "index.html"
    index.write_text(render_index(tables), encoding="utf-8")
    written.append(index)
    return written
