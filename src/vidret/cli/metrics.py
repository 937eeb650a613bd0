"""`vidret metrics install|list`: make the evaluate modules loadable offline by bare name."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `metrics` subcommand (actions `install` and `list`) to the vidret parser."""
    parser = subparsers.add_parser(
        "metrics",
        help="install/list vidret's evaluate modules (composed_map, video_retrieval)",
        description="`install` copies the modules into evaluate's module cache so that "
        '`evaluate.load("composed_map")` works offline (HF_EVALUATE_OFFLINE=1). A Hub module of '
        "the same name, when reachable, is tried first and shadows the installed copy.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action")
    install = actions.add_parser("install", help="copy the modules into evaluate's module cache")
    install.add_argument("names", nargs="*", metavar="NAME", help="modules to install (default: all)")
    install.add_argument(
        "--cache-dir",
        default=None,
        help="HF modules cache root (default: evaluate's HF_MODULES_CACHE); set HF_MODULES_CACHE to the same "
        "path when loading",
    )
    listing = actions.add_parser("list", help="show the shipped modules and where they are installed")
    listing.add_argument("--cache-dir", default=None, help="HF modules cache root to inspect")
    parser.set_defaults(func=run, _parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Install or list the modules; exit status 0, or 1 (help printed) without an action.

    Raises:
        SystemExit: an unknown module name or a script missing from the installation.
    """
    from vidret.metrics_install import install_metrics, list_metrics

    if args.action == "install":
        try:
            installed = install_metrics(args.names or None, cache_dir=args.cache_dir)
        except (ValueError, FileNotFoundError) as err:
            raise SystemExit(f"vidret metrics install: {err}") from None
        for name, path in installed.items():
            print(f"installed {name} -> {path}")
        print('load with evaluate.load("<name>") (HF_EVALUATE_OFFLINE=1 works offline)')
        return 0
    if args.action == "list":
        for module in list_metrics(cache_dir=args.cache_dir):
            if not module.installed:
                where = "not installed"
            elif module.current:
                where = f"{module.installed[-1]} (current)"
            else:  # a Hub copy or an older vidret wrote the newest copy: it shadows ours offline
                where = f"{module.installed[-1]} (NOT vidret's current script; run `vidret metrics install`)"
            print(f"{module.name}\tsource: {module.source}\tinstalled: {where}")
        return 0
    args._parser.print_help()
    return 1
