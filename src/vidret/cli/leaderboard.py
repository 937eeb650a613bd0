"""`vidret leaderboard RESULTS_DIR --out SITE/`: a static leaderboard site from results files."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "leaderboard",
        help="build a static leaderboard site (sortable tables + plots) from a folder of results",
        description="Read every results JSON under RESULTS_DIR and write SITE/index.html (each benchmark's top "
        "runs) plus one page per registered benchmark and protocol with results: a sortable table per task "
        "and matplotlib plots. Random-weight models, subsets (--limit), the oracle (a check) and rows on a "
        "dataset revision other than the most common one are flagged.",
    )
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="folder of results files (searched recursively)")
    parser.add_argument("--out", required=True, metavar="SITE", help="folder to write the site to")
    parser.add_argument(
        "--on-invalid",
        choices=("error", "warn", "skip"),
        default="warn",
        help="an invalid results file is skipped with a warning naming it and why (default: one bad file never "
        "takes the site down), stops the build (error), or is skipped silently",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from vidret.evaluation.results.validation import ResultsValidationError
    from vidret.hub.leaderboard import build_site

    try:
        written = build_site(args.results_dir, args.out, on_invalid=args.on_invalid)
    except (FileNotFoundError, ResultsValidationError) as err:
        print(f"vidret leaderboard: {err}", file=sys.stderr)
        return 1
    pages = [path for path in written if path.suffix == ".html"]
    print(f"wrote {len(pages)} page(s) and {len(written) - len(pages)} plot(s) to {args.out}")
    for page in pages:
        print(f"  {page}")
    return 0
