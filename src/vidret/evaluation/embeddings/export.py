"""Exported embeddings: the Hub dataset repo folder `vidret embeddings export` writes.

Layout of a folder (``vidret publish`` uploads it like a dataset build)::

    README.md            dataset card: YAML configs/features, then benchmark, dataset revision,
                         model id + revision, adapter preset and every setting of the run
    embeddings.json      the same facts, machine-readable (what `vidret evaluate --embeddings` reads)
    data/<split>-NNNNN-of-MMMMM.parquet
                         columns id, kind, embedding, text, truncated
    manifest.json        {"kind": "embeddings", "version", "outputs": {path: {sha256, size}}, ...}:
                         the build-manifest format; readers check every data file against it

Rows: ``id`` is the item as the dataset names it (a TF-CoVR video stem, a LoVR clip id, a window
``<video_id>@<start>-<end>``, a text's content id ``text:<sha1>``, a composed query
``<video>|<text id>``); ``kind`` one of text / video / segment / composed; ``embedding`` a
fixed-size list of float32 (float16 on request); ``text`` the text itself (text rows);
``truncated`` whether the model cut that text to its maximum length (text rows). Rows are sorted by
(kind, id), so the same embeddings give the same bytes.

Reading a folder back is `export_read` (its names stay importable from here); the card is
`export_card`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidret.common import atomic_write_text, is_safe_component, redact_tree, sha256_file
from vidret.evaluation.embeddings.export_card import render_card
from vidret.evaluation.embeddings.export_read import (
    CARD_FILE,
    DATA_DIR,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MAX_JSON_BYTES,
    METADATA_FILE,
    ExportedTable,
    ExportError,
    is_export_folder,
    read_export,
    read_export_metadata,
    read_json,
)
from vidret.evaluation.embeddings.sources import KINDS, SIDES, EmbeddingUnit, text_units, visual_units
from vidret.evaluation.results.model import ResultsRecord
from vidret.evaluation.results.provenance import record_local_paths

logger = logging.getLogger(__name__)

EXPORT_DTYPES = ("float32", "float16")
ROWS_PER_SHARD = 200_000


@dataclass
class ExportReport:
    """What `export_embeddings` wrote.

    Attributes:
        out: the folder.
        num_rows: rows per kind.
        dim: embedding dimension.
        dtype: "float32" or "float16".
        files: the data files written (relative paths).
        bytes: total size of the data files.
        failed: ids of the run's failed items (no embedding, so not exported).
    """

    out: Path
    num_rows: dict[str, int]
    dim: int
    dtype: str
    files: list[str]
    bytes: int
    failed: list[str] = field(default_factory=list)



def _long_video_arg(long_video: Mapping[str, Any] | None) -> tuple[str, str]:
    long_video = long_video or {}
    if long_video.get("segments") == "concat":  # one input per video: nothing aggregated
        return "concat", "mean"
    if long_video.get("segments") == "window":
        return f"window:{long_video['window_s']}", str(long_video.get("aggregate", "mean"))
    return "clips", str(long_video.get("aggregate", "mean"))


def plan_of_record(record: ResultsRecord, data: str | None = None, video_root: str | None = None) -> Any:
    """Re-derive the `TaskPlan` of the run that wrote `record` (same data, split, tasks, limit,
    protocol, external-video permission).

    Args:
        record: a valid results record.
        data: the dataset to read instead of the recorded ``dataset.repo`` (e.g. the folder moved).
        video_root: the ``--video-root`` the run used (segment ids name the resolved video paths).

    Returns:
        The plan.
    """
    from vidret.evaluation.planning.dataset import is_local, load_plan

    settings = record.settings
    repo = data or record.dataset.repo
    # A local build is read as it is; a Hub dataset at the commit the run read.
    revision = None if is_local(repo) else record.dataset.exact_revision
    long_video, aggregate = _long_video_arg(settings.get("long_video"))
    plan, _ = load_plan(
        record.benchmark,
        repo,
        split=record.split,
        revision=revision,
        tasks=list(record.tasks),
        long_video=long_video,
        aggregate=aggregate,
        limit=record.limit,
        video_root=video_root,
        allow_external=bool(settings.get("allow_external_videos")),
        protocol=record.protocol,  # the rows, query lists and text normalisation the run used
    )
    return plan


def plan_units(plan: Any, fusion: str | None = None) -> list[EmbeddingUnit]:
    """Every unit a plan embeds: its texts, its video spans, and with `native` fusion its composed queries
    (whose videos are then embedded only with their texts, see `visual_units`)."""
    from vidret.adapters.fusion import is_native
    from vidret.evaluation.planning.composed_units import composed_units

    native = bool(fusion) and is_native(fusion)
    units = text_units(plan) + visual_units(plan, native_composed=native)
    if native:
        units += composed_units(plan).units
    return units


def _open_cache(record: ResultsRecord, cache_dir: str | None) -> Any:
    from vidret.evaluation.embeddings.cache import EmbeddingCache, cache_namespace

    namespace = record.cache.namespace if record.cache else None
    if not namespace:
        raise ExportError(
            "the run kept no embedding cache (it ran with --no-cache, or scored stored embeddings): "
            "re-run `vidret evaluate` with a cache, then export"
        )
    # The namespace comes from the results file and names a folder: one name inside the cache, never "../x".
    if not is_safe_component(str(namespace)):
        raise ExportError(f"the results record's cache namespace {str(namespace)[:80]!r} is not a folder name of a cache")
    root = cache_dir or (record.cache.dir if record.cache else None)
    if not root:
        raise ExportError("the results record names no cache folder: pass --cache-dir")
    folder = Path(root).expanduser() / str(namespace)
    key = read_json(folder / "key.json", f"the key of cache namespace {namespace}")
    # Checked before the cache is opened: opening creates the folder of the key's own namespace.
    if not isinstance(key, dict) or cache_namespace(key) != namespace:
        raise ExportError(f"{folder / 'key.json'} does not hash to namespace {namespace} (a cache of another vidret version?)")
    return EmbeddingCache(Path(root).expanduser(), key, read=True)


def export_embeddings(
    results: str | Path,
    out: str | Path,
    *,
    dtype: str = "float32",
    cache_dir: str | None = None,
    data: str | None = None,
    video_root: str | None = None,
    version: str = "1.0.0",
    rows_per_shard: int = ROWS_PER_SHARD,
) -> ExportReport:
    """Write the embeddings of the run that wrote `results` as a Hub dataset repo folder.

    The rows come from the run's embedding cache (the record names the namespace); which rows
    belong to the run is re-derived from its dataset, split, tasks and limit.

    Args:
        results: the run's results JSON.
        out: the folder to write (created; an existing export there is replaced).
        dtype: "float32" (default: scores identical to the run) or "float16" (half the size).
        cache_dir: the cache folder, when not the recorded one.
        data: the dataset, when not at the recorded ``dataset.repo``.
        video_root: the ``--video-root`` the run used, if any.
        version: the export's version (publish it with ``--tag v<version>``).
        rows_per_shard: most rows per Parquet file.

    Returns:
        An `ExportReport`.

    Raises:
        ExportError: no cache, a cache lacking embeddings of the run, a bad dtype or output folder.
    """
    from vidret.evaluation.embeddings.export_guard import earlier_export_files
    from vidret.evaluation.results.validation import load_record

    if dtype not in EXPORT_DTYPES:
        raise ExportError(f"--dtype must be one of {'|'.join(EXPORT_DTYPES)}, got {dtype!r}")
    results = Path(results)
    record = load_record(results)  # the one reader of results files: size, numbers and consistency checked
    earlier = earlier_export_files(Path(out))  # refuse an --out that is not an earlier export before any work
    cache = _open_cache(record, cache_dir)
    plan = plan_of_record(record, data, video_root)
    units = plan_units(plan, record.settings.fusion)
    # A side the run read from stored embeddings (--embeddings videos=SRC) is not in its cache:
    # export what the model made, and name where the rest came from.
    elsewhere = {side: dict(origin) for side, origin in (record.embeddings or {}).items() if origin.get("source") != "model"}
    skipped_kinds = {kind for side in elsewhere for kind in SIDES.get(side, ())}
    units = [u for u in units if u.kind not in skipped_kinds]
    failed = {f.item_id for f in record.failures}
    rows: list[tuple[EmbeddingUnit, np.ndarray, bool]] = []
    lacking: list[EmbeddingUnit] = []
    for unit in units:
        row = cache.get(unit.key)
        if row is not None:
            rows.append((unit, row, cache.is_truncated(unit.key)))
        elif unit.name not in failed:
            lacking.append(unit)
    if lacking:
        examples = ", ".join(f"{u.kind} {u.name!r}" for u in lacking[:3])
        raise ExportError(
            f"cache namespace {cache.namespace} lacks {len(lacking)} of the run's {len(units)} embeddings "
            f"(e.g. {examples}): was the cache cleared, or did the run read its videos elsewhere? "
            "pass --data / --video-root as the run had them"
        )
    if not rows:
        raise ExportError(f"the run embedded nothing to export ({len(units)} items, all failed)")
    dims = {int(r.shape[-1]) for _, r, _ in rows}
    if len(dims) != 1:
        raise ExportError(f"cache namespace {cache.namespace} mixes embedding dimensions {sorted(dims)}")
    dim = dims.pop()
    metadata = public_paths({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": version,
        "benchmark": record.benchmark,
        "config": record.config,
        "split": record.split,
        "tasks": list(record.tasks),
        "dataset": record.dataset.to_json(),
        "model": record.model.to_json(),
        "settings": record.settings.to_json(),
        "cache_key": cache.key,
        "dim": dim,
        "dtype": dtype,
        "num_rows": {kind: sum(1 for u, _, _ in rows if u.kind == kind) for kind in KINDS},
        # Ids and kinds only: a reason quotes local paths (the run's results keep it).
        "failures": [{"item_id": f.item_id, "kind": f.kind} for f in record.failures],
        "source_metrics": {task_id: dict(task.metrics) for task_id, task in record.tasks.items()},
        "not_included": elsewhere,
    }, record.to_json())
    return write_export(Path(out), rows, metadata, rows_per_shard=rows_per_shard, failed=sorted(failed), earlier=earlier)


def public_paths(value: Any, record: Mapping[str, Any]) -> Any:
    """`value` with every local path cut to ``<local>/<file name>``, as `vidret submit` cuts the
    results it uploads (the same `vidret.common.redact`, with the paths `record` names replaced
    whole): an export is made to be published, and the user's folders are nobody's business."""
    return redact_tree(value, record_local_paths(record))


def _schema(dim: int, dtype: str) -> Any:
    import pyarrow as pa

    value = pa.float16() if dtype == "float16" else pa.float32()
    return pa.schema(
        [
            ("id", pa.string()),
            ("kind", pa.string()),
            ("embedding", pa.list_(value, dim)),
            ("text", pa.string()),
            ("truncated", pa.bool_()),
        ]
    )


def write_export(
    out: Path,
    rows: Sequence[tuple[EmbeddingUnit, np.ndarray, bool]],
    metadata: dict[str, Any],
    *,
    rows_per_shard: int = ROWS_PER_SHARD,
    failed: Sequence[str] = (),
    earlier: list[Path] | None = None,
) -> ExportReport:
    """Write rows + metadata as an export folder (Parquet, card, embeddings.json, manifest).

    Args:
        out: the folder (created): new, empty, or an earlier export (its manifest lists exactly
            the files there, unchanged: see `export_guard`), whose files are replaced.
        rows: (unit, embedding, truncated) per row.
        metadata: the `embeddings.json` content (needs "split", "dim", "dtype", "version").
        rows_per_shard: most rows per Parquet file.
        failed: ids of items the run could not embed (named in the card).
        earlier: the files of the earlier export at `out`, as the caller's own
            `export_guard.earlier_export_files(out)` just found them (not hashed again); None or
            empty = `out` is checked here (a folder that was new or empty may have filled meanwhile).

    Returns:
        An `ExportReport`.

    Raises:
        ExportError: `out` holds files and is not an earlier export (nothing is changed); a split
            that is not a safe file name.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vidret import __version__
    from vidret.builders.repo import features_yaml, write_json
    from vidret.evaluation.embeddings.export_guard import earlier_export_files, remove_earlier_export

    if rows_per_shard < 1:
        raise ExportError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    # The split names the shard files: a results file saying "../x" must not write outside OUT.
    if not is_safe_component(str(metadata["split"])):
        raise ExportError(f"split {metadata['split']!r} is not a safe file name (it names the export's shard files)")
    # Only an earlier export is replaced, and only the files its manifest lists are deleted
    # (a dataset build or a project folder holding an embeddings.json is refused untouched).
    if not earlier:
        earlier = earlier_export_files(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_earlier_export(out, earlier)
    (out / DATA_DIR).mkdir(exist_ok=True)
    dim, dtype, split = int(metadata["dim"]), str(metadata["dtype"]), str(metadata["split"])
    schema = _schema(dim, dtype)
    ordered = sorted(rows, key=lambda r: (r[0].kind, r[0].name))
    np_dtype = np.float16 if dtype == "float16" else np.float32
    num_shards = max(1, -(-len(ordered) // rows_per_shard))
    files: list[str] = []
    num_bytes = 0
    for index in range(num_shards):
        chunk = ordered[index * rows_per_shard : (index + 1) * rows_per_shard]
        matrix = np.stack([np.asarray(r, dtype=np.float32) for _, r, _ in chunk]).astype(np_dtype)
        values = pa.array(matrix.reshape(-1), type=schema.field("embedding").type.value_type)
        table = pa.Table.from_arrays(
            [
                pa.array([u.name for u, _, _ in chunk], pa.string()),
                pa.array([u.kind for u, _, _ in chunk], pa.string()),
                pa.FixedSizeListArray.from_arrays(values, dim),
                pa.array([u.text if u.kind == "text" else None for u, _, _ in chunk], pa.string()),
                pa.array([bool(t) if u.kind == "text" else None for u, _, t in chunk], pa.bool_()),
            ],
            schema=schema,
        )
        rel = f"{DATA_DIR}/{split}-{index:05d}-of-{num_shards:05d}.parquet"
        # Fixed writer options: the same rows give the same bytes.
        pq.write_table(table, out / rel, compression="zstd", row_group_size=10_000, write_statistics=True)
        files.append(rel)
        num_bytes += table.nbytes
    write_json(out / METADATA_FILE, metadata)
    atomic_write_text(out / CARD_FILE, render_card(metadata, features_yaml(schema), len(ordered), num_bytes, failed))
    outputs = {
        rel: {"sha256": sha256_file(out / rel), "size": (out / rel).stat().st_size}
        for rel in [*files, METADATA_FILE, CARD_FILE]
    }
    write_json(
        out / MANIFEST_FILE,
        {
            "kind": "embeddings",
            "benchmark": metadata.get("benchmark"),
            "version": metadata["version"],
            "vidret_version": __version__,
            "outputs": outputs,
        },
    )
    report = ExportReport(
        out,
        {k: v for k, v in (metadata.get("num_rows") or {}).items() if v},
        dim,
        dtype,
        files,
        sum((out / f).stat().st_size for f in files),
        list(failed),
    )
    logger.info("wrote %d embeddings (%d-d %s) to %s", len(ordered), dim, dtype, out)
    return report


__all__ = [
    "CARD_FILE",
    "DATA_DIR",
    "EXPORT_DTYPES",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "MAX_JSON_BYTES",
    "METADATA_FILE",
    "ROWS_PER_SHARD",
    "ExportError",
    "ExportReport",
    "ExportedTable",
    "export_embeddings",
    "is_export_folder",
    "plan_of_record",
    "plan_units",
    "public_paths",
    "read_export",
    "read_export_metadata",
    "render_card",
    "write_export",
]
