"""Entry point of the `lovr` dataset repo: `python -m vidret.dataset_repos.lovr.build --raw RAW --out OUT`.

The same as `vidret build lovr ...`; the logic lives in `vidret.builders.lovr`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from vidret.cli.build import add_arguments, run

    parser = argparse.ArgumentParser(prog="python -m vidret.dataset_repos.lovr.build", description=__doc__)
    add_arguments(parser, benchmark="lovr")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
