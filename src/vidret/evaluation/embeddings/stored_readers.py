"""The readers of stored embeddings, one per format (`vidret.evaluation.embeddings.stored` picks one).

Each reader names its file in every error and checks what it will hold in memory against
`StoredLimits` from the container's own metadata before reading (see `stored_limits`). A
file's bytes are never trusted: whatever a library raises on a corrupt file becomes one
`EmbeddingSourceError` naming it, never a traceback.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidret.common import atomic_path, sha256_file
from vidret.evaluation.embeddings.stored_limits import (
    SAFETENSORS_ITEM_BYTES,
    EmbeddingSourceError,
    StoredLimits,
    check_export_shards,
    check_file_size,
    check_row,
    check_total,
    inside,
    inspect_torch,
    read_json,
    read_npy_header,
)

logger = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".pkl", ".pickle")
TORCH_SUFFIXES = (".pt", ".pth")


# ---- readers ---------------------------------------------------------------------------------------
class Reader:
    """The entries of one stored source: ids (with kinds when the source knows them) and their rows.

    Attributes:
        label: the file, folder or repo (named in every message).
        ids: entry ids.
        kinds: entry kinds (an export), or None (released files: kindless).
        truncated: ids of text entries the model truncated (an export), else empty.
        metadata: an export's `embeddings.json`, else None.
        limits: what reading may cost.
        need: ids the run asks of this source (None until known): bounds what is read whole.
    """

    label: str
    ids: list[str]
    kinds: list[str] | None = None
    truncated: set[str] = set()
    metadata: dict[str, Any] | None = None
    limits: StoredLimits = StoredLimits()
    need: int | None = None

    def expect(self, need: int) -> None:
        """Say how many ids the run will ask (before `ids` is first read)."""
        self.need = need

    def load(self, indices: Sequence[int]) -> list[Any]:
        """The raw rows (tensors or arrays) of the entries at `indices`."""
        raise NotImplementedError

    def provenance(self) -> dict[str, Any]:
        """Where the rows came from: format, path or repo, checksums of what was read."""
        raise NotImplementedError


class ExportReader(Reader):
    """A folder written by `vidret embeddings export` (checked against its manifest).

    Its metadata is read at once; its rows when first needed, once the run has said how many
    ids it asks (`expect`), after the shards' sizes are checked from their Parquet footers.
    """

    def __init__(self, folder: Path, hub: dict[str, Any] | None = None, limits: StoredLimits | None = None) -> None:
        from vidret.evaluation.embeddings.export import ExportError, read_export_metadata

        self.folder = folder
        self.limits = limits or StoredLimits()
        self.label = f"{hub['repo']}@{hub['revision'] or 'main'}" if hub else str(folder)
        try:
            self.metadata = read_export_metadata(folder)
        except ExportError as err:
            raise EmbeddingSourceError(str(err)) from None
        self.hub = hub
        self._table: Any = None

    @property
    def table(self) -> Any:
        """The export's rows (`ExportedTable`), read on first use within the limits and the need."""
        if self._table is None:
            from vidret.evaluation.embeddings.export import ExportError, read_export

            def check(paths: list[Path]) -> None:
                check_export_shards(paths, self.limits, self.need, label=self.label)

            try:
                self._table = read_export(self.folder, check_shards=check)
            except ExportError as err:
                raise EmbeddingSourceError(str(err)) from None
            except MemoryError:
                raise EmbeddingSourceError(f"{self.label}: its shards do not fit in memory") from None
            self.metadata = self._table.metadata
        return self._table

    @property
    def ids(self) -> list[str]:  # type: ignore[override]
        return self.table.ids

    @property
    def kinds(self) -> list[str]:  # type: ignore[override]
        return self.table.kinds

    @property
    def truncated(self) -> set[str]:  # type: ignore[override]
        return self.table.truncated

    def load(self, indices: Sequence[int]) -> list[Any]:
        return [self.table.embeddings[i] for i in indices]

    def provenance(self) -> dict[str, Any]:
        meta = self.metadata or {}
        out = {
            "format": "export",
            "manifest_sha256": self.table.digest,
            "model": (meta.get("model") or {}).get("id"),
            "dataset": meta.get("dataset"),
            "dtype": meta.get("dtype"),
        }
        if self.hub:
            return {"source": "hub", **self.hub, **out}
        return {"source": "export", "path": str(self.table.folder), **out}


class PthFolderReader(Reader):
    """A folder of ``<id>.pth`` / ``<id>.pt`` files, one tensor each; only the files needed are read."""

    def __init__(self, folder: Path, limits: StoredLimits | None = None) -> None:
        self.label = str(folder)
        self.limits = limits or StoredLimits()
        files: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix not in TORCH_SUFFIXES:
                continue
            if path.is_symlink() and not inside(path, folder):
                raise EmbeddingSourceError(f"{path}: a link to {path.resolve()}, outside {folder}: refused (copy the file in)")
            if not path.is_file():
                continue
            if path.stem in files:
                raise EmbeddingSourceError(f"{folder}: id {path.stem!r} has two files ({files[path.stem].name}, {path.name})")
            files[path.stem] = path
        if not files:
            raise EmbeddingSourceError(
                f"{folder}: no embeddings found (expected an export's embeddings.json, or <id>.pth files)"
            )
        self.files = files
        self.ids = list(files)
        self.read_digests: dict[str, str] = {}

    def load(self, indices: Sequence[int]) -> list[Any]:
        out = []
        for i in indices:
            path = self.files[self.ids[i]]
            info = inspect_torch(path, self.limits)
            check_row(path, info.total, self.limits, "its tensor")  # one id's file holds one row
            self.read_digests[path.name] = sha256_file(path)
            out.append(load_torch(path))
        return out

    def provenance(self) -> dict[str, Any]:
        digest = hashlib.sha256("".join(f"{n} {d}\n" for n, d in sorted(self.read_digests.items())).encode()).hexdigest()
        return {
            "source": "files",
            "format": "pth-folder",
            "path": self.label,
            "files_read": len(self.read_digests),
            "sha256": digest,
            "sha256_of": "the lines '<file name> <sha256>' of the files read, sorted",
        }


class SingleFileReader(Reader):
    """A file that holds every entry: a torch dict, safetensors, or .npy with an id list."""

    format = "file"

    def __init__(self, path: Path, limits: StoredLimits | None = None, need: int | None = None) -> None:
        self.path = path
        self.label = str(path)
        self.limits = limits or StoredLimits()
        self.need = need
        self.digest = sha256_file(path)
        self.ids, self._rows = self._read(path)

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        raise NotImplementedError

    def load(self, indices: Sequence[int]) -> list[Any]:
        return [self._rows(i) for i in indices]

    def provenance(self) -> dict[str, Any]:
        return {"source": "files", "format": self.format, "path": self.label, "sha256": self.digest}


class TorchDictReader(SingleFileReader):
    """A ``.pt`` / ``.pth`` file holding a dict id → tensor (``torch.load(weights_only=True)``).

    A file torch wrote (stored zip entries) is mapped, so only the rows asked for are read; one
    whose entries are compressed, or in the legacy format, is read whole, within the limits.
    """

    format = "torch-dict"

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        info = inspect_torch(path, self.limits)
        if not info.mappable:
            check_total(path, info.total, self.limits, what="its tensors", need=self.need, row_bytes=info.row_bytes)
        data = load_torch(path, mmap=info.mappable)
        if not isinstance(data, dict):
            raise EmbeddingSourceError(
                f"{path}: holds a {type(data).__name__}, not a dict id → tensor "
                "(a folder of <id>.pth files is read by giving the folder)"
            )
        ids = _string_ids(data.keys(), path)
        values = list(data.values())
        return ids, values.__getitem__


class SafetensorsReader(SingleFileReader):
    """A ``.safetensors`` file: one tensor per id (read lazily, only the ids needed, each size-checked first)."""

    format = "safetensors"

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        from safetensors import safe_open

        try:
            handle = safe_open(str(path), framework="pt")
            ids = list(handle.keys())
        except Exception as err:  # noqa: BLE001 - SafetensorError, OSError, ValueError... for a bad file
            raise EmbeddingSourceError(f"{path}: not a readable safetensors file ({err})") from None
        self._handle = handle

        def row(i: int) -> Any:
            try:
                view = handle.get_slice(ids[i])
                shape, dtype = view.get_shape(), view.get_dtype()
                size = int(np.prod(shape, dtype=object)) * SAFETENSORS_ITEM_BYTES.get(dtype, 8)
                check_row(f"{path}: id {ids[i]!r}", size, self.limits, f"its {dtype} tensor of shape {tuple(shape)}")
                return handle.get_tensor(ids[i])
            except EmbeddingSourceError:
                raise
            except Exception as err:  # noqa: BLE001 - a tensor the header misdescribes
                raise EmbeddingSourceError(f"{path}: id {ids[i]!r} is not readable ({err})") from None

        return ids, row


class NpyReader(SingleFileReader):
    """A ``.npy`` (N, D) array with its ids in ``<stem>.ids.txt`` / ``<stem>.ids.json`` (mapped, not read whole)."""

    format = "npy"

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        ids_file = npy_ids_file(path)
        if ids_file.suffix == ".json":
            raw = read_json(ids_file, "a JSON list of ids", self.limits)
            if not isinstance(raw, list):
                raise EmbeddingSourceError(f"{ids_file}: not a JSON list of ids")
            ids = _string_ids(raw, ids_file)
        else:
            check_file_size(ids_file, self.limits.max_index_bytes, "an id list")
            try:
                text = ids_file.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                raise EmbeddingSourceError(f"{ids_file}: not UTF-8 text ({err})") from None
            ids = [line.strip() for line in text.splitlines() if line.strip()]
        header = read_npy_header(path)
        if len(header.shape) != 2 or header.shape[0] != len(ids):
            raise EmbeddingSourceError(
                f"{path}: shape {header.shape} but {ids_file.name} lists {len(ids)} ids; expected ({len(ids)}, D)"
            )
        if header.dtype.kind != "f":
            raise EmbeddingSourceError(f"{path}: dtype {header.dtype}; embeddings must be floating point")
        check_row(path, header.shape[1] * header.dtype.itemsize, self.limits)
        try:
            array = np.load(path, allow_pickle=False, mmap_mode="r")
        except Exception as err:  # noqa: BLE001 - the header was checked; anything left is a bad file
            raise EmbeddingSourceError(f"{path}: not a plain numeric .npy array ({err})") from None
        self.ids_digest = sha256_file(ids_file)
        return ids, array.__getitem__

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "ids_sha256": self.ids_digest}


def npy_ids_file(path: Path) -> Path:
    """The id list of a ``.npy`` source: ``<stem>.ids.txt`` or ``<stem>.ids.json`` beside it.

    Raises:
        EmbeddingSourceError: neither exists, or it is a link out of the ``.npy``'s folder.
    """
    for suffix in (".ids.txt", ".ids.json"):
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_symlink() and not inside(candidate, path.parent):
            raise EmbeddingSourceError(f"{candidate}: a link to {candidate.resolve()}, outside {path.parent}: refused")
        if candidate.is_file():
            return candidate
    raise EmbeddingSourceError(f"{path}: no id list beside it; write one id per row to {path.stem}.ids.txt")


class PickleStreamReader(SafetensorsReader):
    """A TF-CoVR pickle stream, converted once into ``<convert_dir>/<sha256>.safetensors``."""

    format = "pickle-stream"

    def __init__(self, path: Path, convert_dir: Path, limits: StoredLimits | None = None) -> None:
        self.source = path
        self.source_digest = sha256_file(path)
        converted = convert_dir / f"{self.source_digest}.safetensors"
        if not converted.is_file():
            convert_pickle_stream(path, converted)
        else:
            logger.info("%s: reading its conversion %s", path, converted)
        super().__init__(converted, limits)

    def provenance(self) -> dict[str, Any]:
        return {
            "source": "files",
            "format": self.format,
            "path": str(self.source),
            "sha256": self.source_digest,
            "converted": self.label,
            "converted_sha256": self.digest,
        }


def load_torch(path: Path, mmap: bool = False) -> Any:
    """``torch.load(path, weights_only=True)``; any failure is one error naming the file.

    Call `inspect_torch` first: it checks the sizes the file declares.
    """
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # a damaged file's warnings ("pickle protocol 33") say less than our error
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        raise EmbeddingSourceError(
            f"{path}: torch.load(weights_only=True) refused it: it holds objects other than tensors "
            f"(code would run to rebuild them). ({str(err).splitlines()[0]})"
        ) from None
    except MemoryError:
        raise EmbeddingSourceError(f"{path}: its tensors do not fit in memory") from None
    except Exception as err:  # noqa: BLE001 - a corrupt file raises IndexError, KeyError, RuntimeError, ...
        first = str(err).splitlines()[0] if str(err) else ""
        raise EmbeddingSourceError(f"{path}: not a readable torch file ({type(err).__name__}: {first})") from None


def _string_ids(keys: Any, path: Path) -> list[str]:
    ids = []
    for key in keys:
        if not isinstance(key, str) or not key:
            raise EmbeddingSourceError(f"{path}: id {_short_repr(key)} ({type(key).__name__}) is not a non-empty string")
        ids.append(key)
    return ids


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = "<nested too deeply to show>"
    return text if len(text) <= 80 else text[:77] + "..."


def convert_pickle_stream(path: Path, out: Path) -> int:
    """Convert a stream of pickled ``{id: tensor}`` dicts into one safetensors file.

    This UNPICKLES `path`, which runs whatever code it names: call it only for a file the user
    asked to read with ``--allow-pickle``.

    Args:
        path: the pickle stream (several pickled dicts one after another).
        out: the ``.safetensors`` file to write (atomically).

    Returns:
        The number of ids written.

    Raises:
        EmbeddingSourceError: an item that is not a dict, an id given twice, a value that is
            not a tensor/array, an unreadable stream.
    """
    import pickle

    import torch
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    logger.warning("unpickling %s (--allow-pickle: it may run code) to convert it to %s", path, out)
    with open(path, "rb") as fh:
        n = 0
        while True:
            try:
                item = pickle.load(fh)  # noqa: S301 - only with --allow-pickle, see the docstring
            except EOFError:  # (only between items: a cut item raises UnpicklingError)
                break
            except Exception as err:  # noqa: BLE001 - garbage unpickles into any error
                raise EmbeddingSourceError(f"{path}: pickled item {n} is unreadable ({type(err).__name__}: {err})") from None
            if not isinstance(item, dict):
                raise EmbeddingSourceError(f"{path}: pickled item {n} is a {type(item).__name__}, not a dict id → tensor")
            for key, value in item.items():
                if not isinstance(key, str) or not key:
                    raise EmbeddingSourceError(f"{path}: id {_short_repr(key)} ({type(key).__name__}) is not a non-empty string")
                if key in tensors:
                    raise EmbeddingSourceError(f"{path}: id {key!r} appears twice in the stream")
                if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
                    value = torch.from_numpy(np.array(value))
                if not isinstance(value, torch.Tensor) or value.layout != torch.strided:
                    raise EmbeddingSourceError(f"{path}: id {key!r} holds a {type(value).__name__}, not a tensor")
                tensors[key] = value.detach().cpu().contiguous().clone()
            n += 1
    if not tensors:
        raise EmbeddingSourceError(f"{path}: the pickle stream holds no embeddings")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        save_file(tensors, str(tmp), metadata={"converted_from": path.name})
    return len(tensors)
