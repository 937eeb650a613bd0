"""What reading stored embeddings may cost, checked from each container's own metadata first.

A stored-embeddings file is untrusted input (a Hub export, a release downloaded from anywhere):
a 1 MB ``.pth`` can hold deflated zip entries that torch would inflate to gigabytes, and a 4 MB
Parquet shard can hold gigabytes of vectors. Before anything is read, the sizes the container
declares (zip entry sizes of a torch file, the shape × dtype in a ``.npy`` header or a safetensors
header, the row groups of a Parquet shard × the vector width) are checked against
`StoredLimits`, modelled on `vidret.builders.archive.ArchiveLimits`. What a reader holds in memory
at once is also bounded by what the run needs (ids asked × dimension × item size × a slack factor),
so a source far larger than the run's ids is refused by name rather than loaded.

Every refusal is an `EmbeddingSourceError`: one line naming the file, the size found, the limit and
how to raise it (``$VIDRET_EMBEDDINGS_MAX_GIB``). Its text is made terminal-safe
(`vidret.terminal.printable`), since file names and manifest entries come from the source.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vidret.terminal import printable

LIMITS_ENV = "VIDRET_EMBEDDINGS_MAX_GIB"
_GIB = 1 << 30
# The item size of each safetensors dtype, and of the float dtypes a .npy row may have.
SAFETENSORS_ITEM_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}


class EmbeddingSourceError(ValueError):
    """A source of stored embeddings cannot be read as asked (the file, id and fix are named).

    The message is made terminal-safe: it quotes file names, ids and manifest entries of the source.
    """

    def __init__(self, message: object) -> None:
        super().__init__(printable(message))


@dataclass(frozen=True)
class StoredLimits:
    """Bounds on what reading one stored-embeddings source may cost (exceeding one is refused).

    Attributes:
        max_bytes: bytes a source may hold in memory when it is read whole (a ``.pth`` dict whose
            entries cannot be mapped, an export's vectors); default 8 GiB.
        max_row_bytes: bytes of one id's stored tensor (per-frame (T, D) ones included), and of
            one row as float32; default 256 MiB.
        slack: a source read whole may hold at most `slack` × what the run needs (ids asked ×
            dimension × item size) once past `need_floor`; default 8.
        need_floor: bytes below which the need is not checked (small sources always pass); 1 GiB.
        max_ratio: uncompressed / compressed size of one zip entry of a torch file (torch.save
            never compresses; deflated zeros reach 1000:1); default 100.
        ratio_floor: entry size below which the ratio is not checked; default 1 MiB.
        max_index_bytes: a torch file's pickled index (``data.pkl``), an id list, a JSON file;
            default 256 MiB.
    """

    max_bytes: int = 8 * _GIB
    max_row_bytes: int = 256 << 20
    slack: float = 8.0
    need_floor: int = _GIB
    max_ratio: float = 100.0
    ratio_floor: int = 1 << 20
    max_index_bytes: int = 256 << 20

    @classmethod
    def from_env(cls) -> StoredLimits:
        """The defaults, or with ``$VIDRET_EMBEDDINGS_MAX_GIB=N``: N GiB read whole, whatever the run needs
        (and rows and indexes up to N GiB too, never less than their defaults).

        Raises:
            EmbeddingSourceError: the variable is not a positive number.
        """
        value = os.environ.get(LIMITS_ENV, "").strip()
        if not value:
            return cls()
        try:
            gib = float(value)
        except ValueError:
            gib = math.nan
        if not (0 < gib < 1 << 20):
            raise EmbeddingSourceError(f"${LIMITS_ENV}={value!r}: expected a number of GiB (e.g. 32)")
        size = int(gib * _GIB)
        default = cls()
        return replace(
            default,
            max_bytes=size,
            max_row_bytes=max(size, default.max_row_bytes),
            max_index_bytes=max(size, default.max_index_bytes),
            slack=math.inf,
        )


def size_text(n: float) -> str:
    """Bytes in words: ``512 B``, ``3.8 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop always returns


_RAISE = f"raise it with {LIMITS_ENV}=<GiB> if you trust the source"


def check_total(
    label: object, total: int, limits: StoredLimits, *, what: str, need: int | None = None, row_bytes: int | None = None
) -> None:
    """Refuse reading `total` bytes whole: over `max_bytes`, or (past `need_floor`) over `slack` × the need.

    Args:
        label: the file (named in the message).
        total: the bytes the container says it holds.
        limits: the limits.
        what: what the bytes are, for the message ("its tensors", "its vectors").
        need: ids the run asks of this source; None = not known (only `max_bytes` applies).
        row_bytes: bytes of one row as stored (dimension × item size); None = not known.

    Raises:
        EmbeddingSourceError: naming the file, the size, the limit and how to raise it.
    """
    if total > limits.max_bytes:
        raise EmbeddingSourceError(
            f"{label}: {what} take {size_text(total)} in memory; the limit is {size_text(limits.max_bytes)} ({_RAISE})"
        )
    if need is None or row_bytes is None or total <= limits.need_floor:
        return
    needed = max(need, 1) * max(row_bytes, 1)
    if total > needed * limits.slack:
        raise EmbeddingSourceError(
            f"{label}: {what} take {size_text(total)}, more than {limits.slack:g} × the {size_text(needed)} the run needs "
            f"({need} ids × {row_bytes} bytes a row): refused as a likely memory bomb ({_RAISE})"
        )


def check_row(label: object, nbytes: int, limits: StoredLimits, what: str = "one row") -> None:
    """Refuse one id's tensor over `max_row_bytes` (named with its size and the limit)."""
    if nbytes > limits.max_row_bytes:
        raise EmbeddingSourceError(
            f"{label}: {what} takes {size_text(nbytes)}; the limit is {size_text(limits.max_row_bytes)} a row ({_RAISE})"
        )


def check_file_size(path: Path, limit: int, what: str) -> None:
    """Refuse a file over `limit` bytes before reading it (an id list, a JSON file)."""
    size = path.stat().st_size
    if size > limit:
        raise EmbeddingSourceError(f"{path}: {size_text(size)} is too large for {what}; the limit is {size_text(limit)} ({_RAISE})")


def read_json(path: Path, what: str, limits: StoredLimits) -> Any:
    """A JSON file of the source, size-capped; a nesting too deep to parse is named, not a traceback."""
    check_file_size(path, limits.max_index_bytes, what)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmbeddingSourceError(f"{path}: not valid JSON for {what} ({err})") from None
    except RecursionError:
        raise EmbeddingSourceError(f"{path}: nested too deeply to be {what}") from None


def inside(path: Path, folder: Path) -> bool:
    """True when `path` (a link followed) stays inside `folder`, or inside the ``blobs/`` of the Hub
    cache repo whose snapshot `folder` is in (a Hub snapshot's files are links there)."""
    target = path.resolve()
    root = folder.resolve()
    if target.is_relative_to(root):
        return True
    for parent in root.parents:
        if parent.name == "snapshots":
            return target.is_relative_to(parent.parent / "blobs")
    return False


# ---- torch files ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TorchFileInfo:
    """What a torch file's zip directory says, before torch reads it.

    Attributes:
        zipped: the zip format (torch >= 1.6); False = the legacy format (one pickle stream).
        mappable: every entry is stored, not compressed (torch can map it instead of reading it).
        total: bytes the entries take uncompressed (the file size for the legacy format).
        storages: tensor storages (``<archive>/data/<n>`` entries); 0 when not known.
        storage_bytes: bytes of those storages.
    """

    zipped: bool
    mappable: bool
    total: int
    storages: int
    storage_bytes: int = 0

    @property
    def row_bytes(self) -> int | None:
        """Bytes of one storage on average: one row's, when each id has its own tensor."""
        return self.storage_bytes // self.storages if self.storages else None


def inspect_torch(path: Path, limits: StoredLimits) -> TorchFileInfo:
    """Check a torch file's zip directory against `limits` (nothing is inflated or unpickled).

    Raises:
        EmbeddingSourceError: not a torch file, an entry past the end of the file, a compressed
            entry expanding past `max_ratio`, a pickled index over `max_index_bytes`.
    """
    size = path.stat().st_size
    try:
        if not zipfile.is_zipfile(path):  # (it raises, too, for some damaged zips)
            # The legacy format reads its storages from the file as they are: no bigger than the file.
            return TorchFileInfo(zipped=False, mappable=False, total=size, storages=0)
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as err:
        raise EmbeddingSourceError(f"{path}: not a readable torch file (its zip directory: {err})") from None
    total = 0
    storages = 0
    storage_bytes = 0
    mappable = True
    pickles = [e for e in entries if e.filename.endswith("data.pkl")]
    if not pickles:
        raise EmbeddingSourceError(f"{path}: not a torch file (a zip without data.pkl)")
    for entry in entries:
        if entry.header_offset + entry.compress_size > size:
            raise EmbeddingSourceError(f"{path}: zip entry {entry.filename!r} ends past the end of the file (truncated?)")
        if entry.compress_type != zipfile.ZIP_STORED:
            mappable = False
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > limits.ratio_floor and ratio > limits.max_ratio:
                raise EmbeddingSourceError(
                    f"{path}: zip entry {entry.filename!r} inflates {ratio:.0f}:1 ({size_text(entry.file_size)} from "
                    f"{size_text(entry.compress_size)}; the limit is {limits.max_ratio:g}:1): a compression bomb? "
                    "torch.save never compresses: save the tensors again with torch.save"
                )
        elif entry.file_size != entry.compress_size:
            raise EmbeddingSourceError(f"{path}: zip entry {entry.filename!r} is stored with two different sizes")
        if "/data/" in entry.filename:
            storages += 1
            storage_bytes += entry.file_size
        total += entry.file_size
    for entry in pickles:
        if entry.file_size > limits.max_index_bytes:
            raise EmbeddingSourceError(
                f"{path}: its pickled index {entry.filename!r} takes {size_text(entry.file_size)}; the limit is "
                f"{size_text(limits.max_index_bytes)} ({_RAISE})"
            )
    return TorchFileInfo(zipped=True, mappable=mappable, total=total, storages=storages, storage_bytes=storage_bytes)


# ---- .npy ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NpyHeader:
    """A ``.npy`` header, read without numpy's loader: shape, dtype, where the data starts."""

    shape: tuple[int, ...]
    dtype: Any
    fortran_order: bool
    offset: int


def read_npy_header(path: Path) -> NpyHeader:
    """Parse a ``.npy`` header and check the data it declares is exactly what the file holds.

    Raises:
        EmbeddingSourceError: not a ``.npy`` file (a ``.npz`` renamed, another format), a header
            that does not parse, or a size that differs from the file's.
    """
    import numpy as np
    from numpy.lib import format as npformat

    with open(path, "rb") as fh:
        start = fh.read(6)
        if start != b"\x93NUMPY":
            hint = " (a zip: a .npz renamed .npy? give the arrays as .npy + ids)" if start[:2] == b"PK" else ""
            raise EmbeddingSourceError(f"{path}: not a .npy file{hint}")
        fh.seek(0)
        try:
            version = npformat.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = npformat.read_array_header_2_0(fh)
            else:
                raise ValueError(f"format version {version[0]}.{version[1]}; expected 1.0 or 2.0")
        except Exception as err:  # noqa: BLE001 - numpy raises ValueError, SyntaxError, tokenize errors for a bad header
            raise EmbeddingSourceError(f"{path}: not a readable .npy header ({type(err).__name__}: {err})") from None
        offset = fh.tell()
    if dtype.hasobject:
        raise EmbeddingSourceError(f"{path}: not a plain numeric .npy array (dtype {dtype} holds pickled Python objects)")
    declared = math.prod(shape) * dtype.itemsize
    held = path.stat().st_size - offset
    if declared != held:
        raise EmbeddingSourceError(
            f"{path}: its header says shape {shape} of {dtype} ({declared} bytes) but the file holds {held} bytes of data "
            "(truncated or altered?)"
        )
    return NpyHeader(tuple(int(d) for d in shape), np.dtype(dtype), bool(fortran), offset)


# ---- export shards ---------------------------------------------------------------------------------
_SHARD_COLUMNS = ("id", "kind", "embedding", "truncated")


def export_vectors(paths: list[Path]) -> tuple[int, int, int | None]:
    """(rows, bytes in memory, bytes of one vector) of export shards, from their Parquet footers only.

    The bytes are the read columns' declared uncompressed sizes, and at least rows × width × item
    size for the vectors (what the decoded arrays hold, however the pages are encoded).

    Raises:
        EmbeddingSourceError: a footer that does not read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    total = 0
    row_bytes: int | None = None
    for path in paths:
        try:
            meta = pq.ParquetFile(path).metadata
            schema = meta.schema.to_arrow_schema()
            names = [meta.schema.column(i).path.split(".")[0] for i in range(meta.num_columns)]
            vector = schema.field("embedding").type if "embedding" in schema.names else None
            width = vector.list_size if isinstance(vector, pa.FixedSizeListType) else None
            item = vector.value_type.bit_width // 8 if width is not None and pa.types.is_floating(vector.value_type) else 4
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(meta.num_columns):
                    declared = group.column(c).total_uncompressed_size if names[c] in _SHARD_COLUMNS else 0
                    decoded = group.num_rows * width * item if names[c] == "embedding" and width is not None else 0
                    total += max(declared, decoded)
                rows += group.num_rows
        except EmbeddingSourceError:
            raise
        except Exception as err:  # noqa: BLE001 - pyarrow raises many types for a bad footer
            raise EmbeddingSourceError(f"{path}: not a readable export shard ({type(err).__name__}: {err})") from None
        if width is not None:
            row_bytes = width * 4  # read as float32 rows
    return rows, total, row_bytes


def check_export_shards(paths: list[Path], limits: StoredLimits, need: int | None, label: object = None) -> None:
    """Refuse export shards whose vectors (from the footers) exceed `limits` or the run's need.

    Args:
        paths: the shards (their footers are read, nothing else).
        limits: the limits.
        need: ids the run asks of the export; None = not known.
        label: what to name (default: the shard, or the folder of several).
    """
    if not paths:
        return
    rows, total, row_bytes = export_vectors(paths)
    where = label if label is not None else (paths[0] if len(paths) == 1 else paths[0].parent)
    check_total(where, total, limits, what=f"the {rows} rows of its Parquet shards", need=need, row_bytes=row_bytes)
