"""`vidret demo`: build each benchmark's sample and evaluate a tiny random-weight CLIP and the oracle."""

from __future__ import annotations

import argparse

from vidret.cli.argtypes import int_in_range


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `demo` subcommand to the `vidret` parser."""
    parser = subparsers.add_parser(
        "demo",
        help="build the sample benchmarks and evaluate a tiny model and the oracle end to end",
        description="Writes a small sample release of every registered benchmark (or of those given with "
        "--benchmark), builds them into dataset repos under OUT/data/<id>, evaluates a locally built "
        "random-weight CLIP (scores are meaningless) and the oracle (must score 100), and prints the "
        "metrics table.",
    )
    parser.add_argument("--out", default="vidret-demo", help="output folder (default ./vidret-demo)")
    parser.add_argument(
        "--benchmark",
        action="append",
        metavar="ID",
        help="a benchmark to cover (see `vidret benchmarks`); repeatable (default: every registered benchmark)",
    )
    parser.add_argument(
        "--num-workers", type=int_in_range(0, "vidret.evaluation.running.limits:MAX_NUM_WORKERS"), default=0,
        help="DataLoader decode workers (default 0)",
    )
    parser.add_argument(
        "--frames", type=int_in_range(1, 64), default=4, help="frames per clip for the tiny CLIP (default 4, at most 64)"
    )
    parser.add_argument(
        "--setup-only",
        action="store_true",
        help="only write the sample releases (OUT/raw/<id>), the built dataset repos (OUT/data/<id>) and the tiny "
        "model (to try commands by hand)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the demo, print its metrics table, what it made and what to try next; bad arguments exit with one line."""
    from pathlib import Path

    from vidret.testing.demo import demo_benchmarks, describe, prepare_data, prepare_model, run_demo

    out = Path(args.out)
    try:
        benchmarks = [b.benchmark for b in demo_benchmarks(args.benchmark)]
        if args.setup_only:
            prepare_data(out, benchmarks)
            prepare_model(out)
            print(describe(out, evaluated=False, benchmarks=benchmarks))
            return 0
        result = run_demo(out, num_workers=args.num_workers, frames=args.frames, benchmarks=benchmarks)
    except ValueError as err:
        raise SystemExit(f"vidret demo: {err}") from None
    print(result.table)
    print(
        f"\n'random weights' = a tiny CLIP built locally with random weights: a plumbing check, not a score.\n"
        f"'check' = the oracle: it reads frame codes and ids planted in the sample data; 100 means ids,\n"
        f"ordering, gathering and scoring are right end to end ({result.seconds:.0f} s).\n"
        f"'95% CI' = the headline's bootstrap interval over the queries: with a handful of queries it is\n"
        f"wide, so small differences between models there mean nothing (`vidret compare A.json B.json`).\n"
    )
    print(describe(out, evaluated=True, benchmarks=benchmarks))
    return 0
