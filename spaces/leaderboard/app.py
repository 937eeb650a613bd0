"""Hub Space: the vidret leaderboards, read from a results dataset repo.

The table is vidret's own (`vidret.hub.leaderboard.build_table`, the one the static site renders);
this file only fetches the results files and lays the tables out with gradio.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from vidret.benchmarks import BENCHMARKS
from vidret.hub.leaderboard import build_table, collect_results, plot_table, table_records

RESULTS_REPO = os.environ.get("VIDRET_RESULTS_REPO", "vidret/vidret-results")
RESULTS_REVISION = os.environ.get("VIDRET_RESULTS_REVISION")  # None: main


def fetch_results(repo_id: str = RESULTS_REPO, revision: str | None = RESULTS_REVISION) -> Path:
    """Download the results files of a results dataset repo; returns the local folder."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, allow_patterns=["results/**/*.json"]))


def load_tables(results_dir: str | Path) -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    """(title, table records, plot files) per benchmark; an invalid file is skipped with a warning."""
    results = collect_results(results_dir, on_invalid="warn")
    plot_dir = Path(tempfile.mkdtemp(prefix="vidret-plots-"))
    tables = []
    for benchmark in BENCHMARKS:
        table = build_table(results, benchmark)
        plots = [str(path) for path, _ in plot_table(table, plot_dir)]
        tables.append((table.title, table_records(table), plots))
    return tables


def build_demo(tables: list[tuple[str, list[dict[str, Any]], list[str]]]):
    """The gradio app: one tab per benchmark with its (sortable) table and plots."""
    import gradio as gr
    import pandas as pd

    with gr.Blocks(title="vidret leaderboard") as demo:
        gr.Markdown("# vidret leaderboard\nLoVR (Recall@K) and TF-CoVR (mAP@K). Flagged rows: see the *Flags* column.")
        with gr.Tabs():
            for title, records, plots in tables:
                with gr.Tab(title.split(":")[0]):
                    gr.Markdown(f"**{title}** — {len(records)} result(s)")
                    if records:
                        gr.Dataframe(pd.DataFrame(records), interactive=False, wrap=False)
                        gr.Gallery(plots, columns=2, height="auto", show_label=False)
                    else:
                        gr.Markdown("No results yet.")
    return demo


if __name__ == "__main__":
    local = os.environ.get("VIDRET_RESULTS_DIR")
    build_demo(load_tables(local or fetch_results())).launch()
