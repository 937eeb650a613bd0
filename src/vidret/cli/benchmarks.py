"""`vidret benchmarks`: the registered benchmarks (built-in and installed plug-ins) and what each offers."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``benchmarks`` subcommand to the `vidret` parser."""
    parser = subparsers.add_parser(
        "benchmarks",
        help="list the registered benchmarks (id, title, tasks, protocols, providing package)",
        description="List every benchmark vidret knows: the built-in ones and those installed packages register "
        "in the entry-point group `vidret.benchmarks`. Each shows its id (what --benchmark takes) and other "
        "accepted names, title, tasks (optional ones marked), protocols, the distribution that provides it, "
        "and where its videos come from.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (one object per benchmark) instead of text")
    parser.set_defaults(func=run)
    return parser


def describe(benchmark: Any) -> dict[str, Any]:
    """What `vidret benchmarks` shows of one `vidret.benchmarks.Benchmark`, as plain data."""
    defaults = benchmark.default_tasks()
    return {
        "id": benchmark.benchmark,
        "aliases": list(benchmark.aliases),
        "title": benchmark.title,
        "provider": benchmark.provider,
        "package": benchmark.package,
        "tasks": [
            {"id": t.task_id, "name": t.name, "optional": t.task_id not in defaults, "main_score": t.main_score}
            for t in benchmark.tasks.values()
        ],
        "protocols": [{"name": p.name, "summary": p.summary} for p in benchmark.protocols.values()],
        "upstream_repo": benchmark.upstream_repo,
        "videos": benchmark.licence.videos,
    }


def run(args: argparse.Namespace) -> int:
    """Print the registered benchmarks; returns 0."""
    from vidret.benchmarks import registered
    from vidret.terminal import printable

    described = [describe(b) for b in registered().values()]
    if args.json:
        print(json.dumps(described, indent=2, ensure_ascii=False))
        return 0
    for entry in described:
        # A plug-in's declaration is third-party text: escape control characters before printing it.
        names = ", ".join(printable(a) for a in entry["aliases"])
        print(f"{printable(entry['id'])}: {printable(entry['title'])}" + (f" (also: {names})" if names else ""))
        print(f"  provided by: {printable(entry['provider'])} ({printable(entry['package'])})")
        tasks = ", ".join(printable(t["id"]) + (" (optional)" if t["optional"] else "") for t in entry["tasks"])
        print(f"  tasks: {tasks}")
        print("  protocols:")
        for protocol in entry["protocols"]:
            print(f"    {printable(protocol['name'])}: {printable(protocol['summary'])}")
        print(f"  upstream: {printable(entry['upstream_repo'])}")
        if entry["videos"]:
            print(f"  videos: {printable(entry['videos'])}")
    return 0
