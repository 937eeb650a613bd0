"""Entry point of the `tf_covr` dataset repo: `python -m vidret.dataset_repos.tf_covr.build --raw RAW --out OUT`.

The same as `vidret build tf-covr ...`; the logic lives in `vidret.builders.tf_covr`.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from vidret.cli.build import benchmark_main

    return benchmark_main("tf-covr", "vidret.dataset_repos.tf_covr.build", __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
