"""`vidret validate RESULTS.json [...]`: check results files against the schema and the benchmark."""

from __future__ import annotations

import argparse
import sys


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


def run(args: argparse.Namespace) -> int:
    from vidret.evaluation.validation import ResultsValidationError, summarize, validate_file
    from vidret.terminal import printable

    failed = 0
    for path in args.results:
        shown = printable(path)  # a file name can hold control characters too
        try:
            results = validate_file(path, require_all_tasks=not args.allow_partial)
        except FileNotFoundError as err:
            failed += 1
            print(f"INVALID {shown}: {err}", file=sys.stderr)
            continue
        except ResultsValidationError as err:
            failed += 1
            print(f"INVALID {shown}: {len(err.problems)} problem(s)", file=sys.stderr)
            for problem in err.problems:
                print(f"  - {problem}", file=sys.stderr)
            continue
        print(f"OK {shown}: {summarize(results)}")
    return 1 if failed else 0
