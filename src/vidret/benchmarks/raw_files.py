"""The raw files a benchmark's release must hold, declared once: `RawFile` and `RawColumn`.

A benchmark package declares its raw annotation files in ``<package>/raw_columns.py`` as
``RAW_FILES`` (a tuple of `RawFile`; optionally ``LAYOUT``, one paragraph on where the files
sit). Two readers use that one declaration:

- the builder's missing-column check (`vidret.builders.tables` takes a `RawFile` as the required
  columns): a file without a required column is refused, saying what the column holds, an
  example and where the README lists every file's columns;
- README.md's section "Bring your own release", rendered by `readme_section()`:
  ``python -m vidret.benchmarks.raw_files README.md`` rewrites it, and
  ``tests/test_raw_columns.py`` fails when it is out of date.

Standard library only: a leaf every layer may import.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The README section listing every raw file's columns, and its address on the web.
README_SECTION = "Bring your own release"
README_LINK = "https://github.com/vidret/vidret#bring-your-own-release"
#: File formats a `RawFile` may have (how its example row is written).
FORMATS = ("csv", "parquet", "jsonl")
_FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet", "jsonl": "JSON Lines"}


@dataclass(frozen=True)
class RawColumn:
    """One column (CSV, Parquet) or field (JSON Lines) of a raw file.

    Attributes:
        name: the column's name as the file spells it.
        holds: what it holds, one line that reads after "holds" ("the clip's caption").
        example: an example value as the file stores it: the cell's text for CSV, the value
            (str, int, ...) for Parquet and JSON Lines.
        required: the build refuses a file without it; an optional column may be absent.
    """

    name: str
    holds: str
    example: Any
    required: bool = True


@dataclass(frozen=True)
class RawFile:
    """One kind of raw annotation file: where it is, what a row is, and its columns.

    Attributes:
        files: the file(s) of this kind, as paths relative to the release folder
            (``("caption_data/clip_train.parquet", "caption_data/clip_test.parquet")``).
        format: ``"csv"``, ``"parquet"`` or ``"jsonl"``.
        holds: what one row is, one line.
        columns: the columns the builder reads, required ones first by convention.
        notes: further rules for the README (one sentence each).
        listed_in: where the missing-column error sends the user for every column (default:
            vidret's README section; a plug-in benchmark names its own documentation).

    Raises:
        ValueError: an unknown format, no file, no required column, or a repeated column name.
    """

    files: tuple[str, ...]
    format: str
    holds: str
    columns: tuple[RawColumn, ...]
    notes: tuple[str, ...] = ()
    listed_in: str = f'"{README_SECTION}" in vidret\'s README ({README_LINK})'

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"RawFile {self.files}: format must be one of {FORMATS}, got {self.format!r}")
        if not self.files:
            raise ValueError("RawFile: no file named")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"RawFile {self.files}: repeated column names {names}")
        if not self.required:
            raise ValueError(f"RawFile {self.files}: no required column")

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns, in declaration order."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        """Names of the optional columns, in declaration order."""
        return tuple(c.name for c in self.columns if not c.required)

    @property
    def word(self) -> str:
        """"column" (CSV, Parquet) or "field" (JSON Lines), for messages."""
        return "field" if self.format == "jsonl" else "column"

    def column(self, name: str) -> RawColumn:
        """The declared column `name`.

        Raises:
            KeyError: not a declared column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{name!r} is not a declared column of {self.files}")

    def example_cell(self, name: str) -> str:
        """Column `name`'s example as it appears in the file: the cell's text (CSV) or JSON."""
        value = self.column(name).example
        return str(value) if self.format == "csv" else json.dumps(value, ensure_ascii=False)

    def example_row(self) -> dict[str, Any]:
        """One example row holding every declared column, in declaration order."""
        return {c.name: c.example for c in self.columns}

    def example_text(self) -> str:
        """The example row as the file writes it: header and row lines (CSV) or one JSON object."""
        row = self.example_row()
        if self.format != "csv":
            return json.dumps(row, ensure_ascii=False)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(list(row))
        writer.writerow([str(v) for v in row.values()])
        return buffer.getvalue().rstrip("\n")

    def describe_missing(self, absent: Sequence[str], found: Iterable[str]) -> str:
        """The build error for a file of this kind without the required columns `absent`.

        Names the absent columns and those found, says what each absent one holds with an
        example, and points at the README section that lists every raw file's columns.
        """
        what = "; ".join(f"{name!r} holds {self.column(name).holds} (e.g. {self.example_cell(name)})" for name in absent)
        return (
            f"missing {self.word}(s) {list(absent)}; found {sorted(found)}. {what}. Every {self.word} this file needs "
            f"and may have: {self.listed_in}"
        )


def raw_files(benchmark: Any) -> tuple[tuple[RawFile, ...], str]:
    """A benchmark's declared raw files and layout paragraph: ``<package>.raw_columns``'s
    ``RAW_FILES`` and ``LAYOUT`` (``((), "")`` when the package declares none).

    Args:
        benchmark: a `vidret.benchmarks.Benchmark`.
    """
    try:
        module = importlib.import_module(f"{benchmark.package}.raw_columns")
    except ModuleNotFoundError as err:
        if err.name != f"{benchmark.package}.raw_columns":
            raise
        return (), ""
    return tuple(getattr(module, "RAW_FILES", ())), str(getattr(module, "LAYOUT", ""))


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell, as code."""
    return "`" + text.replace("|", "\\|") + "`"


def _wrap(text: str, indent: str = "") -> list[str]:
    """`text` as README lines of at most 100 characters (code spans may wrap: Markdown joins them)."""
    return textwrap.wrap(text.strip(), 100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


def _file_block(raw: RawFile) -> list[str]:
    names = ", ".join(f"`{f}`" for f in raw.files)
    lines = _wrap(f"**{names}** ({_FORMAT_NAMES[raw.format]}): {raw.holds}")
    lines += ["", f"| {raw.word} | | holds | example |", "|---|---|---|---|"]
    for c in raw.columns:
        lines.append(f"| `{c.name}` | {'required' if c.required else 'optional'} | {c.holds} | {_cell(raw.example_cell(c.name))} |")
    lines += ["", "```" + ("csv" if raw.format == "csv" else "json"), raw.example_text(), "```"]
    if raw.notes:
        lines += [""] + [line for note in raw.notes for line in _wrap(f"- {note}", "  ")]
    return lines + [""]


def readme_section(benchmarks: Iterable[Any] | None = None) -> str:
    """The README section "Bring your own release", heading included, rendered from the
    declarations of `benchmarks` (default: vidret's own registered benchmarks, in registry order)."""
    if benchmarks is None:
        from vidret.benchmarks.registry import registered

        benchmarks = [b for b in registered().values() if b.provider == "vidret"]
    lines = [
        f"## {README_SECTION}",
        "",
        "`vidret build` reads any folder laid out like a benchmark's published release: the official",
        "files, or your own (a subset, another split, new annotations) with the columns below. A file",
        "without a required column is refused, naming the file, the column and what it holds; columns not",
        "listed are ignored. This section is generated from each benchmark's `raw_columns.py`, the",
        "declarations the builders check (`python -m vidret.benchmarks.raw_files README.md` rewrites it).",
        "",
    ]
    for benchmark in benchmarks:
        files, layout = raw_files(benchmark)
        if not files:
            continue
        lines += [f"### {benchmark.short_title} (`vidret build {benchmark.benchmark}`)", ""]
        if layout:
            lines += [*_wrap(layout), ""]
        for raw in files:
            lines += _file_block(raw)
    return "\n".join(lines).rstrip("\n") + "\n"


def section_span(text: str) -> tuple[int, int] | None:
    """(start, end) of the section "Bring your own release" in a Markdown text: from its ``## ``
    heading to the next ``## `` heading (or the end); None when absent."""
    match = re.search(rf"^## {re.escape(README_SECTION)}\n", text, flags=re.M)
    if match is None:
        return None
    following = re.search(r"^## ", text[match.end() :], flags=re.M)
    end = match.end() + following.start() if following else len(text)
    return match.start(), end


def update_readme(path: str | Path) -> bool:
    """Rewrite the section in the Markdown file `path` from the declarations.

    Returns:
        Whether the file changed.

    Raises:
        ValueError: the file has no such section (add its heading where it belongs first).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    span = section_span(text)
    if span is None:
        raise ValueError(f"{path}: no '## {README_SECTION}' section to rewrite; add the heading first")
    start, end = span
    new = text[:start] + readme_section() + ("\n" if end < len(text) else "") + text[end:]
    if new == text:
        return False
    from vidret.common import atomic_write_text  # standard library only, like this module

    atomic_write_text(path, new)
    return True


if __name__ == "__main__":  # python -m vidret.benchmarks.raw_files README.md
    if len(sys.argv) != 2:
        print("usage: python -m vidret.benchmarks.raw_files README.md", file=sys.stderr)
        sys.exit(2)
    print(("rewrote" if update_readme(sys.argv[1]) else "up to date:") + f" {sys.argv[1]}")
