"""Embedding cache: a re-run skips embedded items, a killed run resumes to identical results.

Layout: ``<cache_dir>/<namespace>/`` holds ``key.json`` (the settings the namespace stands for)
and ``parts/*.npz`` files, each one batch of ``ids`` (str), ``embeddings`` (float32, N x D) and,
for texts, ``truncated`` (bool: the model cut the text to its maximum length, so a re-run that
takes the text from the cache still reports it).
The namespace is a hash of everything that changes an embedding: model id + revision, adapter
preset, frames, resolution and the other adapter settings. Item ids name what was embedded
(a text's content hash, a video segment's source and time span), so the same item met in another
task or run is found again.

Every part is written to a temporary name and renamed into place, so a run killed midway leaves
only whole batches behind; several processes write their own parts without locking.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# 2: text parts carry `truncated` flags (format-1 namespaces are not reused).
CACHE_FORMAT = 2


def cache_namespace(key: Mapping[str, Any]) -> str:
    """Stable short hash of the settings that define an embedding space.

    Args:
        key: JSON-serialisable settings (model, revision, preset, frames, resolution, ...).

    Returns:
        A 20-character hex digest; equal keys give equal digests regardless of dict order.

    Raises:
        TypeError: if `key` holds values JSON cannot encode.
    """
    blob = json.dumps({"format": CACHE_FORMAT, **key}, sort_keys=True, default=_reject)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def _reject(value: object) -> object:
    raise TypeError(f"cache key value {value!r} ({type(value).__name__}) is not JSON-serialisable")


def text_item_id(text: str) -> str:
    """Cache id of a text: its content hash (a caption edited in a new revision is re-embedded)."""
    return "text:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings of one namespace on disk, indexed in memory.

    Args:
        root: cache directory (created if needed).
        key: the settings this namespace stands for (see `cache_namespace`).
        read: False = a write-only handle (the runner's other processes): parts are written but
            the existing ones are not read and nothing is indexed (only the main process looks
            embeddings up, so each rank holding the whole cache in memory would be waste).

    Raises:
        ValueError: if the namespace folder holds a ``key.json`` for different settings
            (a hash collision or a hand-edited folder).
    """

    def __init__(self, root: str | os.PathLike[str], key: Mapping[str, Any], read: bool = True) -> None:
        self.key = dict(key)
        self.read = read
        self.namespace = cache_namespace(self.key)
        self.path = Path(root) / self.namespace
        self.parts_dir = self.path / "parts"
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.path / "key.json"
        stored = json.dumps(self.key, sort_keys=True, indent=1)
        if key_file.exists():
            if json.loads(key_file.read_text("utf-8")) != json.loads(stored):
                raise ValueError(f"embedding cache {self.path} was written for other settings ({key_file})")
        else:
            _atomic_write_bytes(key_file, stored.encode("utf-8"))
        self._index: dict[str, np.ndarray] = {}
        self._truncated: set[str] = set()
        self._seen_parts: set[str] = set()
        if read:
            self.refresh()

    def refresh(self) -> None:
        """Read parts written since the last refresh (by this or another process).

        Raises:
            ValueError: if a part file is unreadable or malformed (its path is named).
        """
        for part in sorted(self.parts_dir.glob("*.npz")):
            if part.name in self._seen_parts:
                continue
            try:
                with np.load(part, allow_pickle=False) as data:
                    ids = [str(i) for i in data["ids"]]
                    emb = np.asarray(data["embeddings"], dtype=np.float32)
                    cut = [bool(x) for x in data["truncated"]]
            except Exception as err:  # zip/format errors come in many types
                raise ValueError(f"corrupt embedding cache part {part}: {err}; delete it to re-embed") from err
            if emb.ndim != 2 or emb.shape[0] != len(ids) or len(cut) != len(ids):
                raise ValueError(
                    f"embedding cache part {part} holds {len(ids)} ids but embeddings {emb.shape} "
                    f"and {len(cut)} truncation flags"
                )
            self._add(ids, emb, cut)
            self._seen_parts.add(part.name)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._index

    def __len__(self) -> int:
        return len(self._index)

    def get(self, item_id: str) -> np.ndarray | None:
        """The cached embedding of `item_id`, or None."""
        return self._index.get(item_id)

    def is_truncated(self, item_id: str) -> bool:
        """True if `item_id` is a cached text that the model truncated."""
        return item_id in self._truncated

    def missing(self, item_ids: Iterable[str]) -> list[str]:
        """The ids in `item_ids` (order kept) that have no cached embedding."""
        return [i for i in item_ids if i not in self._index]

    def put(self, item_ids: list[str], embeddings: np.ndarray, truncated: Sequence[bool] | None = None) -> None:
        """Store one batch as a new part file (atomically) and index it.

        Args:
            item_ids: ids of the rows of `embeddings`.
            embeddings: float array (N x D).
            truncated: per id, whether the text was truncated (None = none was).

        Raises:
            ValueError: if the numbers of ids, rows and flags differ.
        """
        emb = np.ascontiguousarray(embeddings, dtype=np.float32)
        cut = [False] * len(item_ids) if truncated is None else [bool(x) for x in truncated]
        if emb.ndim != 2 or emb.shape[0] != len(item_ids) or len(cut) != len(item_ids):
            raise ValueError(
                f"cache.put: {len(item_ids)} ids but embeddings of shape {emb.shape} and {len(cut)} truncation flags"
            )
        if not item_ids:
            return
        name = f"{os.getpid()}-{uuid.uuid4().hex}.npz"
        tmp = self.parts_dir / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, ids=np.asarray(item_ids, dtype=str), embeddings=emb, truncated=np.asarray(cut, dtype=bool))
        os.replace(tmp, self.parts_dir / name)
        if self.read:
            self._seen_parts.add(name)
            self._add(item_ids, emb, cut)

    def _add(self, item_ids: list[str], emb: np.ndarray, cut: list[bool]) -> None:
        for item_id, row, flag in zip(item_ids, emb, cut):
            self._index[item_id] = row
            if flag:
                self._truncated.add(item_id)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
