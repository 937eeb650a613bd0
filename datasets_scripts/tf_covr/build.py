"""Entry point of the `tf_covr` dataset repo: `python -m vidret.dataset_repos.tf_covr.build --raw RAW --out OUT`.

The same as `vidret build tf-covr ...`; the logic lives in `vidret.builders.tf_covr`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from vidret.cli.build import add_arguments, run

    parser = argparse.ArgumentParser(prog="python -m vidret.dataset_repos.tf_covr.build", description=__doc__)
    add_arguments(parser, benchmark="tf-covr")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
