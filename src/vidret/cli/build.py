"""`vidret build` (placeholder until its issue lands; replace this whole file)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("build", help="(not implemented yet)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    raise SystemExit("vidret build: not implemented yet")
