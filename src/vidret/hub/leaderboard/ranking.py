"""Ranking: results → one `LeaderboardTable` per benchmark and protocol, each task's board ordered by
its headline metric, and the runs tied with the best found by a paired test.

`build_table` is the one place that turns results into rows and boards; the static site
(`vidret leaderboard`) and the Hub Space (`spaces/leaderboard/app.py`) both render its output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from vidret.benchmarks import get_benchmark
from vidret.evaluation.results.model import ResultsRecord, as_record
from vidret.hub.leaderboard import labels
from vidret.hub.leaderboard.model import (
    TIE_ALPHA,
    LeaderboardTable,
    TaskBoard,
    is_check,
    run_identity,
    run_row,
    task_entry,
)
from vidret.scoring.metrics import metric_spec


def _order_key(value: float | None, higher_is_better: bool, name: str) -> tuple:
    # Missing scores last; ties in score broken by the model's name so the order is stable.
    if value is None:
        return (1, 0.0, name)
    return (0, -value if higher_is_better else value, name)


def _rank_board(
    board: TaskBoard, rows: list[dict[str, Any]], record_of: Callable[[int], Any], task: Any, alpha: float
) -> None:
    """Order a board's entries, number the ranked ones, and test each against the best.

    `record_of(run)` is the typed record of a run (for the paired test); `task` is the task's
    declaration: its kernel says how the per-query data is stored, its cluster what the queries
    cluster on (the test then swaps whole clusters, e.g. a LoVR video's clips together).
    """
    from vidret.evaluation.results.confidence import ComparisonError, comparability_problems, compare_task, has_per_query

    higher = metric_spec(board.headline).higher_is_better
    ranked = sorted(
        (e for e in board.entries if not is_check(rows[e.run])),
        key=lambda e: _order_key(e.metrics.get(board.headline), higher, rows[e.run]["model"]),
    )
    checks = sorted((e for e in board.entries if is_check(rows[e.run])), key=lambda e: rows[e.run]["model"])
    for position, entry in enumerate(ranked, start=1):
        entry.position = position
    board.entries = ranked + checks
    if not ranked or ranked[0].metrics.get(board.headline) is None:
        return
    best = record_of(ranked[0].run)
    best_task = best.tasks[board.task_id]
    if not has_per_query(best_task):
        return
    for entry in ranked[1:]:
        if entry.metrics.get(board.headline) is None:
            continue
        other = record_of(entry.run)
        other_task = other.tasks[board.task_id]
        if not has_per_query(other_task):
            continue
        if comparability_problems(best, other):
            continue  # other split, protocol or dataset revision: not the same test
        try:
            compared = compare_task(
                best_task, other_task, task.kernel, metrics=[board.headline], interval=False, cluster_key=task.cluster
            )
        except ComparisonError:
            continue  # the runs put a query in different clusters: no test of the same queries (no tie claimed)
        result = compared.metrics.get(board.headline)
        if result is not None:
            entry.p_value = result.p_value
            entry.tied = result.p_value >= alpha


Results = ResultsRecord | Mapping[str, Any]  # a record, or a results JSON object (parsed on the way in)


def build_table(
    results_list: Iterable[Results], benchmark: str, protocol: str | None = None, *, alpha: float = TIE_ALPHA
) -> LeaderboardTable:
    """The leaderboard table of one benchmark under one protocol: one board per task, and the runs behind them.

    Results of other benchmarks, and of another protocol (`settings.protocol`; absent or null = "vidret"),
    are ignored: scores of different protocols are never ranked together. When the same model,
    revision, split, dataset revision and settings (all but batch size, workers and strictness)
    appear more than once, only the most recent run (by `created_at`) is kept. A run on a subset
    (`settings.limit`), a random-weight model and a dataset revision other than the most common
    one are flagged (`RowFlag`). The oracle is a check (it reads answers planted in the sample
    data): listed after the ranked runs, never the leader.

    Each task's board ranks runs by the task's headline metric, in the metric's declared direction
    (`vidret.scoring.metrics`). The best run and every run whose headline is not significantly
    different from it (paired randomisation test on the queries both scored, swapping whole
    clusters where the task's queries cluster, p >= `alpha`; only for runs with per-query data on
    the same split, protocol and dataset revision) are tied at the top.

    Args:
        results_list: valid records (see `collect_results`); a JSON object is parsed into one
            (`as_record`: a `ResultsValidationError` when it does not parse).
        benchmark: benchmark id (any spelling `vidret.benchmarks.get_benchmark` accepts).
        protocol: "vidret" (None) or another protocol the benchmark declares.
        alpha: significance level of the tie test.

    Returns:
        The table.

    Raises:
        ValueError: for an unknown benchmark or protocol, or one whose id cannot name a page.
    """
    spec = get_benchmark(benchmark)
    scored_with = spec.protocol(protocol)
    page = labels.page_name(spec, scored_with)
    latest: dict[tuple, ResultsRecord] = {}
    for record in map(as_record, results_list):
        if record.benchmark != spec.benchmark:
            continue
        if record.protocol != scored_with.name:  # absent and null: "vidret"
            continue
        key = run_identity(record)
        if key not in latest or record.created > latest[key].created:
            latest[key] = record
    kept = list(latest.values())

    tasks = {}
    for task_id, task in scored_with.tasks.items():  # each protocol declares its own metrics
        if any(task_id in record.tasks for record in kept):
            tasks[task_id] = (task.main_score, *(m for m in task.metrics if m != task.main_score))
    revisions = Counter(record.dataset.revision for record in kept)
    # Most common first; ties broken by the revision's text so the choice is stable.
    reference = min(revisions, key=lambda rev: (-revisions[rev], str(rev))) if revisions else None
    rows = [run_row(record, tasks, reference) for record in kept]

    sort_key = None
    if tasks:
        first = next(iter(tasks))
        headline = scored_with.tasks[first].main_score
        sort_key = f"{first}/{headline}"
        higher = metric_spec(headline).higher_is_better
        order = sorted(
            range(len(rows)),
            key=lambda i: (is_check(rows[i]), *_order_key(rows[i][sort_key], higher, rows[i]["model"])),
        )
        rows, kept = [rows[i] for i in order], [kept[i] for i in order]

    boards = []
    for task_id, metrics in tasks.items():
        board = TaskBoard(task_id, scored_with.tasks[task_id].name, metrics[0], metrics)
        board.entries = [e for run, record in enumerate(kept) if (e := task_entry(record, task_id, metrics, run))]
        _rank_board(board, rows, kept.__getitem__, scored_with.tasks[task_id], alpha)
        boards.append(board)
    return LeaderboardTable(
        benchmark=spec.benchmark,
        title=labels.table_title(spec, scored_with),
        rows=rows,
        tasks=tasks,
        boards=boards,
        reference_revision=reference,
        sort_key=sort_key,
        alpha=alpha,
        protocol=scored_with.name,
        page=page,
        label=labels.table_label(spec, scored_with),
    )


def build_tables(results_list: Iterable[Results], *, alpha: float = TIE_ALPHA) -> list[LeaderboardTable]:
    """One table per registered benchmark and protocol, in the registry's order (empty ones included).

    Args:
        results_list: valid records (see `collect_results`), or JSON objects (see `build_table`).
        alpha: significance level of the tie test.
    """
    records = [as_record(results) for results in results_list]  # each JSON object parsed once
    return [
        build_table(records, spec.benchmark, protocol, alpha=alpha)
        for spec in labels.registered_benchmarks()
        for protocol in spec.protocols
    ]
