"""Entry point of the `lovr` dataset repo: `python -m vidret.dataset_repos.lovr.build --raw RAW --out OUT`.

The same as `vidret build lovr ...`; the logic lives in `vidret.builders.lovr`.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from vidret.cli.build import benchmark_main

    return benchmark_main("lovr", "vidret.dataset_repos.lovr.build", __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
