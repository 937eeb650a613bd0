"""The `vidret` command: one module per subcommand, registered here.

Each module in COMMAND_MODULES exposes `register(subparsers)` (adds its parser and sets
`func`) so it also works standalone; the handler is a thin call into the Python API.

Ctrl-C (SIGINT) ends any command with one line on stderr and exit status 130 (128 + SIGINT, what
shells report), not a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from vidret.cli.logs import configure_logging

#: Exit status after Ctrl-C: 128 + SIGINT, as shells report it.
INTERRUPTED_EXIT_CODE = 128 + int(signal.SIGINT)

COMMAND_MODULES = (
    "vidret.cli.env",
    "vidret.cli.sample",
    "vidret.cli.benchmarks",
    "vidret.cli.build",
    "vidret.cli.publish",
    "vidret.cli.metrics",
    "vidret.cli.evaluate",
    "vidret.cli.embeddings",
    "vidret.cli.demo",
    "vidret.cli.validate",
    "vidret.cli.compare",
    "vidret.cli.submit",
    "vidret.cli.leaderboard",
)


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` that takes options only as spelled in full.

    argparse's default prefix matching silently reads ``--fram 4`` as ``--frames 4`` (and a flag
    added later can change what an old abbreviation means). Subparsers are created with the
    parser's own class, so every `vidret` subcommand and action inherits this.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def vidret_version() -> str:
    """The installed vidret's version, as `vidret env` shows it (the source tree's when not installed)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("vidret")
    except importlib.metadata.PackageNotFoundError:
        from vidret import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="vidret",
        description="Video-text retrieval benchmarks on Hugging Face datasets + evaluate (`vidret benchmarks` "
        "lists them).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    parser.add_argument(
        "--version", action="version", version=f"vidret {vidret_version()}", help="print vidret's version and exit"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `vidret` command line; returns the exit status (130 after Ctrl-C)."""
    command = "vidret"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = f"vidret {args.command}" if getattr(args, "command", None) else command
        configure_logging(args.verbose)
        if not hasattr(args, "func"):
            parser.print_help(sys.stderr)
            return 1
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # Work already written stays (the embedding cache, a build's previous output); say so briefly.
        print(f"{command}: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE


if __name__ == "__main__":
    raise SystemExit(main())
