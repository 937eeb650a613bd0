"""Reading and checking the raw annotation tables (Parquet, CSV); every error names file and row."""

from __future__ import annotations

import ast
import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vidret.builders.config import BuildError


def read_parquet_rows(path: Path, required: Sequence[str]) -> list[dict[str, Any]]:
    """All rows of a Parquet file as dicts, after checking its columns.

    Args:
        path: the Parquet file.
        required: columns that must be present.

    Returns:
        The rows, in file order.

    Raises:
        BuildError: the file is absent, unreadable, or lacks a required column.
    """
    import pyarrow.parquet as pq

    if not path.is_file():
        raise BuildError("file not found", file=path)
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise BuildError(f"not a readable Parquet file ({type(err).__name__}: {err})", file=path) from err
    check_columns(table.column_names, required, path)
    return table.to_pylist()


def read_csv_rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """All rows of a CSV file (UTF-8, optional BOM) as dicts of strings, after checking its header.

    Raises:
        BuildError: the file is absent, is not UTF-8 or not valid CSV (naming the data row),
            has no header, or lacks a required column.
    """
    if not path.is_file():
        raise BuildError("file not found", file=path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1  # the header is line 1, data row n is line n + 1
        raise BuildError(f"not UTF-8 text ({err.reason} at byte {err.start})", file=path, row=line - 1 or None) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[dict[str, str]] = []
    try:
        if reader.fieldnames is None:
            raise BuildError("empty file (no header row)", file=path)
        check_columns([c.strip() for c in reader.fieldnames], required, path)
        for row in reader:
            rows.append({(k or "").strip(): v for k, v in row.items()})
    except csv.Error as err:
        raise BuildError(f"not valid CSV ({err})", file=path, row=len(rows) + 1) from None
    return rows


def check_columns(columns: Iterable[str], required: Sequence[str], path: os.PathLike | str) -> None:
    """Raise BuildError naming `path` and the absent columns, if any are absent."""
    present = set(columns)
    absent = [c for c in required if c not in present]
    if absent:
        raise BuildError(f"missing column(s) {absent}; found {sorted(present)}", file=path)


def require_text(value: Any, column: str, path: os.PathLike | str, row: int) -> str:
    """The stripped text of a cell; raises BuildError when it is null or blank."""
    if value is None or (isinstance(value, float) and value != value):
        raise BuildError(f"empty {column!r}", file=path, row=row)
    text = str(value).strip()
    if not text:
        raise BuildError(f"empty {column!r}", file=path, row=row)
    return text


def optional_text(value: Any) -> str | None:
    """Text of an optional cell: None stays None; dicts/lists become sorted-key JSON (deterministic)."""
    import json

    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value).strip()
    return text or None


def require_int(value: Any, column: str, path: os.PathLike | str, row: int) -> int:
    """An integer cell (ints, integral floats, digit strings); raises BuildError otherwise."""
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            return int(value)
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise BuildError(f"{column!r} must be an integer, got {value!r}", file=path, row=row) from None


def check_unique(keys: Iterable[Any], what: str, path: os.PathLike | str) -> None:
    """Raise BuildError at the first repeated key, naming both rows (1-based)."""
    seen: dict[Any, int] = {}
    for row, key in enumerate(keys, start=1):
        if key in seen:
            raise BuildError(f"duplicate {what} {key!r} (first seen in row {seen[key]})", file=path, row=row)
        seen[key] = row


def parse_literal(text: str, expected: type, column: str, path: os.PathLike | str, row: int) -> Any:
    """Parse a Python literal cell with `ast.literal_eval` (never `eval`) and check its type.

    Raises:
        BuildError: not a literal, or not of the `expected` type.
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
        raise BuildError(f"{column!r} is not a Python literal ({type(err).__name__}): {text[:80]!r}", file=path, row=row) from None
    if not isinstance(value, expected):
        raise BuildError(
            f"{column!r} must be a {expected.__name__} literal, got {type(value).__name__}: {text[:80]!r}",
            file=path,
            row=row,
        )
    return value


def safe_relative_path(value: str, column: str, path: os.PathLike | str, row: int) -> str:
    """A path from release metadata, normalised to POSIX; it must stay inside the release folder.

    Raises:
        BuildError: the path is absolute or contains ``..`` (it would point outside RAW).
    """
    text = str(value).strip().replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise BuildError(f"{column!r} must be a relative path inside the release folder, got {value!r}", file=path, row=row)
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BuildError(f"{column!r} must not contain '..' (it must point inside the release folder), got {value!r}", file=path, row=row)
    if not parts:
        raise BuildError(f"empty {column!r}", file=path, row=row)
    return "/".join(parts)


def video_stem(value: str) -> str:
    """A video reference without folder and without a trailing ``.mp4``."""
    name = str(value).strip().replace("\\", "/").rsplit("/", 1)[-1]
    return name[:-4] if name.lower().endswith(".mp4") else name
