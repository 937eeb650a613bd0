"""`vidret build BENCHMARK --raw RAW --out OUT`: turn a raw public release into a Hub dataset repo folder."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from vidret.cli.argtypes import int_in_range

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``build`` subcommand to the `vidret` parser."""
    parser = subparsers.add_parser(
        "build",
        help="build a Hub dataset repo folder (Parquet + card + eval.yaml) from a raw release",
        description="Build a benchmark from its raw public release: Parquet shards under data/<config>/, "
        "a dataset card, eval.yaml and manifest.json with checksums. Annotations only by default (a "
        "benchmark's videos may not be re-hosted freely: `vidret benchmarks` says where they come from); "
        "--videos copy|link adds videos/.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser, benchmark: str | None = None) -> None:
    """The build options; `benchmark` fixes the benchmark (per-benchmark entry points)."""
    if benchmark is None:
        from vidret.benchmarks import registered

        parser.add_argument("benchmark", choices=list(registered()), help="which benchmark (see `vidret benchmarks`)")
    else:
        parser.set_defaults(benchmark=benchmark)
    parser.add_argument("--raw", required=True, metavar="RAW", help="the raw release folder, as published")
    parser.add_argument("--out", required=True, metavar="OUT", help="the repo folder to write")
    parser.add_argument("--version", default="1.0.0", help="dataset version (card, manifest; publish as tag v<version>)")
    parser.add_argument(
        "--videos",
        choices=["copy", "link", "none"],
        default="none",
        help="none (default): annotations only, evaluate with --video-root; copy: copy the videos into OUT/videos "
        "(check their licence before publishing); link: symbolic links (local use only)",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="build even when referenced videos are absent or unreadable in the release's video folder; "
        "list them in missing.json (the card and the console give counts)",
    )
    parser.add_argument(
        "--workers", type=int_in_range(1, 256), default=None, help="threads probing video durations (1 to 256)"
    )
    parser.add_argument("--work-dir", default=None, help="where archive parts are extracted (default: next to OUT)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args: argparse.Namespace) -> int:
    """Build the repo folder; print its row counts and warnings. Returns 1 on bad input (message on stderr)."""
    from pathlib import Path

    from vidret.builders import BuildError, build

    options = {
        "version": args.version,
        "videos": args.videos,
        "allow_missing": args.allow_missing,
        "progress": not args.no_progress,
    }
    if args.workers is not None:
        options["num_workers"] = args.workers
    if args.work_dir is not None:
        options["work_dir"] = Path(args.work_dir)
    logger.debug("build options: %s", options)
    try:
        report = build(args.benchmark, args.raw, args.out, **options)
    except (BuildError, ValueError) as err:
        print(f"vidret build: {err}", file=sys.stderr)
        return 1
    for config, splits in report.num_rows.items():
        print(f"{config}: " + ", ".join(f"{split} {n}" for split, n in splits.items()))
    # One line per kind of finding (missing videos included); the full lists are in OUT/missing.json
    # and OUT/manifest.json, never on the console.
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {args.out}")
    for line in report.next_steps:  # e.g. the command scoring a release's precomputed embeddings
        print(line)
    return 0


def benchmark_main(benchmark: str, module: str, description: str | None, argv: Sequence[str] | None = None) -> int:
    """A dataset repo's entry point (``python -m <module>``): `vidret build` with the benchmark fixed.

    Args:
        benchmark: a registered benchmark's id or alias.
        module: the entry point's module, shown as the program name.
        description: help text.
        argv: arguments (default: the command line).

    Returns:
        The exit status of `run`.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description, allow_abbrev=False)
    add_arguments(parser, benchmark=benchmark)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(parser.parse_args(argv))
    except KeyboardInterrupt:
        from vidret.cli.main import INTERRUPTED_EXIT_CODE

        print(f"python -m {module}: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE
