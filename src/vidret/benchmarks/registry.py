"""The benchmarks vidret knows: the built-in packages and those of the entry-point group `vidret.benchmarks`.

A package adds a benchmark without a change here by declaring an entry point whose object is a
`vidret.benchmarks.Benchmark` (pyproject.toml:
``[project.entry-points."vidret.benchmarks"] msrvtt = "my_pkg:BENCHMARK"``). Discovery runs
once per process. A plug-in that fails to load (an exception, even `SystemExit`: see
`vidret.common.load_plugin`; or an object that is not a `Benchmark`) is skipped with one
warning and listed in `PLUGIN_ERRORS`; so is one whose id or alias is already taken (a plug-in
cannot shadow a built-in). Nothing else of vidret is imported here (but the standard-library
helpers of `vidret.common`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable

from vidret.benchmarks.base import Benchmark, load_reference
from vidret.common import load_plugin
from vidret.benchmarks.spec import ProtocolSpec

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "vidret.benchmarks"
#: The built-in benchmarks, in the order they are listed.
BUILTIN = ("vidret.benchmarks.lovr:BENCHMARK", "vidret.benchmarks.tf_covr:BENCHMARK")

#: Plug-ins skipped by the last discovery: "entry point NAME (DISTRIBUTION): why".
PLUGIN_ERRORS: list[str] = []


def _key(name: str) -> str:
    """How names are compared: case-insensitive, ``_`` the same as ``-``."""
    return name.strip().lower().replace("_", "-")


@functools.lru_cache(maxsize=1)
def _discover() -> tuple[dict[str, Benchmark], dict[str, str]]:
    """(id -> Benchmark, normalised name or alias -> id): built-ins first, then plug-ins by entry point name."""
    from importlib.metadata import entry_points

    found: dict[str, Benchmark] = {}
    names: dict[str, str] = {}

    def add(benchmark: Benchmark, where: str) -> str | None:
        """Register `benchmark`; the reason it was refused, or None."""
        taken = [n for n in benchmark.names() if _key(n) in names]
        if taken:
            owner = found[names[_key(taken[0])]]
            return f"its name {taken[0]!r} is taken by benchmark {owner.benchmark!r} ({owner.provider}); rename it"
        found[benchmark.benchmark] = benchmark
        for name in benchmark.names():
            names[_key(name)] = benchmark.benchmark
        return None

    for reference in BUILTIN:
        refused = add(load_reference(reference, "built-in benchmark"), reference)
        assert refused is None, refused  # the built-ins never collide

    PLUGIN_ERRORS.clear()
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "unknown distribution"
        where = f"entry point {ep.name} ({dist})"
        loaded, failure = load_plugin(ep)  # a plug-in's bug, missing dependency or sys.exit must not take vidret down
        if failure is not None:
            _skip(where, failure)
            continue
        if not isinstance(loaded, Benchmark):
            _skip(where, f"its object is a {type(loaded).__name__}, not a vidret.benchmarks.Benchmark")
            continue
        refused = add(dataclasses.replace(loaded, provider=dist), where)
        if refused is not None:
            _skip(where, refused)
    return found, names


def _skip(where: str, why: str) -> None:
    message = f"{where}: {why}"
    logger.warning("skipping vidret benchmark plug-in %s", message)
    PLUGIN_ERRORS.append(message)


def registered() -> dict[str, Benchmark]:
    """Every benchmark vidret knows, by id: the built-ins first (lovr, tf-covr), then plug-ins."""
    return dict(_discover()[0])


def reload() -> None:
    """Forget what was discovered: the next call reads the entry points again (tests, after installing)."""
    _discover.cache_clear()


def get_benchmark(name: str) -> Benchmark:
    """A benchmark by id or alias, compared case-insensitively with ``_`` read as ``-``
    ("tf-covr", "tf_covr", "TFCoVR" -> "tf-covr").

    Raises:
        ValueError: an unknown name (the registered ids are listed).
    """
    found, names = _discover()
    key = _key(name) if isinstance(name, str) else None
    if key not in names:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {sorted(found)}")
    return found[names[key]]


def get_protocol(benchmark: str, protocol: str | None = None) -> ProtocolSpec:
    """`get_benchmark(benchmark).protocol(protocol)`; None = "vidret".

    Raises:
        ValueError: an unknown benchmark or protocol.
    """
    return get_benchmark(benchmark).protocol(protocol)


def get_normalizer(name: str | None) -> Callable[[str], str] | None:
    """The text normalisation a protocol names (`TaskRules.text_normalization`); None for None.

    Raises:
        ValueError: no registered benchmark declares `name` (the known names are listed).
    """
    if name is None:
        return None
    for benchmark in registered().values():
        function = benchmark.normalizer(name)
        if function is not None:
            return function
    known = sorted(n for b in registered().values() for n in b.text_normalizations)
    raise ValueError(f"unknown text normalisation {name!r}; known: {known}")
