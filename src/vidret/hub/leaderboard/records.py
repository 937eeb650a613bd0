"""A board as plain records of text (for pandas and the Hub Space's tables)."""

from __future__ import annotations

from typing import Any

from vidret.hub.leaderboard.model import LeaderboardTable


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
        "Failed", "Flags" ("; "-joined: "tied with the best (p = ...)", then each flag's `note`).

    Raises:
        KeyError: for a task the table has no board for.
    """
    board = next((b for b in table.boards if b.task_id == task_id), None)
    if board is None:
        raise KeyError(f"no board for task {task_id!r}; tasks: {list(table.tasks)}")
    records = []
    for entry in board.entries:
        row = table.rows[entry.run]
        flags = [flag.note for flag in row["flags"]]
        if entry.tied:
            flags.insert(0, f"tied with the best (p = {entry.p_value:.2f})")
        record: dict[str, Any] = {"#": entry.rank_label(), "Model": row["model"]}
        for metric in board.metrics:
            value = entry.metrics.get(metric)
            record[metric] = "–" if value is None else f"{value:.2f} {entry.interval_text(metric)}".rstrip()
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
