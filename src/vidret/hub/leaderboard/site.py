"""`build_site`: results folder → the static leaderboard site (index, a page per benchmark and protocol, plots)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from vidret.common import atomic_write_text
from vidret.hub.leaderboard.model import collect_results
from vidret.hub.leaderboard.plots import plot_table
from vidret.hub.leaderboard.ranking import build_tables
from vidret.hub.leaderboard.render import render_index, render_page


def build_site(
    results_dir: str | Path, out_dir: str | Path, *, on_invalid: Literal["error", "warn", "skip"] = "warn"
) -> list[Path]:
    """Write the static leaderboard site: index.html, one page per registered benchmark and protocol
    with results (<benchmark>.html, <benchmark>_official.html), PNG plots.

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
    tables = [table for table in build_tables(results_list) if table.rows]
    names = [table.page for table in tables]
    written: list[Path] = []
    for table in tables:
        plots = plot_table(table, out_dir)
        page = out_dir / f"{table.page}.html"
        atomic_write_text(page, render_page(table, plots, names))
        written += [path for path, _ in plots] + [page]
    index = out_dir / "index.html"
    atomic_write_text(index, render_index(tables))
    written.append(index)
    return written
