"""What a results record needs to say so that a run can be repeated: exact data and model versions.

A Hub revision such as ``main`` or a tag moves; the commit it resolved to does not. A local
folder has no commit, so it is identified by a fingerprint of its files instead. Local folders
must not be published: `record_local_paths` lists the ones a record names.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidret.common import local_roots

logger = logging.getLogger(__name__)


def hub_commit(repo_id: str, revision: str | None, repo_type: str) -> str | None:
    """The commit a Hub revision points at now.

    Args:
        repo_id: Hub repo id ("org/name").
        revision: branch, tag or commit; None = the default branch.
        repo_type: "dataset" or "model".

    Returns:
        The 40-hex commit id, or None when the Hub cannot be asked (offline, no access); the
        reason is logged as a warning, since the record is then less precise.
    """
    from huggingface_hub import HfApi

    try:
        info = HfApi().repo_info(repo_id, revision=revision, repo_type=repo_type)
    except Exception as err:  # noqa: BLE001 - offline or gated: record what is known and go on
        logger.warning("cannot resolve the commit of %s %s@%s (%s); recording the revision as given",
                       repo_type, repo_id, revision or "main", err)
        return None
    return info.sha


def folder_fingerprint(path: str) -> str | None:
    """For a local folder: a hash of its files' relative names, sizes and mtimes; else None.

    A model rebuilt or edited in place gets a new fingerprint (and a new embedding cache key).
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def record_local_paths(record: Mapping[str, Any]) -> list[str]:
    """The local folders and files a results record names in its path fields.

    `dataset.repo`, `model.id`, `cache.dir`, `failures[].source` and
    `embeddings.<side>.path/model/dataset`, kept by `vidret.common.local_roots` (no Hub ids, URLs
    or bare names). `vidret submit` and `vidret embeddings export` pass them to
    `vidret.common.redact`, which replaces them whole wherever a text quotes them.
    """
    dataset, model, cache = (record.get(k) if isinstance(record.get(k), Mapping) else {} for k in ("dataset", "model", "cache"))
    candidates = [dataset.get("repo"), model.get("id"), cache.get("dir")]
    failures = record.get("failures")
    for failure in failures if isinstance(failures, list) else ():
        if isinstance(failure, Mapping):
            candidates.append(failure.get("source"))
    sides = record.get("embeddings")  # where each side's embeddings came from: folders, model ids
    for side in sides.values() if isinstance(sides, Mapping) else ():
        if isinstance(side, Mapping):
            candidates += [side.get("path"), side.get("model"), side.get("dataset")]
    return local_roots(candidates)
