"""`vidret env`: a copy-pasteable block of versions and hardware for bug reports."""

from __future__ import annotations

import argparse
import json

from vidret.environment import hardware_info, package_versions


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("env", help="print library versions and hardware")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a text block")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    info = {"versions": package_versions(), "hardware": hardware_info()}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for section, values in info.items():
        print(f"- {section}:")
        for key, value in values.items():
            print(f"    {key}: {value}")
    return 0
