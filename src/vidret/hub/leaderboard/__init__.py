"""Leaderboard: results files → one table per benchmark and protocol → a static site (and the Space's tables).

- `model`: the data (runs as rows, a board per task, `RowFlag`) and the one reader of results files;
- `ranking`: `build_table` / `build_tables`: order, positions, and ties with the best (paired test);
- `labels`: titles, short labels and page names, from the benchmark registry;
- `plots`: matplotlib figures; `render`: HTML from the jinja2 templates beside these modules;
- `records`: a board as text records (the Space); `site`: `build_site`, behind `vidret leaderboard`.

A row whose dataset revision differs from the most common one among the rows is flagged: its
scores were computed on different data and are not directly comparable. So are a random-weight
model and a run on a subset (`--limit`); the oracle is a check, never ranked.
"""

from __future__ import annotations

from vidret.hub.leaderboard import labels
from vidret.hub.leaderboard.model import (
    CHECK_ADAPTERS,
    TIE_ALPHA,
    LeaderboardTable,
    RowFlag,
    TaskBoard,
    TaskEntry,
    collect_results,
    display_model,
)
from vidret.hub.leaderboard.plots import MAX_PLOTTED_ROWS, plot_table
from vidret.hub.leaderboard.ranking import build_table, build_tables
from vidret.hub.leaderboard.records import task_records
from vidret.hub.leaderboard.render import (
    RUN_COLUMNS,
    Column,
    render_board_html,
    render_index,
    render_page,
    render_runs_html,
)
from vidret.hub.leaderboard.site import build_site

__all__ = [
    "CHECK_ADAPTERS",
    "MAX_PLOTTED_ROWS",
    "RUN_COLUMNS",
    "TIE_ALPHA",
    "Column",
    "LeaderboardTable",
    "RowFlag",
    "TaskBoard",
    "TaskEntry",
    "build_site",
    "build_table",
    "build_tables",
    "collect_results",
    "display_model",
    "labels",
    "plot_table",
    "render_board_html",
    "render_index",
    "render_page",
    "render_runs_html",
    "task_records",
]
