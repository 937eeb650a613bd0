"""Before `vidret embeddings export` writes into a folder: is it new, empty, or an earlier export?

An export replaces an earlier one in place, so it must never mistake another folder for one (a
dataset build also has a README.md, a manifest.json and a data/ folder; a project folder may hold
an ``embeddings.json`` of its own). A folder is an earlier export only when its ``manifest.json``
is vidret's export manifest (``"kind": "embeddings"``, ``outputs`` naming the card, the metadata
and Parquet shards under ``data/``) and the folder holds exactly the files it lists, each with
its recorded size and SHA-256: no other file or folder anywhere below it. Anything else is
refused before a byte is touched, naming the folder and the first file that does not belong.
Replacing then deletes only the files the manifest lists, and the ``data/`` folder once empty.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from vidret.common import is_safe_component, sha256_file
from vidret.evaluation.embeddings.export import CARD_FILE, DATA_DIR, MANIFEST_FILE, MAX_JSON_BYTES, METADATA_FILE, ExportError

_HOW = "nothing was changed: give a new or empty folder, or the folder of an earlier export"


def _refuse(out: Path, problem: str) -> ExportError:
    return ExportError(f"--out {out} holds files that are not an export ({problem}); {_HOW}")


def _is_export_output(rel: str) -> bool:
    """A path an export writes: its card, its metadata, or one Parquet shard directly in data/."""
    if rel in (CARD_FILE, METADATA_FILE):
        return True
    folder, _, name = rel.partition("/")
    return folder == DATA_DIR and is_safe_component(name) and name.endswith(".parquet")


def _listed_outputs(out: Path, files: list[str]) -> dict[str, dict]:
    """The ``outputs`` of `out`'s manifest, when it is an export manifest; else an ExportError."""
    path = out / MANIFEST_FILE
    if path.is_symlink() or not path.is_file():
        first = next((rel for rel in files if rel != MANIFEST_FILE), None)
        raise _refuse(out, f"{first + ', and ' if first else ''}no {MANIFEST_FILE} of an export")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise _refuse(out, f"{MANIFEST_FILE}: {path.stat().st_size} bytes, more than an export manifest holds")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as err:  # bad UTF-8 or JSON, or nested past Python's limit
        raise _refuse(out, f"{MANIFEST_FILE}: not valid JSON ({type(err).__name__})") from None
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind != "embeddings" or not isinstance(outputs, dict):
        what = "no 'outputs' object" if kind == "embeddings" else f"'kind' is {kind if kind is None else str(kind)[:40]!r}, not 'embeddings'"
        raise _refuse(out, f"{MANIFEST_FILE} is not an export manifest: {what}")
    if METADATA_FILE not in outputs:
        raise _refuse(out, f"{MANIFEST_FILE} does not list {METADATA_FILE}")
    for rel, entry in outputs.items():
        if not _is_export_output(rel):
            raise _refuse(out, f"{MANIFEST_FILE} lists {rel!r}, which no export writes")
        if not isinstance(entry, dict):
            raise _refuse(out, f"{MANIFEST_FILE}: the entry of {rel!r} is not an object")
    return outputs


def _present(out: Path) -> tuple[list[str], list[str]]:
    """Files and folders below `out` (relative POSIX paths, sorted; links count as files, never followed)."""
    files: list[str] = []
    folders: list[str] = []
    for top, dirs, names in os.walk(out, followlinks=False):
        rel_top = Path(top).relative_to(out).as_posix()
        prefix = "" if rel_top == "." else f"{rel_top}/"
        for name in dirs:
            if os.path.islink(os.path.join(top, name)):
                files.append(prefix + name)  # a link to a folder: not followed, and no export writes one
            else:
                folders.append(prefix + name)
        files += [prefix + name for name in names]
    return sorted(files), sorted(folders)


def earlier_export_files(out: Path) -> list[Path]:
    """The files an export may delete from `out` before writing there.

    Args:
        out: the ``--out`` folder.

    Returns:
        Nothing for a folder that does not exist or is empty; for an earlier export, every file its
        manifest lists, and the manifest itself.

    Raises:
        ExportError: `out` is a file, or a folder that is not an earlier export: no export manifest,
            a file or folder the manifest does not list, a listed file absent, a link, or of another
            size or SHA-256. One line naming `out` and the first such file; nothing is changed.
    """
    if not out.exists() and not out.is_symlink():
        return []
    if out.is_symlink() or not out.is_dir():
        raise ExportError(f"--out {out} is not a folder; {_HOW}")
    files, folders = _present(out)
    if not files and not folders:
        return []
    outputs = _listed_outputs(out, files)
    expected = {*outputs, MANIFEST_FILE}
    for rel in folders:
        if rel != DATA_DIR:
            raise _refuse(out, f"folder {rel}/ is not part of an export")
    for rel in files:
        if rel not in expected:
            raise _refuse(out, f"{rel} is not listed in {MANIFEST_FILE}")
    for rel in sorted(outputs):
        path = out / rel
        if path.is_symlink() or not path.is_file():
            raise _refuse(out, f"{rel} is listed in {MANIFEST_FILE} but not a file there")
        entry = outputs[rel]
        if path.stat().st_size != entry.get("size") or sha256_file(path) != entry.get("sha256"):
            raise _refuse(out, f"{rel} differs from its size or SHA-256 in {MANIFEST_FILE} (changed since the export?)")
    return [out / rel for rel in sorted(expected)]


def remove_earlier_export(out: Path, files: list[Path]) -> None:
    """Delete `files` (from `earlier_export_files`), then ``data/`` when that leaves it empty."""
    for path in files:
        path.unlink(missing_ok=True)
    data = out / DATA_DIR
    if data.is_dir() and not data.is_symlink() and not any(data.iterdir()):
        data.rmdir()
