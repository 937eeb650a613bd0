"""HTML of the leaderboard site, from the jinja2 templates shipped beside this module.

Every text reaches the page through the environment's autoescape: nothing here escapes by hand or
builds markup in Python. What autoescape cannot judge, a link's target, goes through the `link`
filter: page and plot names must be plain file names (no scheme, no separator).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from vidret.hub.leaderboard import labels
from vidret.hub.leaderboard.model import LeaderboardTable, RowFlag, TaskBoard, TaskEntry
from vidret.scoring.metrics import metric_spec

INDEX_TOP_ROWS = 3  # rows the index shows per benchmark (more when more are tied at rank 1)


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


RUN_COLUMNS = (
    Column("model", "Model"),
    Column("model_revision", "Revision"),
    Column("adapter", "Adapter"),
    Column("frames", "Frames", "number", True),
    Column("settings", "Settings"),
    Column("embeddings", "Embeddings"),
    Column("split", "Split"),
    Column("dataset_revision", "Dataset revision"),
    Column("num_failed", "Failed items", "number", False),
    Column("date", "Date"),
)


def _link(name: str) -> str:
    """`name` when it is safe as a relative link to a file of the site (autoescape does not make
    "javascript:..." harmless)."""
    if not labels.is_safe_name(name):
        raise ValueError(f"{name!r} cannot be linked from a leaderboard page: not a plain file name")
    return str(name)


def _number_text(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:.2f}"


def _sort_value(value: Any, number: bool = False) -> str:
    """What a cell's data-value holds (what the sorting script reads): "" for no value."""
    if value is None:
        return ""
    return repr(float(value)) if number else str(value)


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
    if row.get("embeddings") and not _embedded_by_the_model(row):
        parts.append(f"embeddings: {row['embeddings']}")
    return " · ".join(parts)


def _embedded_by_the_model(row: dict[str, Any]) -> bool:
    """Every side embedded by the run's model (one source, a model: "videos, texts: model x"): the
    row's name says it already. Stored embeddings (an export, released files) are always named."""
    source = str(row.get("embeddings") or "").partition(": ")[2]
    return ";" not in source and source.startswith("model ")


def _interval_title(entry: TaskEntry, metric: str) -> str:
    level = f"{100 * entry.ci_level:g}% " if entry.ci_level else ""
    return f"{level}interval {entry.ci_low[metric]:.2f} to {entry.ci_high[metric]:.2f}"


def _row_classes(row: dict[str, Any], entry: TaskEntry) -> list[str]:
    marked = (("check", RowFlag.CHECK in row["flags"]), ("tied", entry.tied), ("flagged", RowFlag.OTHER_REVISION in row["flags"]))
    return [name for name, on in marked if on]


def _read_template(name: str) -> str | None:
    resource = files(__package__).joinpath(name)
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


@functools.lru_cache(maxsize=1)
def environment():
    """The jinja2 environment of the site's templates (autoescape on, undefined names are errors)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_read_template),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(link=_link, number_text=_number_text, sort_value=_sort_value, run_details=_run_details)
    env.globals.update(
        RowFlag=RowFlag,
        page_label=labels.page_label,
        higher_is_better=lambda metric: metric_spec(metric).higher_is_better,
        interval_title=_interval_title,
        row_classes=_row_classes,
    )
    return env


def _macros():
    return environment().get_template("tables.html.jinja").module


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
    return str(_macros().board_table(table, board))


def render_runs_html(table: LeaderboardTable) -> str:
    """The table of runs behind the boards: model, revision, adapter, frames, settings, data, date."""
    return str(_macros().runs_table(table, RUN_COLUMNS))


def _rank_metrics(table: LeaderboardTable) -> list[str]:
    """The table's metrics that are ranks, not percentages (named in the page's note)."""
    names = dict.fromkeys(metric for metrics in table.tasks.values() for metric in metrics)
    return [name for name in names if not metric_spec(name).percentage]


def render_page(table: LeaderboardTable, plots: list[tuple[Path, str]], benchmarks: list[str]) -> str:
    """The HTML page of one benchmark: a sortable table per task, the runs, then the plots.

    Args:
        table: from `build_table`.
        plots: from `plot_table`, saved in the page's folder.
        benchmarks: the pages (`LeaderboardTable.page`) there are, for the navigation bar.

    Returns:
        A self-contained HTML document (no external scripts or styles).

    Raises:
        ValueError: a page or plot name that is not a plain file name.
    """
    return environment().get_template("page.html.jinja").render(
        title=table.title,
        pages=benchmarks,
        table=table,
        plots=plots,
        run_columns=RUN_COLUMNS,
        rank_metrics=_rank_metrics(table),
    )


def render_index(tables: list[LeaderboardTable], *, top_rows: int = INDEX_TOP_ROWS) -> str:
    """The site's index: per table, a link to its page, its number of results, and the top rows of
    its first task (rank with the tie badge, model with its badges, headline score with its
    interval). Checks (the oracle) are never among the top rows.

    Args:
        tables: the tables that have a page.
        top_rows: ranked rows shown per table (rows tied at rank 1 are all shown).

    Returns:
        A self-contained HTML document.
    """
    items = []
    for table in tables:
        board = table.boards[0] if table.boards else None
        items.append((table, board, board.top(top_rows) if board else []))
    return environment().get_template("index.html.jinja").render(
        title="vidret leaderboards", pages=[t.page for t in tables], items=items
    )
