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

Only usable rows are cached: `put` refuses a row that holds NaN/inf or is all zeros (cosine
similarity is undefined for it) and names the item, so a bad model output is never found again
by a re-run. A part read back with such a row, of another dimension than the namespace's other
parts, or unreadable, is moved to ``<namespace>/quarantine/`` with a warning naming the part and
the item; its items count as not cached and are embedded again. An unreadable ``key.json`` is
moved there too, with a warning naming it, and written anew.
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

from vidret.common import atomic_write_bytes, atomic_writer

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


class InvalidEmbeddingError(ValueError):
    """`EmbeddingCache.put` was given rows it must not cache (NaN/inf, all zeros, wrong dimension).

    Attributes:
        problems: ``{item id: what is wrong with its row}``.
    """

    def __init__(self, message: str, problems: Mapping[str, str]) -> None:
        super().__init__(message)
        self.problems = dict(problems)

    @classmethod
    def for_rows(cls, item_ids: Sequence[str], embeddings: np.ndarray, what_happened: str) -> InvalidEmbeddingError | None:
        """The error naming the items of `embeddings` that `invalid_rows` finds, or None when every row is usable.

        Args:
            item_ids: one id per row.
            embeddings: N x D array.
            what_happened: the end of the message, e.g. "they were not cached".
        """
        bad = {item_ids[row]: problem for row, problem in invalid_rows(embeddings).items()}
        if not bad:
            return None
        listed = "; ".join(f"item {i!r} {problem}" for i, problem in list(bad.items())[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        return cls(f"the model returned unusable embeddings: {listed}{more}; {what_happened}", bad)


def invalid_rows(embeddings: np.ndarray) -> dict[int, str]:
    """Rows of a 2-D embedding array that cannot be ranked by cosine similarity.

    Args:
        embeddings: N x D array.

    Returns:
        ``{row index: "holds a NaN" | "holds an infinite value" | "is all zeros"}``, empty when
        every row is usable.
    """
    emb = np.asarray(embeddings)
    if emb.size == 0 or np.isfinite(emb).all() and (emb != 0).any(axis=1).all():
        return {}  # the common case: two vectorised passes, no Python loop
    problems: dict[int, str] = {}
    nan, inf, zero = np.isnan(emb).any(axis=1), np.isinf(emb).any(axis=1), ~(emb != 0).any(axis=1)
    for row in np.flatnonzero(nan | inf | zero):
        problems[int(row)] = "holds a NaN" if nan[row] else "holds an infinite value" if inf[row] else "is all zeros"
    return problems


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
        self.quarantine_dir = self.path / "quarantine"
        key_file = self.path / "key.json"
        stored = json.dumps(self.key, sort_keys=True, indent=1)
        written = self._read_key(key_file)
        if written is None:  # a new namespace, or its key file was unreadable (quarantined)
            atomic_write_bytes(key_file, stored.encode("utf-8"))
        elif written != json.loads(stored):
            raise ValueError(f"embedding cache {self.path} was written for other settings ({key_file})")
        self._index: dict[str, np.ndarray] = {}
        self._truncated: set[str] = set()
        self._seen_parts: set[str] = set()
        self._dim: int | None = None  # embedding dimension of the namespace, once known
        if read:
            self.refresh()

    def refresh(self) -> None:
        """Read parts written since the last refresh (by this or another process).

        A part that is unreadable or malformed, holds a row with NaN/inf or all zeros, or whose
        dimension differs from the namespace's (the dimension most rows have) is not indexed: it
        is moved to ``quarantine/`` and a warning names the part, the item and the problem, so
        its items are embedded again.
        """
        loaded: list[tuple[Path, list[str], np.ndarray, list[bool]]] = []
        for part in sorted(self.parts_dir.glob("*.npz")):
            if part.name in self._seen_parts:
                continue
            self._seen_parts.add(part.name)
            try:
                with np.load(part, allow_pickle=False) as data:
                    ids = [str(i) for i in data["ids"]]
                    emb = np.asarray(data["embeddings"], dtype=np.float32)
                    cut = [bool(x) for x in data["truncated"]]
            except Exception as err:  # zip/format errors come in many types
                self._quarantine(part, f"is unreadable ({type(err).__name__}: {err})")
                continue
            if emb.ndim != 2 or emb.shape[0] != len(ids) or len(cut) != len(ids):
                self._quarantine(
                    part, f"holds {len(ids)} ids but embeddings of shape {emb.shape} and {len(cut)} truncation flags"
                )
                continue
            bad = invalid_rows(emb)
            if bad:
                row, problem = next(iter(bad.items()))
                more = f" (and {len(bad) - 1} more row(s))" if len(bad) > 1 else ""
                self._quarantine(part, f"item {ids[row]!r} (row {row}) {problem}{more}", len(ids))
                continue
            loaded.append((part, ids, emb, cut))
        if self._dim is None and loaded:
            # The namespace's dimension is the one most cached rows have: a stray part of another
            # size (a hand-copied file, a model changed under the same key) must not win.
            rows_per_dim: dict[int, int] = {}
            for _, ids, emb, _ in loaded:
                rows_per_dim[emb.shape[1]] = rows_per_dim.get(emb.shape[1], 0) + len(ids)
            self._dim = max(rows_per_dim, key=lambda d: (rows_per_dim[d], -d))
        for part, ids, emb, cut in loaded:
            if emb.shape[1] != self._dim:
                self._quarantine(
                    part,
                    f"item {ids[0]!r} has {emb.shape[1]} dimensions, but the namespace's embeddings have {self._dim}",
                    len(ids),
                )
                continue
            self._add(ids, emb, cut)

    def _read_key(self, key_file: Path) -> Any:
        """The settings `key_file` records; None when there is none, or when it is unreadable (cut
        by a crash or a full disk): then it is moved to ``quarantine/`` with a warning naming it,
        and the namespace goes on as a fresh one (its parts were written for these settings: the
        namespace is their hash; each part is checked as it is read)."""
        try:
            return json.loads(key_file.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, RecursionError) as err:  # bad UTF-8 or JSON, or nested past Python's limit
            problem = f"{type(err).__name__}: {str(err)[:200]}"
        where = self._move_to_quarantine(key_file, f"key-{uuid.uuid4().hex[:12]}.json", "not moved")
        logger.warning("embedding cache key file %s is unreadable (%s); %s; the settings are written anew", key_file, problem, where)
        return None

    def _move_to_quarantine(self, path: Path, name: str, failed: str) -> str:
        """Move `path` to ``quarantine/<name>``; what happened, for the warning (`failed` + the error if it stayed)."""
        dest = self.quarantine_dir / name
        try:
            self.quarantine_dir.mkdir(exist_ok=True)
            os.replace(path, dest)
        except OSError as err:  # moved by another process meanwhile, or a read-only cache
            return f"{failed} ({type(err).__name__}: {err})"
        return f"moved to {dest}"

    def _quarantine(self, part: Path, problem: str, num_items: int | None = None) -> None:
        """Move a bad part out of ``parts/`` (its items will be embedded again), with a warning."""
        where = self._move_to_quarantine(part, part.name, "left in place, not used")
        items = f"its {num_items} item(s) will be embedded again" if num_items is not None else "its items will be embedded again"
        logger.warning("embedding cache part %s %s; %s; %s", part, problem, where, items)

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
            InvalidEmbeddingError: (a ValueError) if a row holds NaN/inf or is all zeros, or the
                rows have another dimension than the cached ones. The message names the items;
                the other rows of the batch are cached, the bad ones never are.
        """
        emb = np.ascontiguousarray(embeddings, dtype=np.float32)
        cut = [False] * len(item_ids) if truncated is None else [bool(x) for x in truncated]
        if emb.ndim != 2 or emb.shape[0] != len(item_ids) or len(cut) != len(item_ids):
            raise ValueError(
                f"cache.put: {len(item_ids)} ids but embeddings of shape {emb.shape} and {len(cut)} truncation flags"
            )
        if not item_ids:
            return
        if self._dim is not None and emb.shape[1] != self._dim:
            raise InvalidEmbeddingError(
                f"cache.put: embeddings of {emb.shape[1]} dimensions (item {item_ids[0]!r}), but {self.path} "
                f"holds embeddings of {self._dim}; nothing was cached",
                {i: f"has {emb.shape[1]} dimensions, not {self._dim}" for i in item_ids},
            )
        bad_rows = invalid_rows(emb)
        if bad_rows:
            keep = [row for row in range(len(item_ids)) if row not in bad_rows]
            self._write_part([item_ids[r] for r in keep], emb[keep], [cut[r] for r in keep])
            raise InvalidEmbeddingError.for_rows(
                item_ids, emb, f"they were not cached (the batch's {len(keep)} other item(s) were)"
            )
        self._write_part(item_ids, emb, cut)

    def _write_part(self, item_ids: list[str], emb: np.ndarray, cut: list[bool]) -> None:
        if not item_ids:
            return
        name = f"{os.getpid()}-{uuid.uuid4().hex}.npz"
        # A hidden .tmp until complete (never globbed); no fsync per batch: a part torn by a power
        # loss is quarantined when read and its units embedded again.
        with atomic_writer(self.parts_dir / name, "wb", durable=False) as fh:
            np.savez(fh, ids=np.asarray(item_ids, dtype=str), embeddings=emb, truncated=np.asarray(cut, dtype=bool))
        if self.read:
            self._seen_parts.add(name)
            self._dim = emb.shape[1]
            self._add(item_ids, emb, cut)

    def _add(self, item_ids: list[str], emb: np.ndarray, cut: list[bool]) -> None:
        for item_id, row, flag in zip(item_ids, emb, cut):
            self._index[item_id] = row
            if flag:
                self._truncated.add(item_id)
