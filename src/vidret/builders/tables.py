"""Reading and checking the raw annotation tables (Parquet, CSV, JSON Lines); every error names file and row.

The required columns are a list of names or, for a benchmark's own files, its `RawFile`
declaration (`vidret.benchmarks.raw_files`): then a missing column is reported with what it
holds, an example and the README section listing every raw file's columns.
"""

from __future__ import annotations

import ast
import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vidret import common
from vidret.benchmarks.raw_files import RawFile
from vidret.builders.config import BuildError

#: Required columns: their names, or a benchmark's declaration of the file.
Required = Sequence[str] | RawFile


def read_parquet_rows(path: Path, required: Required) -> list[dict[str, Any]]:
    """All rows of a Parquet file as dicts, after checking its columns.

    Args:
        path: the Parquet file.
        required: columns that must be present (names, or the file's `RawFile` declaration).

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


def read_csv_rows(path: Path, required: Required) -> list[dict[str, str]]:
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


def check_columns(
    columns: Iterable[str], required: Required, path: os.PathLike | str, row: int | None = None, word: str = "column"
) -> None:
    """Raise BuildError naming `path` (and `row`) and the absent columns, if any are absent.

    With a `RawFile` as `required` the message also says what each absent column holds, with an
    example, and points at the README section listing every raw file's columns; with names, it
    calls them `word`s ("field" for JSON Lines).
    """
    present = set(columns)
    names = required.required if isinstance(required, RawFile) else tuple(required)
    absent = [c for c in names if c not in present]
    if absent:
        if isinstance(required, RawFile):
            raise BuildError(required.describe_missing(absent, present), file=path, row=row)
        raise BuildError(f"missing {word}(s) {absent}; found {sorted(present)}", file=path, row=row)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def require_text(value: Any, column: str, path: os.PathLike | str, row: int) -> str:
    """The stripped text of a cell.

    Only text is accepted: a binary, list or number cell would otherwise become its Python repr
    (``"b'caf\\xe9'"``) in the built dataset.

    Raises:
        BuildError: the cell is null, blank or not a string (naming file, row and type).
    """
    if _is_null(value):
        raise BuildError(f"empty {column!r}", file=path, row=row)
    if not isinstance(value, str):
        raise BuildError(f"{column!r} must be text, got {type(value).__name__}: {_preview(value)}", file=path, row=row)
    text = value.strip()
    if not text:
        raise BuildError(f"empty {column!r}", file=path, row=row)
    return text


def optional_text(value: Any, column: str = "", path: os.PathLike | str | None = None, row: int | None = None) -> str | None:
    """Text of an optional cell: None stays None; dicts/lists become sorted-key JSON (deterministic).

    Raises:
        BuildError: a binary cell (its repr would be stored as text), naming file, row and type.
    """
    import json

    if _is_null(value):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise BuildError(f"{column!r} must be text, got {type(value).__name__}: {_preview(value)}", file=path, row=row)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    text = str(value).strip()
    return text or None


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


def safe_component(value: str, what: str, path: os.PathLike | str, row: int) -> str:
    """`value` when it is one safe path component (see `vidret.common.is_safe_component`).

    Ids that become file names (LoVR video and clip ids, TF-CoVR video stems) go through this:
    a ``vid`` of ``../../x`` would otherwise write ``videos/../../x.mp4`` outside the output folder.

    Raises:
        BuildError: naming file, row and the value.
    """
    try:
        return common.safe_component(value, what)
    except ValueError as err:
        raise BuildError(f"{err}; refusing it", file=path, row=row) from None


def video_id_of(value: str, column: str, path: os.PathLike | str, row: int) -> str:
    """A video id from a cell naming one video file: ``<id>`` or ``<id>.mp4``, never a folder path.

    Raises:
        BuildError: the id is not one safe path component.
    """
    text = str(value).strip()
    stem = text[:-4] if text.lower().endswith(".mp4") else text
    return safe_component(stem, f"{column!r} value", path, row)


def clip_file_parts(value: str, column: str, path: os.PathLike | str, row: int) -> tuple[str | None, str]:
    """``(folder, clip id)`` from a clip path: its last two components ``<vid>/<clip>.mp4``.

    Only the end of the path matters (the authors' files hold absolute paths of their cluster):
    the folder (the video id, or None for a bare file name) and the clip id (file name without
    ``.mp4``). Both must be safe path components.

    Raises:
        BuildError: an empty path, or a folder or clip id that is not a safe path component.
    """
    parts = [p for p in str(value).strip().replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        raise BuildError(f"empty {column!r}", file=path, row=row)
    name = parts[-1]
    clip_id = safe_component(name[:-4] if name.lower().endswith(".mp4") else name, f"{column!r} clip name", path, row)
    folder = safe_component(parts[-2], f"{column!r} folder", path, row) if len(parts) > 1 else None
    return folder, clip_id


def read_jsonl_rows(path: Path, required: Required) -> list[dict[str, Any]]:
    """All rows of a JSON Lines file (one object per line; blank lines skipped).

    Raises:
        BuildError: the file is absent, not UTF-8, a line is not a JSON object (naming the row),
            or a row lacks a required field.
    """
    import json

    if not path.is_file():
        raise BuildError("file not found", file=path)
    rows: list[dict[str, Any]] = []
    with open(path, "rb") as f:
        for line_number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8-sig" if line_number == 1 else "utf-8").strip()
            except UnicodeDecodeError as err:
                raise BuildError(f"not UTF-8 text ({err.reason})", file=path, row=line_number) from None
            if not line:
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError) as err:
                raise BuildError(f"not a JSON object ({type(err).__name__}: {err})", file=path, row=line_number) from None
            if not isinstance(value, dict):
                raise BuildError(f"not a JSON object (got {type(value).__name__})", file=path, row=line_number)
            check_columns(value, required, path, row=line_number, word="field")
            rows.append(value)
    if not rows:
        raise BuildError("empty file (no JSON lines)", file=path)
    return rows


def video_stem(value: str) -> str:
    """A video reference without folder and without a trailing ``.mp4`` (no safety check: for
    matching names, never for building paths; builders use `video_id_of`)."""
    name = str(value).strip().replace("\\", "/").rsplit("/", 1)[-1]
    return name[:-4] if name.lower().endswith(".mp4") else name
