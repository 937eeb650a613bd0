"""`vidret compare A.json B.json`: is run A better than run B, beyond chance?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _level(value: str) -> float:
    try:
        level = float(value)
    except ValueError:
        level = float("nan")
    if not 0 < level < 1:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1 (e.g. 0.95), got {value!r}")
    return level


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `compare` subcommand to the `vidret` parser."""
    from vidret.cli.argtypes import MAX_SEED, int_in_range
    from vidret.scoring.bootstrap import DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED

    parser = subparsers.add_parser(
        "compare",
        help="paired significance test of two results files, per task and metric",
        description="Compare run A with run B on the queries both scored: for every task and metric, the "
        "difference A - B, its interval (paired bootstrap) and a p-value (paired randomisation test), both "
        "over whole clusters where a task's queries cluster (e.g. the clips of one long video). Refuses runs of "
        "different benchmarks, splits, protocols or dataset revisions, and runs that put a query in different clusters.",
    )
    parser.add_argument("a", metavar="A.json", help="results file of run A")
    parser.add_argument("b", metavar="B.json", help="results file of run B")
    parser.add_argument("--tasks", default=None, help="comma-separated task ids (default: every task both scored)")
    parser.add_argument("--metrics", default=None, help="comma-separated metrics, e.g. R@1,MdR (default: all)")
    parser.add_argument(
        "--resamples",
        type=int_in_range(1, "vidret.scoring.bootstrap:MAX_RESAMPLES"),
        default=DEFAULT_RESAMPLES,
        help=f"bootstrap resamples and randomisation rounds (default {DEFAULT_RESAMPLES})",
    )
    parser.add_argument("--seed", type=int_in_range(0, MAX_SEED), default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--level", type=_level, default=DEFAULT_LEVEL, help=f"confidence level of the intervals (default {DEFAULT_LEVEL})"
    )
    parser.add_argument("--json", default=None, metavar="OUT.json", help="also write the comparison as JSON")
    parser.set_defaults(func=run)
    return parser


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def _scale_note(comparison: Any) -> str:
    """What the compared numbers are, from the metrics' declarations (`vidret.scoring.metrics`)."""
    from vidret.scoring.metrics import metric_spec

    names = dict.fromkeys(name for task in comparison.tasks for name in task.metrics)
    others = [metric_spec(name) for name in names if not metric_spec(name).percentage]
    if not others:
        return "Scores are percentages."
    listed = "/".join(s.name for s in others)
    direction = ", lower is better" if not any(s.higher_is_better for s in others) else ""
    return f"Scores are percentages except {listed} (ranks{direction})."


def _declared_clusters(comparison: Any) -> dict[str, str | None]:
    """Task id -> what its queries cluster on, as the benchmark declares it under the protocol."""
    from vidret.benchmarks import get_benchmark

    try:
        tasks = get_benchmark(comparison.benchmark).protocol(comparison.protocol).tasks
    except ValueError:
        return {}
    return {task_id: spec.cluster for task_id, spec in tasks.items()}


def format_comparison(comparison: Any, label_a: str, label_b: str) -> str:
    """The comparison as an aligned text table, with what was compared and how.

    Args:
        comparison: a `vidret.evaluation.results.confidence.Comparison`.
        label_a: how to name run A.
        label_b: how to name run B.

    Returns:
        The text.
    """
    alpha = 1.0 - comparison.level
    pct = f"{100 * comparison.level:g}%"
    declared = _declared_clusters(comparison)

    def clustered(task_id: str) -> bool:
        return declared.get(task_id) is not None
    lines = [
        f"{comparison.benchmark}/{comparison.split}, protocol {comparison.protocol}, "
        f"dataset revision {comparison.dataset_revision}",
        f"  A: {label_a}",
        f"  B: {label_b}",
        "",
    ]
    header = ["task", "queries", "metric", "A", "B", "A-B", f"{pct} interval", "p", ""]
    rows = [header]
    notes = []
    for task in comparison.tasks:
        if task.skipped:
            notes.append(f"{task.task_id}: not compared: {task.skipped}")
            continue
        if task.cluster_key:
            notes.append(
                f"{task.task_id}: queries resampled and swapped by cluster ({task.cluster_key}: "
                f"{task.num_clusters} clusters of the {task.num_shared} shared queries)"
            )
        elif clustered(task.task_id):
            notes.append(f"{task.task_id}: query by query: the results hold no cluster ids (written before vidret kept them)")
        if task.only_a or task.only_b:
            notes.append(
                f"{task.task_id}: compared on the {task.num_shared} shared queries "
                f"({task.only_a} only in A, {task.only_b} only in B)"
            )
        for name, result in task.metrics.items():
            if result is None:
                rows.append([task.task_id, str(task.num_shared), name, "–", "–", "–", "no interval (unknown ranks)", "", ""])
                continue
            rows.append(
                [
                    task.task_id,
                    str(task.num_shared),
                    name,
                    f"{result.value_a:.2f}",
                    f"{result.value_b:.2f}",
                    _signed(result.difference),
                    f"[{_signed(result.ci_low)}, {_signed(result.ci_high)}]",
                    f"{result.p_value:.3f}",
                    "*" if result.p_value < alpha else "",
                ]
            )
    if len(rows) > 1:
        right = {1, 3, 4, 5, 7}
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
        lines.insert(len(lines) - len(rows) + 1, "  ".join("-" * w for w in widths).rstrip())
        lines.append("")
    lines += notes
    lines.append(
        f"A-B on the queries both runs scored; interval: paired bootstrap, p: two-sided paired randomisation test, "
        f"both over whole clusters where noted ({comparison.num_resamples} resamples, seed {comparison.seed}); "
        f"* = p < {alpha:.2g}. "
        + _scale_note(comparison)
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Load and validate the two records, compare them; print the table (and write --json)."""
    from vidret.common import atomic_write_text
    from vidret.evaluation.results.confidence import compare_results
    from vidret.evaluation.results.validation import ResultsValidationError, load_record
    from vidret.hub.leaderboard import display_model
    from vidret.terminal import printable

    try:
        a = load_record(args.a)
        b = load_record(args.b)
        comparison = compare_results(
            a,
            b,
            tasks=_split(args.tasks),
            metrics=_split(args.metrics),
            num_resamples=args.resamples,
            level=args.level,
            seed=args.seed,
        )
    except ResultsValidationError as err:
        print(f"vidret compare: {err}", file=sys.stderr)  # already escaped
        return 1
    except ValueError as err:  # ComparisonError and bad --tasks/--metrics
        print(printable(f"vidret compare: {args.a} vs {args.b}: {err}"), file=sys.stderr)
        return 1
    model_a, model_b = display_model(a.model.to_json()), display_model(b.model.to_json())
    label_a = f"{model_a} ({Path(args.a).name})"
    label_b = f"{model_b} ({Path(args.b).name})"
    # Model ids, revisions and file names quoted from the files: their control characters escaped.
    print(printable(format_comparison(comparison, label_a, label_b), keep_newlines=True))
    if args.json:
        out = {"a": {"file": args.a, "model": model_a}, "b": {"file": args.b, "model": model_b}}
        atomic_write_text(args.json, json.dumps({**out, **comparison.as_dict()}, indent=2) + "\n")
    return 0
