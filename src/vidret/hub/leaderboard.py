"""Leaderboard: results files → one table per benchmark and protocol → a static site (and the Space's table).

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
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vidret.benchmarks import BENCHMARKS, VIDRET_PROTOCOL, get_benchmark
from vidret.evaluation.results.validation import ResultsValidationError, parse_created_at, validate_file

logger = logging.getLogger(__name__)

TEMPLATE_PATH = Path(__file__).with_name("leaderboard_template.html")
MAX_PLOTTED_ROWS = 10  # plots show the best rows only; the table has them all
LOWER_IS_BETTER = ("MdR", "MnR")
TIE_ALPHA = 0.05  # rows whose headline differs from the best's with p >= this are tied with it
CHECK_ADAPTERS = ("oracle",)  # runs that check the pipeline on planted answers: never the leader


@dataclass(frozen=True)
class Column:
    """One column of a leaderboard table.

    Attributes:
        key: key of the value in a row dict.
        label: header text.
        kind: "text" or "number".
        higher_is_better: sort direction of the first click; None for text columns.
    """

    key: str
    label: str
    kind: Literal["text", "number"] = "text"
    higher_is_better: bool | None = None


@dataclass
class TaskEntry:
    """One run's scores on one task, as its row of the task's table.

    Attributes:
        run: index of the run in `LeaderboardTable.rows`.
        metrics: metric → value (None when not reported).
        ci_low: metric → lower end of its interval (absent: no interval).
        ci_high: metric → upper end.
        ci_level: the intervals' confidence level (from the results' `ci`).
        gallery_size: items ranked.
        num_queries: queries scored.
        num_failed: queries whose own item failed.
        position: 1-based place among the ranked (non-check) entries; None for a check.
        tied: True when not significantly different from the best (paired test on the headline),
            False when significantly worse, None when untested (no per-query data, not comparable,
            or the best itself).
        p_value: the paired test's p-value against the best, when tested.
    """

    run: int
    metrics: dict[str, float | None]
    ci_low: dict[str, float] = field(default_factory=dict)
    ci_high: dict[str, float] = field(default_factory=dict)
    ci_level: float | None = None
    gallery_size: int | None = None
    num_queries: int | None = None
    num_failed: int | None = None
    position: int | None = None
    tied: bool | None = None
    p_value: float | None = None

    def rank_label(self) -> str:
        """"1" for the best and for rows tied with it, the position otherwise, "check" for a check."""
        if self.position is None:
            return "check"
        return "1" if self.tied else str(self.position)


@dataclass
class TaskBoard:
    """The table of one task: its runs ranked by the headline metric, checks last.

    Attributes:
        task_id: e.g. "t2v".
        name: e.g. "text-to-video".
        headline: the task's headline metric (first column).
        metrics: the task's metrics, headline first.
        entries: ranked entries, then checks.
    """

    task_id: str
    name: str
    headline: str
    metrics: tuple[str, ...]
    entries: list[TaskEntry] = field(default_factory=list)


@dataclass
class LeaderboardTable:
    """The runs of one benchmark, ready to render.

    Attributes:
        benchmark: benchmark name, e.g. "lovr".
        title: human-readable benchmark title.
        rows: one dict per run: "model" (display name, never a local path), "model_revision", "adapter", "frames",
            "settings", "split", "num_failed", "date", "dataset_revision", "source", "flags" (list of
            strings), "check" (the oracle: a pipeline check, not a model), and "<task>/<metric>"
            values; sorted by `sort_key`, best first, checks last.
        tasks: task id → metric names (headline first), for the tasks present in at least one row.
        boards: one `TaskBoard` per task in `tasks`.
        reference_revision: the most common dataset revision among the rows.
        sort_key: "<first task>/<its headline>", the order of `rows`.
        alpha: significance level of the "tied with the best" test.
        protocol: the protocol every run was scored with ("vidret" or "official").
        page: file name stem of the table's page and plots ("lovr", "lovr_official").
    """

    benchmark: str
    title: str
    rows: list[dict[str, Any]]
    tasks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    boards: list[TaskBoard] = field(default_factory=list)
    reference_revision: str | None = None
    sort_key: str | None = None
    alpha: float = TIE_ALPHA
    protocol: str = VIDRET_PROTOCOL
    page: str = ""

    def __post_init__(self) -> None:
        self.page = self.page or self.benchmark

    def leader(self) -> tuple[dict[str, Any], TaskEntry, TaskBoard] | None:
        """(run row, entry, board) of the best non-check run of the first task, or None."""
        for board in self.boards[:1]:
            for entry in board.entries:
                if entry.position == 1:
                    return self.rows[entry.run], entry, board
        return None


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
    if settings.get("fps") is not None:
        parts.append(f"{settings['fps']:g} fps" + (f" (max {settings['max_frames']})" if settings.get("max_frames") else ""))
    if settings.get("frame_stride") is not None:
        parts.append(f"every {settings['frame_stride']} frames" + (f" (max {settings['max_frames']})" if settings.get("max_frames") else ""))
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


def display_model(model: dict[str, Any]) -> str:
    """The name a table shows for a model: its Hub id, or the last part of a local path.

    A local folder is recognised by its `fingerprint` (set only for local model folders) or by
    looking like a path (absolute, `~`, `.`, a drive letter, `file://`, more than one `/`); its
    full path never reaches a page.

    Args:
        model: the `model` object of a results record.

    Returns:
        e.g. "openai/clip-vit-base-patch32", "oracle", or "tiny-clip" for "/home/me/models/tiny-clip".
    """
    model_id = str(model.get("id", ""))
    path_like = (
        model_id.startswith(("/", "~", ".", "file://"))
        or "\\" in model_id
        or re.match(r"^[A-Za-z]:", model_id) is not None
        or model_id.count("/") > 1
    )
    if model.get("fingerprint") or path_like:
        return re.split(r"[/\\]", model_id.rstrip("/\\"))[-1] or model_id
    return model_id


def _is_check(results: dict[str, Any]) -> bool:
    return results["model"].get("adapter") in CHECK_ADAPTERS


def _entry(results: dict[str, Any], task_id: str, metrics: tuple[str, ...], run: int) -> TaskEntry | None:
    task = results["tasks"].get(task_id)
    if not isinstance(task, dict):
        return None
    scored = task.get("metrics", {})
    return TaskEntry(
        run=run,
        metrics={metric: scored.get(metric) for metric in metrics},
        ci_low=dict(task.get("ci_low") or {}),
        ci_high=dict(task.get("ci_high") or {}),
        ci_level=(task.get("ci") or {}).get("level"),
        gallery_size=task.get("gallery_size"),
        num_queries=task.get("num_queries"),
        num_failed=task.get("num_failed"),
    )


def _order_key(value: float | None, higher_is_better: bool, name: str) -> tuple:
    # Missing scores last; ties in score broken by the model's name so the order is stable.
    if value is None:
        return (1, 0.0, name)
    return (0, -value if higher_is_better else value, name)


def _rank_board(board: TaskBoard, kept: list[dict[str, Any]], rows: list[dict[str, Any]], alpha: float) -> None:
    """Order a board's entries, number the ranked ones, and test each against the best."""
    from vidret.evaluation.results.confidence import comparability_problems, compare_task, has_per_query

    higher = board.headline not in LOWER_IS_BETTER
    ranked = sorted(
        (e for e in board.entries if not rows[e.run]["check"]),
        key=lambda e: _order_key(e.metrics.get(board.headline), higher, rows[e.run]["model"]),
    )
    checks = sorted((e for e in board.entries if rows[e.run]["check"]), key=lambda e: rows[e.run]["model"])
    for position, entry in enumerate(ranked, start=1):
        entry.position = position
    board.entries = ranked + checks
    if not ranked or ranked[0].metrics.get(board.headline) is None:
        return
    best = ranked[0]
    best_task = kept[best.run]["tasks"][board.task_id]
    if not has_per_query(best_task):
        return
    for entry in ranked[1:]:
        task = kept[entry.run]["tasks"][board.task_id]
        if entry.metrics.get(board.headline) is None or not has_per_query(task):
            continue
        if comparability_problems(kept[best.run], kept[entry.run]):
            continue  # other split, protocol or dataset revision: not the same test
        compared = compare_task(best_task, task, board.task_id, metrics=[board.headline], interval=False)
        result = compared.metrics.get(board.headline)
        if result is not None:
            entry.p_value = result.p_value
            entry.tied = result.p_value >= alpha


def build_table(
    results_list: list[dict[str, Any]], benchmark: str, protocol: str | None = None, *, alpha: float = TIE_ALPHA
) -> LeaderboardTable:
    """The leaderboard table of one benchmark under one protocol: one board per task, and the runs behind them.

    Results of other benchmarks, and of another protocol (`settings.protocol`; absent = "vidret"),
    are ignored: scores of different protocols are never ranked together. When the same model, revision, split, dataset revision
    and settings (all but batch size, workers and strictness) appear more than once, only the most
    recent run (by `created_at`) is kept. A run on a subset (`settings.limit`), a random-weight
    model and a dataset revision other than the most common one are flagged. The oracle is a check
    (it reads answers planted in the sample data): listed after the ranked runs, never the leader.

    Each task's board ranks runs by the task's headline metric. The best run and every run whose
    headline is not significantly different from it (paired randomisation test on the queries both
    scored, p >= `alpha`; only for runs with per-query data on the same split, protocol and dataset
    revision) are tied at the top.

    Args:
        results_list: valid results (see `collect_results`).
        benchmark: benchmark name (any spelling `vidret.benchmarks.get_benchmark` accepts).
        protocol: "vidret" (None) or "official".
        alpha: significance level of the tie test.

    Returns:
        The table.

    Raises:
        ValueError: for an unknown benchmark or protocol.
    """
    spec = get_benchmark(benchmark)
    scored_with = spec.protocol(protocol)
    latest: dict[tuple, dict[str, Any]] = {}
    for results in results_list:
        if results.get("benchmark") != spec.benchmark:
            continue
        if results["settings"].get("protocol", VIDRET_PROTOCOL) != scored_with.name:
            continue
        key = _identity(results)
        if key not in latest or parse_created_at(results["created_at"]) > parse_created_at(latest[key]["created_at"]):
            latest[key] = results
    kept = list(latest.values())

    tasks = {}
    for task_id, task in scored_with.tasks.items():  # each protocol declares its own metrics
        if any(task_id in results["tasks"] for results in kept):
            tasks[task_id] = (task.main_score, *(m for m in task.metrics if m != task.main_score))
    revisions = Counter(results["dataset"].get("revision") for results in kept)
    # Most common first; ties broken by the revision's text so the choice is stable.
    reference = min(revisions, key=lambda rev: (-revisions[rev], str(rev))) if revisions else None

    rows = []
    for results in kept:
        model = results["model"]
        row: dict[str, Any] = {
            "model": display_model(model),
            "model_revision": model.get("revision"),
            "adapter": model["adapter"],
            "frames": results["settings"]["frames"],
            "settings": _settings_text(results),
            "split": results["split"],
            "num_failed": results["num_failed"],
            "date": results["created_at"][:10],
            "dataset_revision": results["dataset"].get("revision"),
            "source": results.get("_source"),
            "check": _is_check(results),
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
        sort_key = f"{first}/{scored_with.tasks[first].main_score}"
        order = sorted(
            range(len(rows)),
            key=lambda i: (rows[i]["check"], *_order_key(rows[i][sort_key], sort_key.split("/")[1] not in LOWER_IS_BETTER, rows[i]["model"])),
        )
        rows, kept = [rows[i] for i in order], [kept[i] for i in order]

    boards = []
    for task_id, metrics in tasks.items():
        board = TaskBoard(task_id, scored_with.tasks[task_id].name, metrics[0], metrics)
        board.entries = [e for run, results in enumerate(kept) if (e := _entry(results, task_id, metrics, run))]
        _rank_board(board, kept, rows, alpha)
        boards.append(board)
    title = spec.title if not scored_with.hub_suffix else f"{spec.title} ({scored_with.name} protocol)"
    page = spec.benchmark + scored_with.hub_suffix
    return LeaderboardTable(
        spec.benchmark, title, rows, tasks, boards, reference, sort_key, alpha, scored_with.name, page
    )


def _interval_text(entry: TaskEntry, metric: str) -> str:
    """"± h" with h half the interval's width ("" without an interval)."""
    if metric not in entry.ci_low or metric not in entry.ci_high:
        return ""
    return f"± {(entry.ci_high[metric] - entry.ci_low[metric]) / 2:.2f}"


def task_records(table: LeaderboardTable, task_id: str) -> list[dict[str, Any]]:
    """One task's board as records keyed by column label (for pandas / the Space).

    Scores are text: the value and "± half-width" of its interval when there is one, padded to a
    common width per column so that sorting the text sorts the numbers.

    Args:
        table: from `build_table`.
        task_id: one of `table.tasks`.

    Returns:
        One dict per entry, in the board's order: "#" (1 for the best and rows tied with it,
        "check" for the oracle), "Model", the metrics (headline first), "Gallery", "Queries",
        "Failed", "Flags" ("; "-joined, with "tied with the best (p = ...)").

    Raises:
        KeyError: for a task the table has no board for.
    """
    board = next((b for b in table.boards if b.task_id == task_id), None)
    if board is None:
        raise KeyError(f"no board for task {task_id!r}; tasks: {list(table.tasks)}")
    records = []
    for entry in board.entries:
        row = table.rows[entry.run]
        flags = list(row["flags"])
        if row["check"]:
            flags.insert(0, "check: the oracle reads planted answers, not a model")
        if entry.tied:
            flags.insert(0, f"tied with the best (p = {entry.p_value:.2f})")
        record: dict[str, Any] = {"#": entry.rank_label(), "Model": row["model"]}
        for metric in board.metrics:
            value = entry.metrics.get(metric)
            record[metric] = "–" if value is None else f"{value:.2f} {_interval_text(entry, metric)}".rstrip()
        record.update(
            {"Gallery": entry.gallery_size, "Queries": entry.num_queries, "Failed": entry.num_failed, "Flags": "; ".join(flags)}
        )
        records.append(record)
    for metric in board.metrics:
        # Right-align the numbers: text sorting of equal-width numbers is numeric sorting.
        width = max(len(r[metric].split(" ", 1)[0]) for r in records) if records else 0
        for r in records:
            number, _, rest = r[metric].partition(" ")
            r[metric] = f"{number.rjust(width)} {rest}".rstrip() if number != "–" else number
    return records


def _row_label(row: dict[str, Any]) -> str:
    """A plot legend's label; "$" escaped, or matplotlib would parse "a$^$b" as (broken) math and
    fail the whole site."""
    revision = f"@{str(row['model_revision'])[:7]}" if row["model_revision"] else ""
    frames = f" ({row['frames']}f)" if row["frames"] is not None else ""
    return f"{row['model'].rsplit('/', 1)[-1]}{revision}{frames}".replace("$", r"\$")


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
            name, caption = f"{table.page}_{task_id}_map.png", f"{task_id}: mAP@K ({shown})"
        else:
            recall_metrics = [m for m in metrics if m.startswith("R@")]
            ks = [int(m.split("@")[1]) for m in recall_metrics]
            for row in rows:
                ax.plot(ks, [row.get(f"{task_id}/{m}") for m in recall_metrics], marker="o", label=_row_label(row))
            ax.set_xscale("log")
            ax.set_xticks(ks, [str(k) for k in ks])
            ax.set_xlabel("K")
            ax.set_ylabel("Recall@K (%)")
            name, caption = f"{table.page}_{task_id}_recall.png", f"{task_id}: Recall@K ({shown})"
        # A little room so scores of 0 and 100 stay visible (official TF-CoVR scores may pass 100).
        top = max([100.0] + [v for row in rows for m in metrics if isinstance(v := row.get(f"{task_id}/{m}"), (int, float))])
        ax.set_ylim(-2, top * 1.04)
        ax.set_title(f"{table.page} {task_id}")
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


def _number_text(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:.2f}"


def _th(key: str, label: str, kind: str, higher_is_better: bool | None, *, sorted_by: bool = False, klass: str = "", title: str = "") -> str:
    esc = html.escape
    first = "descending" if higher_is_better else "ascending"
    attrs = f' class="{klass}"' if klass else ""
    attrs += f' title="{esc(title)}"' if title else ""
    attrs += ' aria-sort="descending"' if sorted_by else ""
    return (
        f'<th scope="col" data-key="{esc(key)}" data-type="{kind}" data-first="{first}"{attrs}>'
        f'<button type="button">{esc(label)}</button></th>'
    )


def _td(value: Any, content: str, *, number: bool = False, title: str = "", klass: str = "") -> str:
    """A cell: `value` goes to data-value (what sorting reads), `content` is already escaped HTML."""
    raw = "" if value is None else (repr(float(value)) if number else str(value))
    klass = f' class="{klass or "number"}"' if number or klass else ""
    tip = f' title="{html.escape(title)}"' if title else ""
    return f'<td{klass} data-value="{html.escape(raw)}"{tip}>{content}</td>'


def _run_details(row: dict[str, Any]) -> str:
    parts = []
    if row["model_revision"]:
        parts.append(f"@{str(row['model_revision'])[:7]}")
    parts.append(str(row["adapter"]))
    if row["frames"] is not None:  # null: embeddings read from released files that do not say
        parts.append(f"{row['frames']} frames")
    if row["settings"]:
        parts.append(row["settings"])
    if row["split"] != "test":
        parts.append(f"split {row['split']}")
    return " · ".join(parts)


def _model_cell(row: dict[str, Any]) -> str:
    esc = html.escape
    badges = ""
    if row["check"]:
        badges += '<span class="badge check" title="the oracle reads answers planted in the sample data: it checks the pipeline (must score 100) and is not a model">check</span>'
    if "random weights" in row["flags"]:
        badges += '<span class="badge random">random weights</span>'
    if "subset" in row["flags"]:
        badges += '<span class="badge subset" title="scored on the first items only (--limit)">subset</span>'
    if "dataset revision differs" in row["flags"]:
        badges += (
            f'<span class="badge revision" title="dataset revision {esc(str(row["dataset_revision"]))}, '
            'not the most common one: not directly comparable">other data</span>'
        )
    content = f'<span class="model-name">{esc(row["model"])}</span>{badges}<div class="run">{esc(_run_details(row))}</div>'
    return _td(row["model"], content, klass="model")


def _score_cell(entry: TaskEntry, metric: str) -> str:
    value = entry.metrics.get(metric)
    if value is None:
        return _td(None, "–", number=True)
    ci = _interval_text(entry, metric)
    if ci:
        level = f"{100 * entry.ci_level:g}% " if entry.ci_level else ""
        title = f"{level}interval {entry.ci_low[metric]:.2f} to {entry.ci_high[metric]:.2f}"
        content = f'{_number_text(value)}<span class="ci">{html.escape(ci)}</span>'
    else:
        title, content = "no interval: these results carry no per-query data", _number_text(value)
    return _td(value, content, number=True, title=title)


def _queries_text(entry: TaskEntry) -> str:
    if entry.num_queries is None:
        return "–"
    failed = f'<span class="ci">{entry.num_failed} failed</span>' if entry.num_failed else ""
    return f"{entry.num_queries}{failed}"


def _rank_cell(entry: TaskEntry, headline: str) -> str:
    label = html.escape(entry.rank_label())
    if entry.tied:
        label += (
            f'<span class="badge tied" title="not significantly different from the best on {html.escape(headline)} '
            f'(paired randomisation test, p = {entry.p_value:.2f})">tied</span>'
        )
    return _td(entry.position, label, number=True)


def render_board_html(table: LeaderboardTable, board: TaskBoard) -> str:
    """The `<table>` of one task, with data attributes the page's sorting script reads.

    Args:
        table: from `build_table`.
        board: one of `table.boards`.

    Returns:
        HTML: a header per column (`data-key`, `data-type`, `data-first` sort direction): "#", model,
        the metrics (headline first, marked), gallery size, queries (and how many failed); a row per entry
        whose cells carry their raw value in `data-value`; every text is escaped.
    """
    esc = html.escape
    head = [
        _th("rank", "#", "number", False, title="1 = the best and every run not significantly different from it"),
        _th("model", "Model", "text", None),
    ]
    for metric in board.metrics:
        headline = metric == board.headline
        head.append(
            _th(
                f"{board.task_id}/{metric}",
                metric,
                "number",
                metric not in LOWER_IS_BETTER,
                sorted_by=headline,
                klass="headline" if headline else "",
                title="headline metric; ± = half the width of the score's interval" if headline else "",
            )
        )
    head += [
        _th("gallery_size", "Gallery", "number", True, title="items ranked per query"),
        _th("num_queries", "Queries", "number", True, title="queries scored; failed = their own video or text failed (counted as misses)"),
    ]
    body = []
    for entry in board.entries:
        row = table.rows[entry.run]
        cells = [_rank_cell(entry, board.headline), _model_cell(row)]
        cells += [_score_cell(entry, metric) for metric in board.metrics]
        cells += [
            _td(entry.gallery_size, "–" if entry.gallery_size is None else str(entry.gallery_size), number=True),
            _td(entry.num_queries, _queries_text(entry), number=True),
        ]
        classes = [name for name, on in (("check", row["check"]), ("tied", entry.tied), ("flagged", "dataset revision differs" in row["flags"])) if on]
        klass = f' class="{" ".join(classes)}"' if classes else ""
        body.append(f"<tr{klass}>{''.join(cells)}</tr>")
    return (
        f'<table class="leaderboard" id="leaderboard-{esc(table.page)}-{esc(board.task_id)}" data-task="{esc(board.task_id)}">'
        f"<thead><tr>{''.join(head)}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table>"
    )


RUN_COLUMNS = (
    Column("model", "Model"),
    Column("model_revision", "Revision"),
    Column("adapter", "Adapter"),
    Column("frames", "Frames", "number", True),
    Column("settings", "Settings"),
    Column("split", "Split"),
    Column("dataset_revision", "Dataset revision"),
    Column("num_failed", "Failed items", "number", False),
    Column("date", "Date"),
)


def render_runs_html(table: LeaderboardTable) -> str:
    """The table of runs behind the boards: model, revision, adapter, frames, settings, data, date."""
    esc = html.escape
    head = "".join(_th(c.key, c.label, c.kind, c.higher_is_better) for c in RUN_COLUMNS)
    body = []
    for row in table.rows:
        cells = []
        for column in RUN_COLUMNS:
            value = row.get(column.key)
            text = "–" if value is None else (_number_text(value) if column.kind == "number" else str(value))
            cells.append(_td(value, esc(text), number=column.kind == "number"))
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="leaderboard runs" id="runs-{esc(table.page)}"><thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody></table>"
    )


def _page_label(page: str) -> str:
    """Navigation label of a page: the benchmark's short title, plus the protocol when not ours."""
    for spec in BENCHMARKS.values():
        for protocol in spec.protocols.values():
            if page == spec.benchmark + protocol.hub_suffix:
                short = spec.title.split(":")[0]
                return short if not protocol.hub_suffix else f"{short} ({protocol.name})"
    return page


def _nav(pages: list[str]) -> str:
    links = ['<a href="index.html">All benchmarks</a>']
    links += [f'<a href="{html.escape(p)}.html">{html.escape(_page_label(p))}</a>' for p in pages]
    return "".join(links)


def _board_section(table: LeaderboardTable, board: TaskBoard) -> str:
    esc = html.escape
    galleries = sorted({e.gallery_size for e in board.entries if e.gallery_size is not None})
    gallery = f"gallery of {galleries[0]} items" if len(galleries) == 1 else "gallery sizes differ between runs (see the Gallery column)"
    untested = sum(1 for e in board.entries if e.position not in (None, 1) and e.tied is None)
    meta = f"Ranked by {esc(board.headline)}; {esc(gallery)}."
    if untested:
        meta += f" {untested} run(s) could not be tested against the best (no per-query data, or other data)."
    return (
        f'<section class="task" id="task-{esc(board.task_id)}"><h2>{esc(board.task_id)}: {esc(board.name)}</h2>'
        f'<p class="meta">{meta}</p>\n<div class="table-wrap">{render_board_html(table, board)}</div></section>'
    )


def render_page(table: LeaderboardTable, plots: list[tuple[Path, str]], benchmarks: list[str]) -> str:
    """The HTML page of one benchmark: a sortable table per task, the runs, then the plots.

    Args:
        table: from `build_table`.
        plots: from `plot_table`, saved in the page's folder.
        benchmarks: the pages (`LeaderboardTable.page`) there are, for the navigation bar.

    Returns:
        A self-contained HTML document (no external scripts or styles).
    """
    esc = html.escape
    flagged = sum("dataset revision differs" in row["flags"] for row in table.rows)
    meta = (
        f"{len(table.rows)} result(s). Dataset revision of reference: <code>{esc(str(table.reference_revision))}</code>"
        + (f"; {flagged} row(s) on another revision are highlighted and not directly comparable." if flagged else ".")
        + " Scores are percentages except MdR/MnR (ranks, lower is better); ± is half the width of the score's"
        " bootstrap interval over the queries (hover a score for the interval). Rank 1 with <em>tied</em> marks a"
        f" run not significantly different from the best (paired test, p &ge; {table.alpha:g}). Click a header to sort."
    )
    sections = "\n".join(_board_section(table, board) for board in table.boards)
    runs = f'<section class="runs"><h2>Runs</h2>\n<div class="table-wrap">{render_runs_html(table)}</div></section>'
    figures = "".join(
        f'<figure><img src="{esc(path.name)}" alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>'
        for path, caption in plots
    )
    body = f'<p class="meta">{meta}</p>\n{sections}\n{runs}\n<div class="plots">{figures}</div>'
    return _fill(TEMPLATE_PATH.read_text(encoding="utf-8"), title=esc(table.title), nav=_nav(benchmarks), body=body)


def render_index(tables: list[LeaderboardTable]) -> str:
    """The site's index: each benchmark with its number of results and its leader (never a check).

    Args:
        tables: the tables that have a page.

    Returns:
        A self-contained HTML document.
    """
    esc = html.escape
    items = []
    for table in tables:
        leader = ""
        found = table.leader()
        if found is not None:
            row, entry, board = found
            score = entry.metrics.get(board.headline)
            if score is not None:
                ci = _interval_text(entry, board.headline)
                tied = sum(1 for e in board.entries if e.tied)
                leader = f" — leader: {esc(row['model'])} ({esc(board.task_id)} {esc(board.headline)} {score:.2f}{' ' + esc(ci) if ci else ''})"
                if tied:
                    leader += f", tied with {tied} other run(s)"
        items.append(
            f'<li><a href="{esc(table.page)}.html">{esc(table.title)}</a>: {len(table.rows)} result(s){leader}</li>'
        )
    body = "<ul>" + "".join(items) + "</ul>" if items else "<p>No results yet.</p>"
    return _fill(
        TEMPLATE_PATH.read_text(encoding="utf-8"),
        title="vidret leaderboards",
        nav=_nav([t.page for t in tables]),
        body=body,
    )


def build_site(
    results_dir: str | Path, out_dir: str | Path, *, on_invalid: Literal["error", "warn", "skip"] = "error"
) -> list[Path]:
    """Write the static leaderboard site: index.html, one page per benchmark and protocol with results
    (<benchmark>.html, <benchmark>_official.html), PNG plots.

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
    tables = [build_table(results_list, name, protocol) for name in BENCHMARKS for protocol in BENCHMARKS[name].protocols]
    tables = [table for table in tables if table.rows]
    names = [table.page for table in tables]
    written: list[Path] = []
    for table in tables:
        plots = plot_table(table, out_dir)
        page = out_dir / f"{table.page}.html"
        page.write_text(render_page(table, plots, names), encoding="utf-8")
        written += [path for path, _ in plots] + [page]
    index = out_dir / "index.html"
    index.write_text(render_index(tables), encoding="utf-8")
    written.append(index)
    return written
