"""Names the leaderboard shows, all read from the benchmark registry: titles, short labels, page names.

Nothing here parses a page or a title someone else built: a page name maps back to its benchmark
and protocol through the registry (`page_label`), and the Space asks `LeaderboardTable.label`.
"""

from __future__ import annotations

import re

from vidret.benchmarks import Benchmark, ProtocolSpec, registered

# Page names and task ids become file names and relative links (`<page>.html`, `<page>_<task>_map.png`):
# one plain path component, no scheme (":"), no separator, nothing a browser would resolve elsewhere.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def is_safe_name(name: str) -> bool:
    """Whether `name` can be a file of the site and a relative link to it (letters, digits, ".",
    "_", "-"; starting with a letter or digit)."""
    return isinstance(name, str) and _SAFE_NAME.match(name) is not None


def registered_benchmarks() -> list[Benchmark]:
    """Every registered benchmark (built-ins, then plug-ins), in the registry's order."""
    return list(registered().values())


def is_default(protocol: ProtocolSpec) -> bool:
    """Whether `protocol` is the benchmark's default one (its scores carry no Hub suffix)."""
    return not protocol.hub_suffix


def table_title(spec: Benchmark, protocol: ProtocolSpec) -> str:
    """A page's heading: the registered title, with the protocol's name when it is not the default."""
    return spec.title if is_default(protocol) else f"{spec.title} ({protocol.name} protocol)"


def table_label(spec: Benchmark, protocol: ProtocolSpec) -> str:
    """Navigation and tab label: "LoVR", "LoVR (official)"."""
    return spec.short_title if is_default(protocol) else f"{spec.short_title} ({protocol.name})"


def page_name(spec: Benchmark, protocol: ProtocolSpec) -> str:
    """File name stem of a table's page and plots: the benchmark id plus the protocol's Hub suffix.

    Raises:
        ValueError: when the name (or a task id of the protocol) is not one plain path component
            (a plug-in benchmark's id is used as a file name and a link).
    """
    name = spec.benchmark + protocol.hub_suffix
    for part in (name, *protocol.tasks):
        if not is_safe_name(part):
            raise ValueError(
                f"benchmark {spec.benchmark!r}, protocol {protocol.name!r}: {part!r} cannot name a leaderboard "
                "page or plot (letters, digits, '.', '_' and '-' only, starting with a letter or digit)"
            )
    return name


def page_label(page: str) -> str:
    """The label of the page called `page` (its own name when no registered benchmark has it)."""
    for spec in registered_benchmarks():
        for protocol in spec.protocols.values():
            if page == spec.benchmark + protocol.hub_suffix:
                return table_label(spec, protocol)
    return page
