"""`vidret validate RESULTS.json [...]`: check results files against the schema and the benchmark."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "validate",
        help="check results JSON files (schema, metrics per task, ranges, counts)",
        description="Check results files written by `vidret evaluate`. Prints one summary line per valid "
        "file and every problem of an invalid one, each naming its field; exits 1 if any file is invalid.",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS.json", help="results file(s) to check")
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="accept results that score only some of the benchmark's default tasks (runs with --tasks)",
    )
    parser.set_defaults(func=run)
    return parser


def partial_hint(results: Any) -> str | None:
    """What `--allow-partial` would change for `results`, when default tasks are missing (a `--tasks` run).

    Args:
        results: the JSON object of results that failed validation with every default task
            required (it may not parse: the hint reads only `benchmark` and the task ids).

    Returns:
        e.g. "scores only t2v of lovr's default tasks t2v, v2t, t2c, c2t (a --tasks run): pass
        --allow-partial to accept it"; None when no default task is missing.
    """
    from vidret.benchmarks import registered
    from vidret.evaluation.results.validation import check_results

    benchmark = results.get("benchmark") if isinstance(results, dict) else None
    spec = registered().get(benchmark) if isinstance(benchmark, str) else None
    tasks = results.get("tasks") if spec is not None else None
    if spec is None or not isinstance(tasks, dict) or all(t in tasks for t in spec.default_tasks()):
        return None
    scored = ", ".join(tasks) or "none"
    head = f"scores only {scored} of {spec.benchmark}'s default tasks {', '.join(spec.default_tasks())} (a --tasks run)"
    if check_results(results, require_all_tasks=False):
        return f"{head}: --allow-partial accepts the missing tasks, not the other problems"
    return f"{head}: pass --allow-partial to accept it"


def run(args: argparse.Namespace) -> int:
    from vidret.evaluation.results.validation import ResultsValidationError, load_results, summarize, validate_results
    from vidret.terminal import printable

    failed = 0
    for path in args.results:
        shown = printable(path)  # a file name can hold control characters too
        results = None
        try:
            results = load_results(path)
            record = validate_results(results, require_all_tasks=not args.allow_partial, source=str(path))
        except FileNotFoundError as err:
            failed += 1
            print(f"INVALID {shown}: {err}", file=sys.stderr)
            continue
        except ResultsValidationError as err:
            failed += 1
            print(f"INVALID {shown}: {len(err.problems)} problem(s)", file=sys.stderr)
            for problem in err.problems:
                print(f"  - {problem}", file=sys.stderr)
            hint = partial_hint(results) if results is not None and not args.allow_partial else None
            if hint:
                print(f"  {shown} {printable(hint)}", file=sys.stderr)
            continue
        print(f"OK {shown}: {summarize(record)}")
    return 1 if failed else 0
