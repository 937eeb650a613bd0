"""Exported embeddings: the Hub dataset repo folder `vidret embeddings export` writes, and reading it back.

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
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidret.evaluation.embeddings.sources import KINDS, SIDES, EmbeddingUnit, text_units, visual_units

logger = logging.getLogger(__name__)

FORMAT = "vidret-embeddings"
FORMAT_VERSION = 1
METADATA_FILE = "embeddings.json"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "README.md"
DATA_DIR = "data"
EXPORT_DTYPES = ("float32", "float16")
ROWS_PER_SHARD = 200_000
# A metadata or manifest file larger than this is not ours (a hostile folder): refuse to parse it.
MAX_JSON_BYTES = 16 * 1024**2


class ExportError(ValueError):
    """The embeddings of a run cannot be exported, or a folder is not a readable export."""


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


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise ExportError(f"{path}: not found ({what})")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ExportError(f"{path}: {path.stat().st_size} bytes is too large for {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportError(f"{path}: not valid JSON ({err})") from None


def _long_video_arg(settings: Mapping[str, Any]) -> tuple[str, str]:
    long_video = settings.get("long_video") or {}
    if long_video.get("segments") == "window":
        return f"window:{long_video['window_s']}", str(long_video.get("aggregate", "mean"))
    return "clips", str(long_video.get("aggregate", "mean"))


def plan_of_record(
    record: Mapping[str, Any], data: str | None = None, video_root: str | None = None
) -> Any:
    """Re-derive the `TaskPlan` of the run that wrote `record` (same data, split, tasks, limit,
    protocol, external-video permission).

    Args:
        record: a results record.
        data: the dataset to read instead of the recorded ``dataset.repo`` (e.g. the folder moved).
        video_root: the ``--video-root`` the run used (segment ids name the resolved video paths).

    Returns:
        The plan.
    """
    from vidret.evaluation.planning.dataset import is_local, load_plan

    settings = record.get("settings") or {}
    repo = data or record["dataset"]["repo"]
    # A local build is read as it is; a Hub dataset at the commit the run read.
    revision = None if is_local(repo) else (record["dataset"].get("commit") or record["dataset"].get("revision"))
    long_video, aggregate = _long_video_arg(settings)
    plan, _ = load_plan(
        record["benchmark"],
        repo,
        split=record["split"],
        revision=revision,
        tasks=list(record["tasks"]),
        long_video=long_video,
        aggregate=aggregate,
        limit=settings.get("limit"),
        video_root=video_root,
        allow_external=bool(settings.get("allow_external_videos")),
        protocol=settings.get("protocol"),  # the rows, query lists and text normalisation the run used
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


def _open_cache(record: Mapping[str, Any], cache_dir: str | None) -> Any:
    from vidret.evaluation.embeddings.cache import EmbeddingCache

    cache = record.get("cache") or {}
    namespace = cache.get("namespace")
    if not namespace:
        raise ExportError(
            "the run kept no embedding cache (it ran with --no-cache, or scored stored embeddings): "
            "re-run `vidret evaluate` with a cache, then export"
        )
    root = cache_dir or cache.get("dir")
    if not root:
        raise ExportError("the results record names no cache folder: pass --cache-dir")
    folder = Path(root).expanduser() / str(namespace)
    key = _read_json(folder / "key.json", f"the key of cache namespace {namespace}")
    opened = EmbeddingCache(Path(root).expanduser(), key, read=True)
    if opened.namespace != namespace:
        raise ExportError(f"{folder / 'key.json'} does not hash to namespace {namespace} (a cache of another vidret version?)")
    return opened


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
    from vidret.evaluation.results.validation import validate_results

    if dtype not in EXPORT_DTYPES:
        raise ExportError(f"--dtype must be one of {'|'.join(EXPORT_DTYPES)}, got {dtype!r}")
    results = Path(results)
    record = _read_json(results, "a results record")
    validate_results(record, require_all_tasks=False, source=str(results))
    cache = _open_cache(record, cache_dir)
    plan = plan_of_record(record, data, video_root)
    units = plan_units(plan, (record.get("settings") or {}).get("fusion"))
    # A side the run read from stored embeddings (--embeddings videos=SRC) is not in its cache:
    # export what the model made, and name where the rest came from.
    elsewhere = {side: dict(origin) for side, origin in (record.get("embeddings") or {}).items() if origin.get("source") != "model"}
    skipped_kinds = {kind for side in elsewhere for kind in SIDES.get(side, ())}
    units = [u for u in units if u.kind not in skipped_kinds]
    failed = {f["item_id"] for f in record.get("failures", [])}
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
        "benchmark": record["benchmark"],
        "config": record["config"],
        "split": record["split"],
        "tasks": list(record["tasks"]),
        "dataset": record["dataset"],
        "model": record["model"],
        "settings": record["settings"],
        "cache_key": cache.key,
        "dim": dim,
        "dtype": dtype,
        "num_rows": {kind: sum(1 for u, _, _ in rows if u.kind == kind) for kind in KINDS},
        # Ids and kinds only: a reason quotes local paths (the run's results keep it).
        "failures": [{"item_id": f["item_id"], "kind": f.get("kind")} for f in record.get("failures", [])],
        "source_metrics": {task_id: task["metrics"] for task_id, task in record["tasks"].items()},
        "not_included": elsewhere,
    })
    return write_export(Path(out), rows, metadata, rows_per_shard=rows_per_shard, failed=sorted(failed))


def _is_local_path(value: str) -> bool:
    import os

    if value.startswith(("/", "~", "\\", "file:")) or re.match(r"^[A-Za-z]:[\\/]", value):
        return True
    return os.sep in value and Path(value).exists()


def public_paths(value: Any) -> Any:
    """`value` with every local path (the run's model folder, dataset folder, ...) cut to its last
    component: an export is made to be published, and the user's folders are nobody's business."""
    if isinstance(value, dict):
        return {k: public_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [public_paths(v) for v in value]
    if isinstance(value, str) and _is_local_path(value):
        return Path(value.replace("\\", "/").removeprefix("file:")).name or value
    return value


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
) -> ExportReport:
    """Write rows + metadata as an export folder (Parquet, card, embeddings.json, manifest).

    Args:
        out: the folder (created): new, empty, or an earlier export, whose card, metadata, manifest
            and data/ are replaced (anything else in it is left alone and not listed in the
            manifest, so not published).
        rows: (unit, embedding, truncated) per row.
        metadata: the `embeddings.json` content (needs "split", "dim", "dtype", "version").
        rows_per_shard: most rows per Parquet file.
        failed: ids of items the run could not embed (named in the card).

    Returns:
        An `ExportReport`.

    Raises:
        ExportError: `out` holds files and is not an export; a split that is not a safe file name.
    """
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from vidret import __version__
    from vidret.builders.archive import sha256_file
    from vidret.builders.repo import features_yaml, write_json

    from vidret.builders.tables import is_safe_component

    if rows_per_shard < 1:
        raise ExportError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    # The split names the shard files: a results file saying "../x" must not write outside OUT.
    if not is_safe_component(str(metadata["split"])):
        raise ExportError(f"split {metadata['split']!r} is not a safe file name (it names the export's shard files)")
    if out.is_dir() and any(out.iterdir()) and not is_export_folder(out):
        # (a dataset build has a README.md, a manifest.json and a data/ folder too: never replace those)
        raise ExportError(f"--out {out} holds files that are not an export: give a new or empty folder, or an earlier export")
    out.mkdir(parents=True, exist_ok=True)
    for name in (CARD_FILE, METADATA_FILE, MANIFEST_FILE):
        (out / name).unlink(missing_ok=True)
    if (out / DATA_DIR).is_dir():
        shutil.rmtree(out / DATA_DIR)
    (out / DATA_DIR).mkdir()
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
    (out / CARD_FILE).write_text(render_card(metadata, features_yaml(schema), len(ordered), num_bytes, failed), encoding="utf-8")
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


def render_card(
    metadata: Mapping[str, Any], features: list[dict[str, Any]], num_rows: int, num_bytes: int, failed: Sequence[str]
) -> str:
    """The dataset card of an export: YAML header the Hub and `datasets` read, then the run's facts."""
    import yaml

    from vidret.benchmarks import get_benchmark

    split = metadata["split"]
    model = metadata.get("model") or {}
    dataset = metadata.get("dataset") or {}
    settings = metadata.get("settings") or {}
    title = get_benchmark(metadata["benchmark"]).title
    header = {
        "pretty_name": f"{model.get('id')} embeddings of {title} ({split})",
        "tags": ["embeddings", "vidret", "video-text-retrieval"],
        "version": metadata["version"],
        "configs": [{"config_name": "default", "data_files": [{"split": split, "path": f"{DATA_DIR}/{split}-*.parquet"}]}],
        "dataset_info": [
            {
                "config_name": "default",
                "features": features,
                "splits": [{"name": split, "num_bytes": int(num_bytes), "num_examples": int(num_rows)}],
            }
        ],
    }
    counts = ", ".join(f"{n} {kind}" for kind, n in (metadata.get("num_rows") or {}).items() if n)
    facts = [
        ("benchmark", f"{metadata['benchmark']} ({metadata.get('config')}), split {split}"),
        ("dataset", f"{dataset.get('repo')} at revision {dataset.get('revision')} (commit {dataset.get('commit')})"),
        ("model", f"{model.get('id')} at revision {model.get('revision')} (commit {model.get('commit')}, fingerprint {model.get('fingerprint')})"),
        ("adapter preset", f"{model.get('adapter')} ({model.get('adapter_class')})"),
        ("embeddings", f"{counts}; {metadata['dim']}-d {metadata['dtype']}"),
    ]
    for side, origin in (metadata.get("not_included") or {}).items():
        where = origin.get("repo") or origin.get("path")
        facts.append((f"{side} (not included)", f"the run read them from {origin.get('source')} {where} (sha256 {origin.get('sha256') or origin.get('manifest_sha256')})"))
    if model.get("random_weights"):
        facts.append(("note", "a locally built random-weight model: these embeddings are meaningless"))
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120).rstrip("\n"),
        "---",
        "",
        f"# Embeddings: {model.get('id')} on {title}",
        "",
        "Written by `vidret embeddings export` from the embedding cache of one `vidret evaluate` run.",
        "Score them without a model or a single video:",
        "",
        "```bash",
        f"vidret evaluate --benchmark {metadata['benchmark']} --data {dataset.get('repo')} --split {split} --embeddings <this repo or folder>",
        "```",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts],
        "",
        "Every setting of the run (those that change embeddings: frames, resolution, preprocessing,",
        "pooling, text length, dtype, decoding) as recorded in its results:",
        "",
        "```json",
        json.dumps(settings, indent=2, sort_keys=True),
        "```",
        "",
        "Columns: `id` (as the dataset names the item; texts by content id `text:<sha1>`), `kind`",
        "(text, video, segment, composed), `embedding`, `text` (text rows), `truncated` (text rows: the",
        "model cut the text to its maximum length). `embeddings.json` holds these facts machine-readably.",
    ]
    if failed:
        lines += ["", f"{len(failed)} item(s) failed in the run and have no embedding: " + ", ".join(f"`{f}`" for f in failed[:20])]
    return "\n".join(lines) + "\n"


# ---- reading an export ------------------------------------------------------------------------
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


def read_export(folder: str | Path) -> ExportedTable:
    """Read an export folder, checking every data file against the manifest's SHA-256.

    Raises:
        ExportError: not an export, an unknown format version, a data file that is absent,
            unlisted, altered or named outside ``data/``, a bad column, a row of unknown kind, a duplicate id.
    """
    import pyarrow.parquet as pq

    from vidret.builders.archive import sha256_file
    from vidret.builders.tables import is_safe_component

    root = Path(folder)
    metadata = _read_json(root / METADATA_FILE, "export metadata")
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
    manifest_path = root / MANIFEST_FILE
    manifest = _read_json(manifest_path, "export manifest")
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
    ids: list[str] = []
    kinds: list[str] = []
    blocks: list[np.ndarray] = []
    truncated: set[str] = set()
    for rel in files:
        path = root / rel
        # (A Hub snapshot's files are links into its blob store; the SHA-256 check below is what counts.)
        if not path.is_file():
            raise ExportError(f"{path}: listed in {MANIFEST_FILE} but not a file")
        expected = outputs[rel].get("sha256") if isinstance(outputs[rel], dict) else None
        if sha256_file(path) != expected:
            raise ExportError(f"{path}: SHA-256 differs from {MANIFEST_FILE} (altered or incomplete download)")
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
    digest = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    return ExportedTable(root, metadata, ids, kinds, np.concatenate(blocks), truncated, digest)
