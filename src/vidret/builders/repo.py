"""Writing a Hub dataset repo folder: Parquet shards, card, eval.yaml, manifest, videos.

Everything here is deterministic: the same rows give byte-identical Parquet (fixed row order,
writer options and no timestamps), and the card, `eval.yaml` and manifest carry no dates.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from vidret.common import atomic_write_text
from vidret.benchmarks import BenchmarkSpec, eval_yaml_tasks

# Paths a build owns inside OUT; a rebuild replaces exactly these and leaves the rest (e.g. .git).
MANAGED_PATHS = ("data", "videos", "README.md", "eval.yaml", "manifest.json", "missing.json")
# Card sections shared by every benchmark's card (`{% include %}`d by the templates).
SHARED_TEMPLATES = "vidret.dataset_repos"
# A build is staged in a sibling of OUT named so, holding a marker naming its owner (see `make_stage`).
STAGE_PREFIX = ".vidret-build-"
STAGE_OWNER = "owner.json"

logger = logging.getLogger(__name__)


def make_stage(out: Path) -> Path:
    """A new, empty staging folder beside `out` (same file system: the final moves are renames),
    with a marker recording this process, its host and `out`, so that a later build can tell it
    is stale once this process is gone (`clean_stale_stages`)."""
    stage_root = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=out.parent))
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "out": os.path.realpath(out)}
    atomic_write_text(stage_root / STAGE_OWNER, json.dumps(owner, sort_keys=True) + "\n")
    return stage_root


def _running(pid: int) -> bool:
    """False only when no process `pid` exists on this machine (unsure counts as running)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill would end the process on Windows: ask psutil, else keep the folder
        try:
            import psutil
        except ImportError:
            return True
        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def _owner(stage_root: Path) -> dict[str, Any] | None:
    try:
        with open(stage_root / STAGE_OWNER, "rb") as fh:
            owner = json.loads(fh.read(4096).decode("utf-8"))  # ours is one short line
    except (OSError, ValueError, RecursionError):
        return None
    return owner if isinstance(owner, dict) else None


def clean_stale_stages(out: Path) -> list[Path]:
    """Remove the staging folders of earlier builds of `out` whose process is gone (killed, e.g.
    by SIGKILL or a power cut, before it could clean up).

    Only a folder beside `out` named with `STAGE_PREFIX`, whose marker names `out`, this host and a
    process that no longer exists, is removed. A live build's stage (its process runs) is kept, and
    so is one without a readable marker (an older vidret's, or one this instant being made) or one
    holding an earlier build moved aside mid-swap (``previous/``: OUT may need it back); those
    are named in a warning.

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    here, target = socket.gethostname(), os.path.realpath(out)
    try:
        candidates = sorted(p for p in out.parent.iterdir() if p.name.startswith(STAGE_PREFIX))
    except OSError:
        return removed
    for stage_root in candidates:
        if stage_root.is_symlink() or not stage_root.is_dir():
            continue
        owner = _owner(stage_root)
        if owner is None:
            logger.warning("%s: a build folder without an owner marker (an older vidret's?), left alone; "
                           "remove it if no build is running", stage_root)
            continue
        pid = owner.get("pid")
        if owner.get("out") != target or owner.get("host") != here or not isinstance(pid, int) or isinstance(pid, bool):
            continue  # another OUT's, another machine's (a shared disk): not ours to judge
        if _running(pid):
            continue
        previous = stage_root / "previous"
        if previous.is_dir() and any(previous.iterdir()):
            logger.warning("%s: left by build process %d, which stopped while swapping it into %s; it holds the "
                           "earlier build's files (previous/): check %s, then remove it", stage_root, pid, out, out)
            continue
        shutil.rmtree(stage_root, ignore_errors=True)
        logger.info("removed %s, left by build process %d (no longer running)", stage_root, pid)
        removed.append(stage_root)
    return removed


def swap_in(stage: Path, out: Path, trash: Path) -> None:
    """Move a finished build from `stage` into `out`, replacing what an earlier build wrote there.

    Only the paths in MANAGED_PATHS are replaced; anything else in `out` (e.g. ``.git``) stays.
    The earlier build's paths are first moved aside into `trash` (same file system: renames), then
    the new ones moved in; if a move fails, the earlier build is put back. So an interrupted build
    never leaves `out` half-written: until this call it is untouched.

    Args:
        stage: the folder the build was written to (a sibling of `out`).
        out: the repo folder.
        trash: an empty folder on the same file system, for the earlier build's paths.
    """
    out.mkdir(parents=True, exist_ok=True)
    trash.mkdir(parents=True, exist_ok=True)
    moved_aside: list[str] = []
    moved_in: list[str] = []
    try:
        for name in MANAGED_PATHS:
            if (out / name).is_symlink() or (out / name).exists():
                os.replace(out / name, trash / name)
                moved_aside.append(name)
        for name in MANAGED_PATHS:
            if (stage / name).exists():
                os.replace(stage / name, out / name)
                moved_in.append(name)
    except BaseException:
        for name in moved_in:  # undo: the earlier build comes back whole
            os.replace(out / name, stage / name)
        for name in moved_aside:
            os.replace(trash / name, out / name)
        raise
    shutil.rmtree(trash, ignore_errors=True)


def write_shards(rows: Sequence[Mapping[str, Any]], schema, folder: Path, split: str, max_rows: int) -> tuple[list[Path], int]:
    """Write `rows` as ``<split>-NNNNN-of-MMMMM.parquet`` shards of at most `max_rows` rows.

    Args:
        rows: the rows, already in their final order.
        schema: a `pyarrow.Schema`; cells are cast to it.
        folder: ``OUT/data/<config>``.
        split: split name.
        max_rows: rows per shard.

    Returns:
        The shard files written, and the in-memory Arrow size of the rows (the card's ``num_bytes``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    num_shards = max(1, -(-len(rows) // max_rows))
    written, num_bytes = [], 0
    for index in range(num_shards):
        chunk = rows[index * max_rows : (index + 1) * max_rows]
        table = pa.Table.from_pylist(list(chunk), schema=schema)
        path = folder / f"{split}-{index:05d}-of-{num_shards:05d}.parquet"
        # Fixed writer options: the same rows give the same bytes (no timestamps in Parquet).
        pq.write_table(table, path, compression="zstd", row_group_size=10_000, write_statistics=True)
        written.append(path)
        num_bytes += table.nbytes
    return written, num_bytes


def features_yaml(schema) -> list[dict[str, Any]]:
    """The card-YAML form of a pyarrow schema, as `datasets` writes and reads it."""
    from datasets import Features

    return Features.from_arrow_schema(schema)._to_yaml_list()


def card_yaml(
    spec: BenchmarkSpec,
    version: str,
    schemas: Mapping[str, Any],
    num_rows: Mapping[str, Mapping[str, int]],
    num_bytes: Mapping[str, Mapping[str, int]],
    license_id: str,
) -> str:
    """The YAML header of the dataset card: configs with data files, features, splits, version."""
    configs, infos = [], []
    for config, splits in num_rows.items():
        present = [s for s, n in splits.items() if n > 0]
        configs.append(
            {
                "config_name": config,
                "data_files": [{"split": s, "path": f"data/{config}/{s}-*.parquet"} for s in present],
            }
        )
        infos.append(
            {
                "config_name": config,
                "features": features_yaml(schemas[config]),
                "splits": [
                    {"name": s, "num_bytes": int(num_bytes[config][s]), "num_examples": int(splits[s])} for s in present
                ],
            }
        )
    header: dict[str, Any] = {
        "pretty_name": spec.title,
        "license": license_id,
        "tags": ["video", "video-text-retrieval", "benchmark", "vidret"],
        "version": version,
        "configs": configs,
        "dataset_info": infos,
    }
    return yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120)


def render_card(template_package: str, template_name: str, context: Mapping[str, Any]) -> str:
    """Render a card template shipped in a benchmark's package with Jinja2.

    ``{% include "<name>" %}`` in a template loads a section shared by every card from
    `SHARED_TEMPLATES` (``datasets_scripts/<name>`` in the source tree).

    Args:
        template_package: the package holding the template (``vidret.benchmarks.lovr``).
        template_name: its file name (``README.md.jinja``).
        context: the template variables; a variable the template uses but `context` lacks
            is an error.

    Returns:
        The rendered card.

    Raises:
        FileNotFoundError: the template, or a section it includes, is not shipped.
    """
    from importlib.resources import files

    import jinja2

    def read(package: str, name: str) -> str:
        resource = files(package).joinpath(name)
        if not resource.is_file():
            raise FileNotFoundError(f"card template {name!r} not found in package {package!r}")
        return resource.read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: read(SHARED_TEMPLATES, name)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.from_string(read(template_package, template_name)).render(**context)


def eval_yaml(spec: BenchmarkSpec, version: str, split: str, description: str) -> str:
    """The Hub benchmark file: one entry per task id of `vidret.benchmarks`, with its metrics, under
    every protocol (the official protocol's tasks carry their own ids, e.g. ``t2v_official``)."""
    doc = {
        "name": spec.short_title,
        "description": description,
        "version": version,
        "evaluation_framework": "vidret",
        "tasks": eval_yaml_tasks(spec, split),
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def write_json(path: Path, data: Any) -> None:
    """Deterministic JSON (sorted keys, 2-space indent, trailing newline), written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def place_video(source: Path, dest: Path, mode: str, move: bool = False) -> None:
    """Put one video into the repo folder.

    Args:
        source: the raw video file.
        dest: ``OUT/videos/<name>.mp4``.
        mode: ``"copy"`` or ``"link"`` (absolute symbolic link to `source`).
        move: with ``"copy"``, move instead (sources extracted into a temporary folder).

    Raises:
        UnsafeArchiveError: `move` and `source` is a symbolic link (moved as-is, it could resolve
            outside the output folder; extraction never makes links, so this is a bug or an attack).
        ValueError: an unknown mode.
    """
    from vidret.builders.config import UnsafeArchiveError

    dest.parent.mkdir(parents=True, exist_ok=True)
    if mode == "copy":
        if move:
            if source.is_symlink():
                raise UnsafeArchiveError(f"{source.name}: an extracted video is a link; refusing to move it into {dest.parent}")
            shutil.move(os.fspath(source), dest)
        else:
            shutil.copyfile(source, dest)
    elif mode == "link":
        os.symlink(os.path.abspath(source), dest)
    else:
        raise ValueError(f"cannot place a video with mode {mode!r}")
