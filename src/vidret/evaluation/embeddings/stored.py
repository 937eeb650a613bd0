"""Stored embeddings as an `EmbeddingSource`: exports (a folder or Hub dataset) and released files.

``vidret evaluate --embeddings SRC`` reads SRC in the first format that fits (`FORMATS`):

- a folder holding ``embeddings.json``: an export written by ``vidret embeddings export``;
- a Hub dataset id ``org/name`` or ``org/name@revision``: such an export on the Hub;
- a folder of ``<id>.pth`` / ``<id>.pt`` files, one tensor each (TF-CoVR ``Embeddings/AIM/``);
- a ``.pt`` / ``.pth`` file holding a dict id → tensor;
- a ``.safetensors`` file, one tensor per id (the key is the id);
- a ``.npy`` file (N, D) with its ids, one per line, in ``<stem>.ids.txt`` (or a JSON list in
  ``<stem>.ids.json``) next to it;
- a ``.pkl`` / ``.pickle`` stream of pickled ``{id: tensor}`` dicts (TF-CoVR
  ``aim_embeddings_12f_all_files.pkl``). Unpickling runs code, so it is read only with
  ``allow_pickle`` and converted once into a ``.safetensors`` file that later runs read instead.

``.pt`` / ``.pth`` files load with ``torch.load(weights_only=True)``; ``.npy`` with
``allow_pickle=False``. Nothing else is ever unpickled.

Ids. An export names its rows as the dataset names them, with a kind; they match exactly. In
released files an id is matched to the dataset's video id (TF-CoVR: the clip stem, e.g.
``01_12``; LoVR: the clip id, or a window ``<video_id>@<start>-<end>``); an id written as a file
name or path (``videos/01_12.mp4``) matches by its stem when that is unambiguous. A text matches
by its content id (``text:<sha1>``) or by the text itself. Ids of the source that the run does not
need (another split's videos) are counted, not errors; a source none of whose ids match is.

Rows. Each must be one float vector (float16, bfloat16, float32 or float64; read as float32)
with every value finite and not all zero, and all rows of a source must have one dimension. A
(1, D) row is squeezed; per-frame (T, D) or per-token (T, Q, D) tensors are averaged over every
axis but the last only when asked (``pool="mean"``). Each error names the file and the id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidret.evaluation.running.distributed import ProcessInfo
from vidret.evaluation.embeddings.sources import SIDES, EmbeddingSource, EmbeddingUnit, Progress

logger = logging.getLogger(__name__)

POOL_CHOICES = ("mean",)
PICKLE_SUFFIXES = (".pkl", ".pickle")
TORCH_SUFFIXES = (".pt", ".pth")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")
_FLOAT_TORCH = ("float16", "bfloat16", "float32", "float64")


class EmbeddingSourceError(ValueError):
    """A source of stored embeddings cannot be read as asked (the file, id and fix are named)."""


# ---- --embeddings [SIDE=]SRC ---------------------------------------------------------------------
def parse_embedding_specs(values: str | Sequence[str] | None) -> dict[str, str]:
    """``--embeddings`` values as side → SRC: ``SRC`` is every side, ``videos=SRC`` one side.

    Args:
        values: the values given (one string or several); None = no stored embeddings.

    Returns:
        Side ("texts", "videos", "composed") → SRC.

    Raises:
        EmbeddingSourceError: an empty value, an unknown side, or a side given twice.
    """
    if values is None:
        return {}
    items = [values] if isinstance(values, str) else list(values)
    sides: dict[str, str] = {}
    for value in items:
        side, sep, src = str(value).partition("=")
        if not sep:
            side, src = "", str(value)
        src = src.strip()
        if not src:
            raise EmbeddingSourceError(f"--embeddings {value!r}: no source given")
        names = list(SIDES) if not side else [side.strip()]
        for name in names:
            if name not in SIDES:
                raise EmbeddingSourceError(
                    f"--embeddings {value!r}: unknown side {name!r}; use SRC for every side or one of "
                    f"{', '.join(f'{s}=SRC' for s in SIDES)}"
                )
            if name in sides:
                raise EmbeddingSourceError(f"--embeddings gives the {name} side twice ({sides[name]!r} and {src!r})")
            sides[name] = src
    return sides


# ---- the row checks ------------------------------------------------------------------------------
def to_vector(value: Any, where: str, pool: str | None = None) -> np.ndarray:
    """One stored embedding as a float32 (D,) vector, checked.

    Args:
        value: a torch tensor or numpy array.
        where: the file and id, for messages (``"AIM/x.pth: id 'x'"``).
        pool: "mean" to average per-frame / per-token tensors over every axis but the last.

    Returns:
        The vector.

    Raises:
        EmbeddingSourceError: not a tensor/array, a non-float dtype, a shape that is not one
            vector (unless pooled), a NaN/inf value, or an all-zero vector.
    """
    if hasattr(value, "detach") and hasattr(value, "dtype"):  # a torch tensor
        dtype = str(value.dtype).replace("torch.", "")
        if dtype not in _FLOAT_TORCH:
            raise EmbeddingSourceError(f"{where}: dtype {dtype}; embeddings must be float16, bfloat16, float32 or float64")
        import torch

        array = value.detach().to(device="cpu", dtype=torch.float32).numpy()
    elif isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise EmbeddingSourceError(f"{where}: dtype {value.dtype}; embeddings must be floating point")
        array = np.asarray(value, dtype=np.float32)
    else:
        raise EmbeddingSourceError(f"{where}: expected a tensor, got {type(value).__name__}")
    shape = tuple(array.shape)
    if array.ndim == 0 or shape[-1] == 0:
        raise EmbeddingSourceError(f"{where}: shape {shape} holds no vector")
    if array.ndim > 1:
        if all(d == 1 for d in shape[:-1]):
            array = array.reshape(-1)
        elif pool == "mean":
            array = array.reshape(-1, shape[-1]).mean(axis=0)
        else:
            raise EmbeddingSourceError(
                f"{where}: shape {shape}, but one vector per id is expected; per-frame (T, D) or per-token "
                "(T, Q, D) tensors are averaged over every axis but the last with --embeddings-pool mean"
            )
    if not np.isfinite(array).all():
        raise EmbeddingSourceError(f"{where}: holds NaN or infinite values")
    if not np.any(array):
        raise EmbeddingSourceError(f"{where}: is all zeros (it has no direction to compare)")
    return np.ascontiguousarray(array, dtype=np.float32)


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    from vidret.builders.archive import sha256_file

    return sha256_file(path)


# ---- readers ---------------------------------------------------------------------------------------
class Reader:
    """The entries of one stored source: ids (with kinds when the source knows them) and their rows.

    Attributes:
        label: the file, folder or repo (named in every message).
        ids: entry ids.
        kinds: entry kinds (an export), or None (released files: kindless).
        truncated: ids of text entries the model truncated (an export), else empty.
        metadata: an export's `embeddings.json`, else None.
    """

    label: str
    ids: list[str]
    kinds: list[str] | None = None
    truncated: set[str] = set()
    metadata: dict[str, Any] | None = None

    def load(self, indices: Sequence[int]) -> list[Any]:
        """The raw rows (tensors or arrays) of the entries at `indices`."""
        raise NotImplementedError

    def provenance(self) -> dict[str, Any]:
        """Where the rows came from: format, path or repo, checksums of what was read."""
        raise NotImplementedError


class ExportReader(Reader):
    """A folder written by `vidret embeddings export` (checked against its manifest)."""

    def __init__(self, folder: Path, hub: dict[str, Any] | None = None) -> None:
        from vidret.evaluation.embeddings.export import ExportError, read_export

        try:
            self.table = read_export(folder)
        except ExportError as err:
            raise EmbeddingSourceError(str(err)) from None
        self.label = f"{hub['repo']}@{hub['revision'] or 'main'}" if hub else str(folder)
        self.ids = self.table.ids
        self.kinds = self.table.kinds
        self.truncated = self.table.truncated
        self.metadata = self.table.metadata
        self.hub = hub

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

    def __init__(self, folder: Path) -> None:
        self.label = str(folder)
        files: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix not in TORCH_SUFFIXES or not path.is_file():
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
            self.read_digests[path.name] = sha256_of(path)
            out.append(_torch_load(path))
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

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self.digest = sha256_of(path)
        self.ids, self._rows = self._read(path)

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        raise NotImplementedError

    def load(self, indices: Sequence[int]) -> list[Any]:
        return [self._rows(i) for i in indices]

    def provenance(self) -> dict[str, Any]:
        return {"source": "files", "format": self.format, "path": self.label, "sha256": self.digest}


class TorchDictReader(SingleFileReader):
    """A ``.pt`` / ``.pth`` file holding a dict id → tensor (``torch.load(weights_only=True)``)."""

    format = "torch-dict"

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        data = _torch_load(path)
        if not isinstance(data, dict):
            raise EmbeddingSourceError(
                f"{path}: holds a {type(data).__name__}, not a dict id → tensor "
                "(a folder of <id>.pth files is read by giving the folder)"
            )
        ids = _string_ids(data.keys(), path)
        values = list(data.values())
        return ids, values.__getitem__


class SafetensorsReader(SingleFileReader):
    """A ``.safetensors`` file: one tensor per id (read lazily, only the ids needed)."""

    format = "safetensors"

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        from safetensors import SafetensorError, safe_open

        try:
            handle = safe_open(str(path), framework="pt")
            ids = list(handle.keys())
        except (SafetensorError, OSError, ValueError) as err:
            raise EmbeddingSourceError(f"{path}: not a readable safetensors file ({err})") from None
        self._handle = handle
        return ids, lambda i: handle.get_tensor(ids[i])


class NpyReader(SingleFileReader):
    """A ``.npy`` (N, D) array with its ids in ``<stem>.ids.txt`` / ``<stem>.ids.json``."""

    format = "npy"

    def _read(self, path: Path) -> tuple[list[str], Callable[[int], Any]]:
        ids_file = npy_ids_file(path)
        if ids_file.suffix == ".json":
            try:
                raw = json.loads(ids_file.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise EmbeddingSourceError(f"{ids_file}: not a JSON list of ids ({err})") from None
            if not isinstance(raw, list):
                raise EmbeddingSourceError(f"{ids_file}: not a JSON list of ids")
            ids = _string_ids(raw, ids_file)
        else:
            ids = [line.strip() for line in ids_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        try:
            array = np.load(path, allow_pickle=False, mmap_mode="r")
        except ValueError as err:
            raise EmbeddingSourceError(f"{path}: not a plain numeric .npy array ({err})") from None
        if array.ndim != 2 or array.shape[0] != len(ids):
            raise EmbeddingSourceError(f"{path}: shape {array.shape} but {ids_file.name} lists {len(ids)} ids; expected ({len(ids)}, D)")
        self.ids_digest = sha256_of(ids_file)
        return ids, array.__getitem__

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "ids_sha256": self.ids_digest}


def npy_ids_file(path: Path) -> Path:
    """The id list of a ``.npy`` source: ``<stem>.ids.txt`` or ``<stem>.ids.json`` beside it.

    Raises:
        EmbeddingSourceError: neither exists.
    """
    for suffix in (".ids.txt", ".ids.json"):
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    raise EmbeddingSourceError(f"{path}: no id list beside it; write one id per row to {path.stem}.ids.txt")


class PickleStreamReader(SafetensorsReader):
    """A TF-CoVR pickle stream, converted once into ``<convert_dir>/<sha256>.safetensors``."""

    format = "pickle-stream"

    def __init__(self, path: Path, convert_dir: Path) -> None:
        self.source = path
        self.source_digest = sha256_of(path)
        converted = convert_dir / f"{self.source_digest}.safetensors"
        if not converted.is_file():
            convert_pickle_stream(path, converted)
        else:
            logger.info("%s: reading its conversion %s", path, converted)
        super().__init__(converted)

    def provenance(self) -> dict[str, Any]:
        return {
            "source": "files",
            "format": self.format,
            "path": str(self.source),
            "sha256": self.source_digest,
            "converted": self.label,
            "converted_sha256": self.digest,
        }


def _torch_load(path: Path) -> Any:
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise EmbeddingSourceError(
            f"{path}: torch.load(weights_only=True) refused it: it holds objects other than tensors "
            f"(code would run to rebuild them). ({str(err).splitlines()[0]})"
        ) from None
    except (RuntimeError, OSError, EOFError) as err:
        raise EmbeddingSourceError(f"{path}: not a readable torch file ({err})") from None


def _string_ids(keys: Any, path: Path) -> list[str]:
    ids = []
    for key in keys:
        if not isinstance(key, str) or not key:
            raise EmbeddingSourceError(f"{path}: id {key!r} ({type(key).__name__}) is not a non-empty string")
        ids.append(key)
    return ids


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
    import os
    import pickle
    import uuid

    import torch
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    logger.warning("unpickling %s (--allow-pickle: it may run code) to convert it to %s", path, out)
    with open(path, "rb") as fh:
        n = 0
        while True:
            try:
                item = pickle.load(fh)  # noqa: S301 - only with --allow-pickle, see the docstring
            except EOFError:
                break
            except pickle.UnpicklingError as err:
                raise EmbeddingSourceError(f"{path}: pickled item {n} is unreadable ({err})") from None
            if not isinstance(item, dict):
                raise EmbeddingSourceError(f"{path}: pickled item {n} is a {type(item).__name__}, not a dict id → tensor")
            for key, value in item.items():
                if not isinstance(key, str) or not key:
                    raise EmbeddingSourceError(f"{path}: id {key!r} ({type(key).__name__}) is not a non-empty string")
                if key in tensors:
                    raise EmbeddingSourceError(f"{path}: id {key!r} appears twice in the stream")
                if isinstance(value, np.ndarray):
                    value = torch.from_numpy(np.array(value))
                if not isinstance(value, torch.Tensor):
                    raise EmbeddingSourceError(f"{path}: id {key!r} holds a {type(value).__name__}, not a tensor")
                tensors[key] = value.detach().cpu().contiguous().clone()
            n += 1
    if not tensors:
        raise EmbeddingSourceError(f"{path}: the pickle stream holds no embeddings")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    save_file(tensors, str(tmp), metadata={"converted_from": path.name})
    os.replace(tmp, out)
    return len(tensors)


# ---- formats: what SRC is, declared once -----------------------------------------------------------
@dataclass(frozen=True)
class Format:
    """One way SRC can hold embeddings.

    Attributes:
        name: recorded in the results.
        matches: does this local path hold this format?
        open: build the reader (options: convert_dir, allow_pickle).
        needs_pickle: reading it unpickles (refused without ``allow_pickle``).
    """

    name: str
    matches: Callable[[Path], bool]
    open: Callable[..., Reader]
    needs_pickle: bool = False


def _is_export(path: Path) -> bool:
    from vidret.evaluation.embeddings.export import is_export_folder

    return is_export_folder(path)


FORMATS: tuple[Format, ...] = (
    Format("export", _is_export, lambda p, **_: ExportReader(p)),
    Format("pth-folder", Path.is_dir, lambda p, **_: PthFolderReader(p)),
    Format("torch-dict", lambda p: p.is_file() and p.suffix in TORCH_SUFFIXES, lambda p, **_: TorchDictReader(p)),
    Format("safetensors", lambda p: p.is_file() and p.suffix == ".safetensors", lambda p, **_: SafetensorsReader(p)),
    Format("npy", lambda p: p.is_file() and p.suffix == ".npy", lambda p, **_: NpyReader(p)),
    Format(
        "pickle-stream",
        lambda p: p.is_file() and p.suffix in PICKLE_SUFFIXES,
        lambda p, convert_dir, **_: PickleStreamReader(p, convert_dir),
        needs_pickle=True,
    ),
)


def detect_format(src: str, allow_pickle: bool = False) -> Format | None:
    """The local format of SRC, or None for a Hub dataset id; checked without reading the rows.

    Raises:
        EmbeddingSourceError: SRC is neither a readable local source nor a Hub id, a pickle
            stream without `allow_pickle`, or a ``.npy`` without its id list.
    """
    path = Path(src).expanduser()
    if path.exists():
        for fmt in FORMATS:
            if fmt.matches(path):
                if fmt.needs_pickle and not allow_pickle:
                    raise EmbeddingSourceError(
                        f"{path}: a pickle stream; reading it runs any code it holds. If you trust its origin, "
                        "pass --allow-pickle: it is converted once into a .safetensors file that later runs read"
                    )
                if fmt.name == "npy":
                    npy_ids_file(path)
                return fmt
        raise EmbeddingSourceError(
            f"{path}: not an embeddings source (an export folder, a folder of <id>.pth, .pt/.pth, .safetensors, "
            ".npy + ids, or .pkl with --allow-pickle)"
        )
    if _HUB_ID.match(src) and not src.startswith((".", "/", "~")):
        return None
    raise EmbeddingSourceError(f"--embeddings {src!r}: no such file or folder (a Hub dataset id looks like 'org/name[@revision]')")


def download_export(src: str) -> tuple[Path, dict[str, Any]]:
    """Fetch an export from the Hub (``org/name[@revision]``) into the Hub cache.

    Returns:
        (local folder, {"repo", "revision", "commit"}).

    Raises:
        EmbeddingSourceError: the repo or revision cannot be read.
    """
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    from vidret.evaluation.embeddings.export import CARD_FILE, DATA_DIR, MANIFEST_FILE, METADATA_FILE

    repo, _, revision = src.partition("@")
    try:
        commit = HfApi().dataset_info(repo, revision=revision or None).sha
        folder = snapshot_download(
            repo,
            repo_type="dataset",
            revision=commit,
            allow_patterns=[METADATA_FILE, MANIFEST_FILE, CARD_FILE, f"{DATA_DIR}/*.parquet"],
        )
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise EmbeddingSourceError(f"--embeddings {src!r}: cannot read the Hub dataset ({type(err).__name__}: {err})") from None
    return Path(folder), {"repo": repo, "revision": revision or None, "commit": commit}


def open_reader(src: str, *, allow_pickle: bool = False, convert_dir: Path | None = None) -> Reader:
    """Open SRC (see the module docstring for the formats).

    Args:
        src: a local path or a Hub dataset id.
        allow_pickle: permit reading (and converting) a pickle stream.
        convert_dir: where a pickle stream's safetensors conversion is kept.

    Raises:
        EmbeddingSourceError: naming SRC and what is wrong with it.
    """
    fmt = detect_format(src, allow_pickle)
    if fmt is None:
        folder, hub = download_export(src)
        if not _is_export(folder):
            raise EmbeddingSourceError(f"--embeddings {src!r}: the Hub dataset holds no {folder.name}/embeddings.json (not an export)")
        return ExportReader(folder, hub=hub)
    if fmt.needs_pickle and convert_dir is None:
        raise EmbeddingSourceError(f"{src}: no folder to keep the conversion of a pickle stream in")
    return fmt.open(Path(src).expanduser(), convert_dir=convert_dir)


# ---- the source ------------------------------------------------------------------------------------
def _video_stem(value: str) -> str:
    from vidret.builders.tables import video_stem

    return video_stem(value)


class StoredSource(EmbeddingSource):
    """Stored embeddings as an `EmbeddingSource` (read on the main process only).

    Args:
        src: what ``--embeddings`` named (a path or a Hub id).
        open: returns the (shared, lazily opened) `Reader` of `src`.
        pool: "mean" to average per-frame / per-token rows, or None.
        kinds: the kinds this source is asked for (its side's), for the count of ids it holds.
    """

    def __init__(
        self, src: str, open: Callable[[], Reader], pool: str | None = None, kinds: Sequence[str] | None = None
    ) -> None:
        self.src = src
        self.label = src
        self._open = open
        self.pool = pool
        self.kinds = tuple(kinds) if kinds else None
        self._index: dict[Any, int] | None = None
        self.used: set[int] = set()

    @property
    def reader(self) -> Reader:
        return self._open()

    def _build_index(self) -> dict[Any, int]:
        reader = self.reader
        self.label = reader.label
        index: dict[Any, int] = {}
        if reader.kinds is not None:
            for i, (kind, item) in enumerate(zip(reader.kinds, reader.ids)):
                index[(kind, item)] = i
            return index
        exact = {item: i for i, item in enumerate(reader.ids)}
        if len(exact) != len(reader.ids):
            raise EmbeddingSourceError(f"{reader.label}: an id appears twice")
        index.update(exact)
        for i, item in enumerate(reader.ids):
            stem = _video_stem(item)
            if stem == item:
                continue
            other = index.get(stem)
            if other is not None and other != i:
                raise EmbeddingSourceError(
                    f"{reader.label}: ids {reader.ids[other]!r} and {item!r} both name {stem!r}; keep one"
                )
            index[stem] = i
        return index

    def _lookup(self, unit: EmbeddingUnit) -> int | None:
        assert self._index is not None
        if self.reader.kinds is not None:
            return self._index.get((unit.kind, unit.name))
        found = self._index.get(unit.name)
        if found is None and unit.kind == "text" and unit.text is not None:
            found = self._index.get(unit.text)
        return found

    def embeddings(self, units: Sequence[EmbeddingUnit], info: ProcessInfo, progress: Progress) -> dict[str, np.ndarray]:
        """The rows of `units` found in the source, checked (main process only).

        Raises:
            EmbeddingSourceError: none of the source's ids matches any unit; a bad row (the file
                and id are named); rows of different dimensions.
        """
        if not info.is_main or not units:
            return {}
        if self._index is None:
            self._index = self._build_index()
        reader = self.reader
        matched = [(unit, self._lookup(unit)) for unit in units]
        hits = [(unit, i) for unit, i in matched if i is not None]
        if not hits:
            kinds = "/".join(sorted({u.kind for u in units}))
            raise EmbeddingSourceError(
                f"{reader.label}: none of its {len(reader.ids)} ids matches the {len(units)} {kinds} ids the run needs "
                f"(e.g. source {reader.ids[:2]}, dataset {[u.name for u in units[:2]]}); "
                + ("ids are matched to the dataset's video/clip ids (TF-CoVR: the clip stem)" if kinds != "text" else
                   "it holds no embedding of these texts: give texts from a model (--embeddings videos=SRC --model ID)")
            )
        raw = reader.load([i for _, i in hits])
        rows: dict[str, np.ndarray] = {}
        first: tuple[str, int] | None = None
        for (unit, i), value in zip(hits, raw):
            where = f"{reader.label}: {unit.kind} id {reader.ids[i]!r}"
            row = to_vector(value, where, self.pool)
            if first is None:
                first = (reader.ids[i], row.shape[0])
            elif row.shape[0] != first[1]:
                raise EmbeddingSourceError(
                    f"{where} is {row.shape[0]}-d but id {first[0]!r} is {first[1]}-d: all rows of a source need one dimension"
                )
            rows[unit.key] = row
            if unit.kind == "text" and reader.ids[i] in reader.truncated:
                progress.truncated.add(unit.key)
            self.used.add(i)
        return rows

    def missing(self, unit: EmbeddingUnit) -> dict[str, Any]:
        from vidret.evaluation.embeddings.sources import unit_failure

        for failure in (self.reader.metadata or {}).get("failures", []):
            if failure.get("item_id") == unit.name:  # the run that made the export could not embed it
                return unit_failure(unit, self.label, f"failed in the run that made {self.label} (see that run's results)")
        return unit_failure(unit, self.label, f"not in the embeddings source {self.label}")

    def provenance(self) -> dict[str, Any]:
        reader = self.reader
        out = dict(reader.provenance())
        if reader.kinds is not None and self.kinds is not None:  # an export: the ids of this side's kinds
            out["num_ids"] = sum(1 for kind in reader.kinds if kind in self.kinds)
        else:
            out["num_ids"] = len(reader.ids)
        out["num_used"] = len(self.used)
        if self.pool:
            out["pool"] = self.pool
        return out


class StoredSources:
    """The stored sources of one run: each SRC opened once (main process, on first use), shared by its sides.

    Args:
        specs: side → SRC (from `parse_embedding_specs`).
        allow_pickle: permit pickle streams.
        convert_dir: where pickle conversions are kept.
        pool: see `to_vector`.
    """

    def __init__(self, specs: dict[str, str], *, allow_pickle: bool, convert_dir: Path | None, pool: str | None) -> None:
        self.specs = specs
        self.allow_pickle = allow_pickle
        self.convert_dir = convert_dir
        self.pool = pool
        self._readers: dict[str, Reader] = {}
        self.sources = {side: StoredSource(src, self._opener(src), pool, SIDES[side]) for side, src in specs.items()}

    def _opener(self, src: str) -> Callable[[], Reader]:
        def get() -> Reader:
            if src not in self._readers:
                self._readers[src] = open_reader(src, allow_pickle=self.allow_pickle, convert_dir=self.convert_dir)
            return self._readers[src]

        return get

    def metadata(self, side: str) -> dict[str, Any] | None:
        """The export metadata of `side`'s source (None for released files or another side)."""
        source = self.sources.get(side)
        return None if source is None else source.reader.metadata
