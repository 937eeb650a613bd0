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

Untrusted files. Each reader (`stored_readers`) checks the sizes its container declares (zip
entries, a ``.npy`` or safetensors header, Parquet footers) against `StoredLimits`
(`stored_limits`) before reading, bounds what it reads whole by the ids the run asks, refuses a
``<id>.pth`` that links out of its folder, and turns whatever a corrupt file raises into one
`EmbeddingSourceError` naming the file (its text terminal-safe).

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

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidret.common import is_hub_id
from vidret.evaluation.embeddings.sources import SIDES, EmbeddingSource, EmbeddingUnit, Progress
from vidret.evaluation.embeddings.stored_limits import EmbeddingSourceError, StoredLimits
from vidret.evaluation.embeddings.stored_readers import (
    PICKLE_SUFFIXES,
    TORCH_SUFFIXES,
    ExportReader,
    NpyReader,
    PickleStreamReader,
    PthFolderReader,
    Reader,
    SafetensorsReader,
    TorchDictReader,
    convert_pickle_stream,
    npy_ids_file,
)
from vidret.evaluation.running.distributed import ProcessInfo

logger = logging.getLogger(__name__)

__all__ = [
    "POOL_CHOICES", "EmbeddingSourceError", "Format", "FORMATS", "Reader", "StoredLimits", "StoredSource",
    "StoredSources", "convert_pickle_stream", "detect_format", "download_export", "npy_ids_file", "open_reader",
    "parse_embedding_specs", "to_vector",
]

POOL_CHOICES = ("mean",)
_REVISION = re.compile(r"[\w./-]+")  # after "org/name@": a branch, tag or commit
_FLOAT_TORCH = ("float16", "bfloat16", "float32", "float64")


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
def to_vector(value: Any, where: str, pool: str | None = None, max_bytes: int | None = None) -> np.ndarray:
    """One stored embedding as a float32 (D,) vector, checked.

    Args:
        value: a torch tensor or numpy array.
        where: the file and id, for messages (``"AIM/x.pth: id 'x'"``).
        pool: "mean" to average per-frame / per-token tensors over every axis but the last.
        max_bytes: most bytes the row may take as float32 (default `StoredLimits.max_row_bytes`).

    Returns:
        The vector (a copy: never a view into a mapped file).

    Raises:
        EmbeddingSourceError: not a tensor/array, a non-float dtype, a shape that is not one
            vector (unless pooled), too large a row, a NaN/inf value, or an all-zero vector.
    """
    limit = StoredLimits().max_row_bytes if max_bytes is None else max_bytes
    if hasattr(value, "detach") and hasattr(value, "dtype"):  # a torch tensor
        import torch

        dtype = str(value.dtype).replace("torch.", "")
        if dtype not in _FLOAT_TORCH:
            raise EmbeddingSourceError(f"{where}: dtype {dtype}; embeddings must be float16, bfloat16, float32 or float64")
        if value.layout != torch.strided:
            raise EmbeddingSourceError(f"{where}: a {value.layout} tensor; embeddings must be dense tensors")
        _check_row_size(where, value.numel(), limit)
        array = value.detach().to(device="cpu", dtype=torch.float32).numpy()
    elif isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise EmbeddingSourceError(f"{where}: dtype {value.dtype}; embeddings must be floating point")
        _check_row_size(where, value.size, limit)
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
    return np.array(array, dtype=np.float32, order="C", copy=True)


def _check_row_size(where: str, numel: int, limit: int) -> None:
    # A view can repeat a small storage any number of times (stride 0): its size is the shape's.
    if numel * 4 > limit:
        raise EmbeddingSourceError(f"{where}: {numel} values ({numel * 4} bytes as float32) exceed the {limit}-byte limit of one row")


# ---- formats: what SRC is, declared once -----------------------------------------------------------
@dataclass(frozen=True)
class Format:
    """One way SRC can hold embeddings.

    Attributes:
        name: recorded in the results.
        matches: does this local path hold this format?
        open: build the reader (options: convert_dir, limits, need).
        needs_pickle: reading it unpickles (refused without ``allow_pickle``).
        check: what `detect_format` checks of a path that matches, before any row is read
            (raises `EmbeddingSourceError`); None = nothing more.
    """

    name: str
    matches: Callable[[Path], bool]
    open: Callable[..., Reader]
    needs_pickle: bool = False
    check: Callable[[Path], Any] | None = None


def _is_export(path: Path) -> bool:
    from vidret.evaluation.embeddings.export import is_export_folder

    return is_export_folder(path)


FORMATS: tuple[Format, ...] = (
    Format("export", _is_export, lambda p, limits, **_: ExportReader(p, limits=limits)),
    Format("pth-folder", Path.is_dir, lambda p, limits, **_: PthFolderReader(p, limits)),
    Format(
        "torch-dict",
        lambda p: p.is_file() and p.suffix in TORCH_SUFFIXES,
        lambda p, limits, need, **_: TorchDictReader(p, limits, need),
    ),
    Format(
        "safetensors",
        lambda p: p.is_file() and p.suffix == ".safetensors",
        lambda p, limits, **_: SafetensorsReader(p, limits),
    ),
    Format("npy", lambda p: p.is_file() and p.suffix == ".npy", lambda p, limits, **_: NpyReader(p, limits), check=npy_ids_file),
    Format(
        "pickle-stream",
        lambda p: p.is_file() and p.suffix in PICKLE_SUFFIXES,
        lambda p, convert_dir, limits, **_: PickleStreamReader(p, convert_dir, limits),
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
                if fmt.check is not None:
                    fmt.check(path)
                return fmt
        raise EmbeddingSourceError(
            f"{path}: not an embeddings source (an export folder, a folder of <id>.pth, .pt/.pth, .safetensors, "
            ".npy + ids, or .pkl with --allow-pickle)"
        )
    repo, at, revision = src.partition("@")
    if is_hub_id(repo) and (not at or _REVISION.fullmatch(revision)):
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


def open_reader(
    src: str,
    *,
    allow_pickle: bool = False,
    convert_dir: Path | None = None,
    limits: StoredLimits | None = None,
    need: int | None = None,
) -> Reader:
    """Open SRC (see the module docstring for the formats).

    Args:
        src: a local path or a Hub dataset id.
        allow_pickle: permit reading (and converting) a pickle stream.
        convert_dir: where a pickle stream's safetensors conversion is kept.
        limits: what reading may cost (default `StoredLimits.from_env()`).
        need: ids the run will ask of it, when known (bounds what is read whole).

    Raises:
        EmbeddingSourceError: naming SRC and what is wrong with it.
    """
    fmt = detect_format(src, allow_pickle)
    if fmt is None:
        folder, hub = download_export(src)
        if not _is_export(folder):
            raise EmbeddingSourceError(f"--embeddings {src!r}: the Hub dataset holds no {folder.name}/embeddings.json (not an export)")
        reader: Reader = ExportReader(folder, hub=hub, limits=limits)
    elif fmt.needs_pickle and convert_dir is None:
        raise EmbeddingSourceError(f"{src}: no folder to keep the conversion of a pickle stream in")
    else:
        reader = fmt.open(Path(src).expanduser(), convert_dir=convert_dir, limits=limits or StoredLimits.from_env(), need=need)
    if need is not None:
        reader.expect(need)
    return reader


# ---- the source ------------------------------------------------------------------------------------
def _video_stem(value: str) -> str:
    from vidret.builders.tables import video_stem

    return video_stem(value)


class StoredSource(EmbeddingSource):
    """Stored embeddings as an `EmbeddingSource` (read on the main process only).

    Args:
        src: what ``--embeddings`` named (a path or a Hub id).
        open: returns the (shared, lazily opened) `Reader` of `src`, given the number of ids
            this side will ask of it when known.
        pool: "mean" to average per-frame / per-token rows, or None.
        kinds: the kinds this source is asked for (its side's), for the count of ids it holds.
    """

    def __init__(
        self, src: str, open: Callable[[int | None], Reader], pool: str | None = None, kinds: Sequence[str] | None = None
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
        return self._open(None)

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
        reader = self._open(len(units))  # an export reads its rows now, bounded by what the run needs
        if self._index is None:
            self._index = self._build_index()
        matched = [(unit, self._lookup(unit)) for unit in units]
        hits = [(unit, i) for unit, i in matched if i is not None]
        if not hits:
            kinds = "/".join(sorted({u.kind for u in units}))
            raise EmbeddingSourceError(
                f"{reader.label}: none of its {len(reader.ids)} ids matches the {len(units)} {kinds} ids the run needs "
                f"(e.g. source {reader.ids[:2]}, dataset {[u.name for u in units[:2]]}); "
                + ("ids are matched to the dataset's video/clip ids (a file name or path by its stem)" if kinds != "text" else
                   "it holds no embedding of these texts: give texts from a model (--embeddings videos=SRC --model ID)")
            )
        rows: dict[str, np.ndarray] = {}
        first: tuple[str, int] | None = None
        for unit, i in hits:  # one raw row at a time: a per-frame tensor is pooled before the next is read
            where = f"{reader.label}: {unit.kind} id {reader.ids[i]!r}"
            row = to_vector(reader.load([i])[0], where, self.pool, reader.limits.max_row_bytes)
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
        limits: what reading a source may cost (default `StoredLimits.from_env()`).
    """

    def __init__(
        self,
        specs: dict[str, str],
        *,
        allow_pickle: bool,
        convert_dir: Path | None,
        pool: str | None,
        limits: StoredLimits | None = None,
    ) -> None:
        self.specs = specs
        self.allow_pickle = allow_pickle
        self.convert_dir = convert_dir
        self.pool = pool
        self.limits = limits or StoredLimits.from_env()
        self._readers: dict[str, Reader] = {}
        self.sources = {side: StoredSource(src, self._opener(src), pool, SIDES[side]) for side, src in specs.items()}

    def _opener(self, src: str) -> Callable[[int | None], Reader]:
        # The sides sharing SRC ask similar numbers of ids; the first to ask speaks for them all.
        sharing = sum(1 for other in self.specs.values() if other == src)

        def get(need: int | None) -> Reader:
            total = None if need is None else need * sharing
            if src not in self._readers:
                self._readers[src] = open_reader(
                    src, allow_pickle=self.allow_pickle, convert_dir=self.convert_dir, limits=self.limits, need=total
                )
            elif total is not None and self._readers[src].need is None:
                self._readers[src].expect(total)
            return self._readers[src]

        return get

    def metadata(self, side: str) -> dict[str, Any] | None:
        """The export metadata of `side`'s source (None for released files or another side)."""
        source = self.sources.get(side)
        return None if source is None else source.reader.metadata
