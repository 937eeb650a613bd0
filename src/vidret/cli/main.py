"""The `vidret` command: one module per subcommand, registered here.

Each module in COMMAND_MODULES exposes `register(subparsers)` (adds its parser and sets
`func`) so it also works standalone; the handler is a thin call into the Python API.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "vidret.cli.env",
    "vidret.cli.sample",
    "vidret.cli.build",
    "vidret.cli.publish",
    "vidret.cli.metrics",
    "vidret.cli.evaluate",
    "vidret.cli.demo",
    "vidret.cli.validate",
    "vidret.cli.submit",
    "vidret.cli.leaderboard",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidret",
        description="Video-text retrieval benchmarks (LoVR, TF-CoVR) on Hugging Face datasets + evaluate.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 1
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
