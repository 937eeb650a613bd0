"""Entry point of the `lovr` dataset repo: `python -m vidret.dataset_repos.lovr.build --raw RAW --out OUT`.

The same as `vidret build lovr ...`; the benchmark is the one registered under this folder's name
and its logic lives in its package, `vidret.benchmarks.lovr`.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from vidret.cli.build import benchmark_main

    package = __spec__.parent if __spec__ is not None else __package__
    return benchmark_main(package.rpartition(".")[2], f"{package}.build", __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
