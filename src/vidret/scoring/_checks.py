"""Argument checks shared by the scoring kernels (errors name the argument and the row)."""

from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable, Sequence
from typing import Any


def check_k(k: Any, name: str = "k") -> int:
    """Return `k` as a Python int if it is an integer >= 1, else raise.

    Integer scalars (numpy, 0-d torch tensors) are accepted; bools and floats are not.

    Raises:
        TypeError: `k` is not an integer.
        ValueError: `k` < 1.
    """
    try:
        value = None if isinstance(k, bool) else operator.index(k)
    except TypeError:
        value = None
    if value is None:
        raise TypeError(f"{name} must be an int >= 1, got {k!r} ({type(k).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def check_k_values(k_values: Any, name: str = "k_values") -> tuple[int, ...]:
    """Validate a non-empty collection of cut-offs; duplicates are dropped, order is kept.

    Raises:
        TypeError: `k_values` is a bare int/str or holds a non-int.
        ValueError: `k_values` is empty or holds a value < 1.
    """
    if isinstance(k_values, (int, str, bytes)):
        raise TypeError(f"{name} must be a sequence of ints, e.g. (1, 5, 10), got {k_values!r}")
    ks = tuple(check_k(k, f"{name} entry") for k in k_values)
    if not ks:
        raise ValueError(f"{name} must not be empty")
    return tuple(dict.fromkeys(ks))


def check_same_length(a: Sequence, b: Sequence, name_a: str, name_b: str) -> int:
    """Return the common length of `a` and `b`, or raise ValueError naming both."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have one entry per query: got {len(a)} and {len(b)}")
    return len(a)


def as_id_list(items: Any, what: str, row: int) -> list[Hashable]:
    """Turn one query's ids (ranking, targets, exclusions) into a list.

    A bare string is rejected: iterating it would silently give characters.

    Raises:
        TypeError: `items` is a string or not iterable.
    """
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{what} of query {row} is a single string {items!r}; pass a list of ids, e.g. [{items!r}]")
    if not isinstance(items, Iterable):
        raise TypeError(f"{what} of query {row} must be a list of ids, got {type(items).__name__}")
    return list(items)


def check_no_duplicates(ranking: list[Hashable], row: int) -> None:
    """Raise ValueError if one ranking lists an id twice (it would be counted twice)."""
    if len(set(ranking)) != len(ranking):
        seen: set[Hashable] = set()
        for item in ranking:
            if item in seen:
                raise ValueError(
                    f"ranking of query {row} lists {item!r} more than once; each gallery item may appear "
                    "once (a repeated hit would be counted twice and AP could exceed 1)"
                )
            seen.add(item)
