"""Reading an export folder back: its metadata checked, its data files checked against the manifest.

The layout is described in `vidret.evaluation.embeddings.export`, which writes it; the names of its
files and its format version live here, beside the checks that read them. Everything in a folder
is untrusted (a Hub snapshot anyone could have uploaded): JSON files are size-capped, data files
must be listed in the manifest with their SHA-256, and every failure is one `ExportError` naming
the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidret.common import is_safe_component, sha256_file
from vidret.evaluation.embeddings.sources import KINDS

FORMAT = "vidret-embeddings"
FORMAT_VERSION = 1
METADATA_FILE = "embeddings.json"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
DATA_DIR = "data"
# A metadata or manifest file larger than this is not ours (a hostile folder): refuse to parse it.
MAX_JSON_BYTES = 16 * 1024**2


class ExportError(ValueError):
    """The embeddings of a run cannot be exported, or a folder is not a readable export."""


def read_json(path: Path, what: str) -> Any:
    """The JSON of `path` (an export's metadata or manifest, a results record), size-capped.

    Raises:
        ExportError: absent, too large, not JSON, or nested too deeply; naming `path` and `what` it should be.
    """
    if not path.is_file():
        raise ExportError(f"{path}: not found ({what})")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ExportError(f"{path}: {path.stat().st_size} bytes is too large for {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:  # a hostile file nested 100,000 deep
        raise ExportError(f"{path}: nested too deeply to be {what}") from None


@dataclass
class ExportedTable:
    """The rows of an export folder, checked against its manifest.

    Attributes:
        folder: the folder read.
        metadata: its `embeddings.json`.
        ids: row ids.
        kinds: row kinds.
        embeddings: (N, D) array in the stored dtype.
        truncated: ids of text rows flagged truncated.
        digest: SHA-256 of the manifest (it names every data file's SHA-256).
    """

    folder: Path
    metadata: dict[str, Any]
    ids: list[str]
    kinds: list[str]
    embeddings: np.ndarray
    truncated: set[str]
    digest: str


def is_export_folder(path: Path) -> bool:
    """True if `path` is a folder holding an export's `embeddings.json`."""
    return path.is_dir() and (path / METADATA_FILE).is_file()


def read_export_metadata(folder: str | Path) -> dict[str, Any]:
    """An export's `embeddings.json`, its format and the fields a run reads checked (no data read).

    Raises:
        ExportError: not an export's metadata, an unknown format version, a field of the wrong type.
    """
    root = Path(folder)
    metadata = read_json(root / METADATA_FILE, "export metadata")
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ExportError(f"{root / METADATA_FILE}: not a {FORMAT} file")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ExportError(f"{root / METADATA_FILE}: format version {metadata.get('format_version')!r}; this vidret reads {FORMAT_VERSION}")
    # The fields a run reads (model, settings, dataset revision, failed ids) have the shape it expects.
    for name in ("model", "dataset", "settings"):
        if metadata.get(name) is not None and not isinstance(metadata[name], dict):
            raise ExportError(f"{root / METADATA_FILE}: {name!r} must be an object, got {type(metadata[name]).__name__}")
    failures = metadata.get("failures", [])
    if not isinstance(failures, list) or not all(isinstance(f, dict) for f in failures):
        raise ExportError(f"{root / METADATA_FILE}: 'failures' must be a list of objects")
    return metadata


def read_export(folder: str | Path, check_shards: Callable[[list[Path]], None] | None = None) -> ExportedTable:
    """Read an export folder, checking every data file against the manifest's SHA-256.

    Args:
        folder: the export.
        check_shards: called with the data files before any is read (their sizes, from the
            Parquet footers: `vidret.evaluation.embeddings.stored_limits.check_export_shards`).

    Raises:
        ExportError: not an export, an unknown format version, a data file that is absent,
            unlisted, altered or named outside ``data/``, a bad column, a row of unknown kind, a duplicate id.
    """
    import pyarrow.parquet as pq

    root = Path(folder)
    metadata = read_export_metadata(root)
    manifest_path = root / MANIFEST_FILE
    manifest = read_json(manifest_path, "export manifest")
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    if not isinstance(outputs, dict):
        raise ExportError(f"{manifest_path}: no 'outputs' listing the data files")
    listed = outputs.get(METADATA_FILE)
    if not isinstance(listed, dict) or sha256_file(root / METADATA_FILE) != listed.get("sha256"):
        raise ExportError(f"{root / METADATA_FILE}: SHA-256 differs from {MANIFEST_FILE} (altered?)")
    files = sorted(rel for rel in outputs if rel.startswith(f"{DATA_DIR}/") and rel.endswith(".parquet"))
    for rel in files:  # the manifest is untrusted: each data file is one name inside data/
        if not is_safe_component(rel.removeprefix(f"{DATA_DIR}/")):
            raise ExportError(f"{manifest_path}: {rel!r} is not a file name under {DATA_DIR}/")
    on_disk = sorted(p.relative_to(root).as_posix() for p in (root / DATA_DIR).glob("*.parquet"))
    unlisted = sorted(set(on_disk) - set(files))
    if unlisted:
        raise ExportError(f"{root}: data file(s) {unlisted} are not in {MANIFEST_FILE}")
    if not files:
        raise ExportError(f"{manifest_path}: lists no data files")
    for rel in files:
        path = root / rel
        # (A Hub snapshot's files are links into its blob store; the SHA-256 check below is what counts.)
        if not path.is_file():
            raise ExportError(f"{path}: listed in {MANIFEST_FILE} but not a file")
        expected = outputs[rel].get("sha256") if isinstance(outputs[rel], dict) else None
        if sha256_file(path) != expected:
            raise ExportError(f"{path}: SHA-256 differs from {MANIFEST_FILE} (altered or incomplete download)")
    if check_shards is not None:
        check_shards([root / rel for rel in files])
    ids: list[str] = []
    kinds: list[str] = []
    blocks: list[np.ndarray] = []
    truncated: set[str] = set()
    for rel in files:
        path = root / rel
        try:
            table = pq.read_table(path, columns=["id", "kind", "embedding", "truncated"])
        except Exception as err:  # noqa: BLE001 - pyarrow raises many types for a bad file
            raise ExportError(f"{path}: not a readable export shard ({type(err).__name__}: {err})") from None
        column = table.column("embedding").combine_chunks()
        if not hasattr(column.type, "list_size"):
            raise ExportError(f"{path}: column 'embedding' is {column.type}, not a fixed-size list of floats")
        flat = column.flatten().to_numpy(zero_copy_only=False)
        blocks.append(flat.reshape(len(table), column.type.list_size))
        ids += [str(x) for x in table.column("id").to_pylist()]
        kinds += [str(x) for x in table.column("kind").to_pylist()]
        for i, flag in zip(table.column("id").to_pylist(), table.column("truncated").to_pylist()):
            if flag:
                truncated.add(str(i))
    dims = {b.shape[1] for b in blocks}
    if len(dims) != 1:
        raise ExportError(f"{root}: shards of different embedding dimensions {sorted(dims)}")
    seen: set[tuple[str, str]] = set()
    for row, (kind, item) in enumerate(zip(kinds, ids)):
        if kind not in KINDS:
            raise ExportError(f"{root}: row {row} (id {item!r}) has kind {kind!r}; kinds are {', '.join(KINDS)}")
        if (kind, item) in seen:
            raise ExportError(f"{root}: {kind} id {item!r} appears twice")
        seen.add((kind, item))
    digest = sha256_file(manifest_path)
    return ExportedTable(root, metadata, ids, kinds, np.concatenate(blocks), truncated, digest)
