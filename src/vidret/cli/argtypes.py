"""Argparse `type`s for numeric flags: every number is bounded before any work starts.

A value outside its range is refused by argparse itself (one line, exit status 2) with the range
in the message and, where a named constant sets the bound, that constant's name. A bound may be
given as ``"module:NAME"``: it is imported only when the flag is parsed, so building the parser
stays light (``vidret --help`` does not import the video decoder). Echoed values are shortened,
so a 400-digit number stays one short line.
"""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Callable

#: Largest `--seed`: numpy takes any integer, but a seed is recorded in JSON next to the numbers.
MAX_SEED = 2**32 - 1
#: Bound of integer flags with no natural limit of their own (counts, sizes).
SANITY_MAXIMUM = 10**9

Bound = int | float | str


def shown(value: str, width: int = 24) -> str:
    """`value` quoted for a message, cut to `width` characters (with its full length) when longer."""
    if len(value) <= width:
        return repr(value)
    return f"{value[:width]!r}... ({len(value)} characters)"


def _resolve(bound: Bound) -> tuple[int | float, str]:
    """(value, " (dotted.NAME)") of a bound; a plain number has no name."""
    if not isinstance(bound, str):
        return bound, ""
    module, _, name = bound.partition(":")
    return getattr(importlib.import_module(module), name), f" ({module}.{name})"


def int_in_range(minimum: int, maximum: Bound) -> Callable[[str], int]:
    """An argparse `type` accepting integers in [minimum, maximum].

    Args:
        minimum: smallest value accepted.
        maximum: largest value accepted, or ``"module:NAME"`` of the constant holding it.
    """

    def parse(value: str) -> int:
        top, name = _resolve(maximum)
        try:
            n = int(value)
        except ValueError:  # also a number past Python's 4300-digit conversion limit
            n = None
        if n is None or not minimum <= n <= top:
            raise argparse.ArgumentTypeError(f"expected an integer from {minimum} to {top:,}{name}, got {shown(value)}")
        return n

    return parse


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse `type` accepting integers from `minimum` to SANITY_MAXIMUM."""
    return int_in_range(minimum, SANITY_MAXIMUM)


def positive_float(maximum: Bound) -> Callable[[str], float]:
    """An argparse `type` accepting a finite number in (0, maximum].

    Args:
        maximum: largest value accepted, or ``"module:NAME"`` of the constant holding it.
    """

    def parse(value: str) -> float:
        top, name = _resolve(maximum)
        try:
            x = float(value)
        except ValueError:
            x = math.nan
        if not 0 < x <= top:  # also refuses nan and inf
            raise argparse.ArgumentTypeError(f"expected a number > 0 and <= {top:g}{name}, got {shown(value)}")
        return x

    return parse
