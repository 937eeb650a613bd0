"""Hub Space: the vidret leaderboards, read from a results dataset repo.

The tables are vidret's own (`vidret.hub.leaderboard.build_tables` and `task_records`, what the static
site renders): a tab per registered benchmark and protocol, named by `LeaderboardTable.label`; one
table per task, headline metric first, each score with the ± half-width of its bootstrap interval,
rank 1 shared by the runs not significantly different from the best, the oracle marked as a
check. This file only fetches the results files and lays the tables out with gradio.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from vidret.benchmarks import VIDRET_PROTOCOL
from vidret.hub.leaderboard import TIE_ALPHA, build_tables, collect_results, plot_table, task_records

RESULTS_REPO = os.environ.get("VIDRET_RESULTS_REPO", "vidret/vidret-results")
RESULTS_REVISION = os.environ.get("VIDRET_RESULTS_REVISION")  # None: main


def fetch_results(repo_id: str = RESULTS_REPO, revision: str | None = RESULTS_REVISION) -> Path:
    """Download the results files of a results dataset repo; returns the local folder."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, allow_patterns=["results/**/*.json"]))


Board = tuple[str, list[dict[str, Any]]]  # (heading, records) of one task


class Tab(NamedTuple):
    """One tab of the Space: a benchmark under one protocol.

    Attributes:
        label: the tab's name, from the registry (`LeaderboardTable.label`, e.g. "LoVR (official)").
        title: the benchmark's title (and protocol).
        boards: one (heading, records) per task.
        plots: PNG files of the table's plots.
    """

    label: str
    title: str
    boards: list[Board]
    plots: list[str]


def load_tables(results_dir: str | Path) -> list[Tab]:
    """One tab per registered benchmark and protocol; an invalid file is skipped with a warning.

    A protocol other than the default one gets a tab only when it has results.
    """
    results = collect_results(results_dir, on_invalid="warn")
    plot_dir = Path(tempfile.mkdtemp(prefix="vidret-plots-"))
    tabs = []
    for table in build_tables(results):  # one table per protocol: never ranked together
        if table.protocol != VIDRET_PROTOCOL and not table.rows:
            continue  # no tab for a protocol nobody submitted to
        plots = [str(path) for path, _ in plot_table(table, plot_dir)]
        boards = [
            (f"{board.task_id}: {board.name} (ranked by {board.headline})", task_records(table, board.task_id))
            for board in table.boards
        ]
        tabs.append(Tab(table.label, table.title, boards, plots))
    return tabs


def build_demo(tabs: list[Tab]):
    """The gradio app: one tab per benchmark and protocol with a table per task, then its plots."""
    import gradio as gr
    import pandas as pd

    with gr.Blocks(title="vidret leaderboard") as demo:
        gr.Markdown(
            "# vidret leaderboard\nOne tab per benchmark and scoring protocol. ± = half the width of the score's 95% "
            "bootstrap interval over the queries; **#** 1 is shared by every run not significantly different from "
            f"the best (paired randomisation test on the headline metric, p ≥ {TIE_ALPHA:g}); *check* rows are the oracle, "
            "a pipeline check, not a model. Flagged rows: see the *Flags* column."
        )
        with gr.Tabs():
            for tab in tabs:
                with gr.Tab(tab.label):
                    gr.Markdown(f"**{tab.title}**")
                    if tab.boards:
                        for heading, records in tab.boards:
                            gr.Markdown(f"### {heading}")
                            gr.Dataframe(pd.DataFrame(records), interactive=False, wrap=True)
                        gr.Gallery(tab.plots, columns=2, height="auto", show_label=False)
                    else:
                        gr.Markdown("No results yet.")
    return demo


if __name__ == "__main__":
    local = os.environ.get("VIDRET_RESULTS_DIR")
    build_demo(load_tables(local or fetch_results())).launch()
