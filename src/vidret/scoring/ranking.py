"""Top-k rankings and first-relevant ranks from scores or embeddings, chunked over queries.

The tie rule everywhere: a higher score ranks first; equal scores rank by gallery index, lower
index first. `torch.topk` alone does not guarantee that, so rows where a tie straddles the
k-th place are re-ranked with a stable sort, and the top-k block is put in (score desc,
index asc) order with a stable sort too.

Work happens on the device of the input tensors, `chunk_size` query rows at a time, so a
100K x 100K problem never needs a dense 100K x 100K matrix (only `chunk_size` x gallery).
torch is imported lazily: importing `vidret.scoring` stays cheap for the evaluate modules.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from vidret.scoring._checks import as_id_list, check_k

if TYPE_CHECKING:
    import torch

# Default work block: about 2**24 scores (64 MiB in float32) per chunk.
_BLOCK_ELEMENTS = 1 << 24
# Show a progress bar only when there are this many chunks or more.
_PROGRESS_MIN_CHUNKS = 8


def _auto_chunk(chunk_size: int | None, num_gallery: int) -> int:
    if chunk_size is None:
        return max(1, _BLOCK_ELEMENTS // max(1, num_gallery))
    return check_k(chunk_size, "chunk_size")


def _as_matrix(x: Any, name: str) -> torch.Tensor:
    import torch

    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (rows x columns) tensor, got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    return t


def _index_gallery(gallery_ids: Sequence[Hashable], num_gallery: int) -> dict[Hashable, int]:
    if isinstance(gallery_ids, (str, bytes)):
        raise TypeError("gallery_ids must be a sequence of ids, not a single string")
    if len(gallery_ids) != num_gallery:
        raise ValueError(f"gallery_ids has {len(gallery_ids)} ids but the gallery has {num_gallery} items")
    index: dict[Hashable, int] = {}
    for j, gid in enumerate(gallery_ids):
        if gid in index:
            raise ValueError(f"gallery_ids must be unique; {gid!r} appears at positions {index[gid]} and {j}")
        index[gid] = j
    return index


def _check_finite(block: torch.Tensor, name: str, row_offset: int) -> None:
    import torch

    # One reduction is cheaper than an elementwise mask; only a non-finite sum needs the exact check
    # (a huge but finite sum can overflow to inf, hence the second look).
    if torch.isfinite(block.sum()):
        return
    bad = (~torch.isfinite(block)).nonzero()
    if bad.numel():
        r, c = bad[0].tolist()
        raise ValueError(f"{name} contain a non-finite value ({block[r, c].item()}) at row {row_offset + r}, column {c}")


def _exclusion_cells(
    exclude: Sequence[Iterable[Hashable]] | None,
    start: int,
    stop: int,
    id_index: dict[Hashable, int] | None,
    num_gallery: int,
) -> tuple[list[int], list[int]]:
    """(row-in-chunk, gallery column) pairs to exclude for queries start..stop-1.

    Ids absent from the gallery are ignored (e.g. a TF-CoVR query video that is no target).
    """
    rows: list[int] = []
    cols: list[int] = []
    if exclude is None:
        return rows, cols
    for q in range(start, stop):
        items = exclude[q]
        if items is None:
            continue
        for item in as_id_list(items, "exclude", q):
            j = _resolve(item, id_index, num_gallery, "exclude", q)
            if j is not None:
                rows.append(q - start)
                cols.append(j)
    return rows, cols


def _resolve(item: Hashable, id_index: dict[Hashable, int] | None, num_gallery: int, what: str, row: int) -> int | None:
    """Gallery column of `item`: an id looked up in `id_index`, else a 0-based int index."""
    if id_index is not None:
        return id_index.get(item)
    if isinstance(item, bool) or not isinstance(item, int):
        try:
            item = int(item.__index__())  # numpy / torch integer scalars
        except (AttributeError, TypeError):
            raise TypeError(
                f"{what} of query {row} holds {item!r}; without gallery_ids, items must be int gallery indices"
            ) from None
    if num_gallery == 0:
        raise ValueError(f"{what} of query {row} holds index {item} but the gallery is empty")
    if not 0 <= item < num_gallery:
        raise ValueError(f"{what} of query {row} holds index {item}, outside the gallery (0..{num_gallery - 1})")
    return item


def _topk_block(block: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k (values, indices) per row of `block`, ordered by (value desc, index asc).

    `block` is finite except for -inf at excluded cells; rows may keep -inf entries in the
    result when fewer than k cells are rankable (the caller drops them).
    """
    import torch

    num_cols = block.shape[1]
    k = min(k, num_cols)
    # One extra candidate tells whether a tie straddles the k-th place: then topk may have kept
    # any of the tied cells, and the row is re-ranked exactly. Rows whose k-th value is -inf
    # have < k rankable cells, so every finite one is already in.
    values, idx = torch.topk(block, min(k + 1, num_cols), dim=1, largest=True, sorted=True)
    if values.shape[1] > k:
        straddle = (values[:, k] == values[:, k - 1]) & torch.isfinite(values[:, k - 1])
        values, idx = values[:, :k], idx[:, :k]
        rows = straddle.nonzero().flatten()
        if rows.numel():
            full = torch.sort(block[rows], dim=1, descending=True, stable=True)
            values[rows] = full.values[:, :k]
            idx[rows] = full.indices[:, :k]
    # Within the top k, equal values must come in index order: sort by index, then stable by value.
    idx, perm = idx.sort(dim=1)
    values = values.gather(1, perm)
    values, order = values.sort(dim=1, descending=True, stable=True)
    return values, idx.gather(1, order)


def _ids_from_block(values: torch.Tensor, idx: torch.Tensor, gallery_ids: Sequence[Hashable]) -> list[list[Hashable]]:
    import torch

    counts = torch.isfinite(values).sum(dim=1).tolist()  # -inf = excluded cell, never ranked
    return [[gallery_ids[j] for j in row[:n]] for row, n in zip(idx.tolist(), counts)]


def _rank_in_chunks(
    block_of: Callable[[int, int], torch.Tensor],
    num_queries: int,
    step: int,
    k: int,
    exclude: Sequence[Iterable[Hashable] | None] | None,
    id_index: dict[Hashable, int],
    gallery_ids: Sequence[Hashable],
    owned: bool,
) -> list[list[Hashable]]:
    """Top-k ids for queries [0, num_queries), `step` rows at a time; `block_of(a, b)` gives scores.

    `owned` says whether a block may be written to (exclusions are masked with -inf).
    """
    import torch

    num_gallery = len(gallery_ids)
    if num_gallery == 0:
        return [[] for _ in range(num_queries)]
    out: list[list[Hashable]] = []
    starts = range(0, num_queries, step)
    with torch.inference_mode():
        for start in tqdm(starts, desc="ranking", unit="chunk", disable=len(starts) < _PROGRESS_MIN_CHUNKS):
            stop = min(start + step, num_queries)
            block = block_of(start, stop)
            rows, cols = _exclusion_cells(exclude, start, stop, id_index, num_gallery)
            if rows:
                if not owned:
                    block = block.clone()
                block[torch.tensor(rows, device=block.device), torch.tensor(cols, device=block.device)] = float("-inf")
            values, idx = _topk_block(block, k)
            out.extend(_ids_from_block(values, idx, gallery_ids))
    return out


def _check_exclude_len(exclude: Sequence | None, num_queries: int) -> None:
    if exclude is not None and len(exclude) != num_queries:
        raise ValueError(f"exclude must have one entry per query: got {len(exclude)} for {num_queries} queries")


def rank_from_scores(
    scores: Any,
    gallery_ids: Sequence[Hashable],
    k: int,
    exclude: Sequence[Iterable[Hashable] | None] | None = None,
    chunk_size: int | None = None,
) -> list[list[Hashable]]:
    """Top-k gallery ids per query from a (queries x gallery) score matrix.

    Higher score = better. Ties are broken by gallery index (lower index first). The matrix
    is processed `chunk_size` query rows at a time on its own device; it is never modified.

    Args:
        scores: 2-D torch tensor (or array-like) of shape (num_queries, num_gallery); every
            value must be finite. Non-float input is converted to float64.
        gallery_ids: one id per gallery column, unique.
        k: how many ids to return per query (>= 1); fewer come back when fewer items are
            rankable (k > gallery size, or items excluded).
        exclude: optional, one entry per query: ids that must not be ranked for that query
            (None or empty for none). Ids absent from `gallery_ids` are ignored.
        chunk_size: query rows per chunk; default about 2**24 / num_gallery.

    Returns:
        One list of gallery ids per query, best first.

    Raises:
        ValueError: `scores` is not 2-D, holds NaN/inf, `gallery_ids` has the wrong length or
            duplicates, `exclude` has the wrong length, or `k`/`chunk_size` < 1.
        TypeError: `k`/`chunk_size` is not an int, or an `exclude` entry is a bare string.
    """
    k = check_k(k)
    s = _as_matrix(scores, "scores")
    num_queries, num_gallery = s.shape
    id_index = _index_gallery(gallery_ids, num_gallery)
    _check_exclude_len(exclude, num_queries)
    step = _auto_chunk(chunk_size, num_gallery)

    def block_of(start: int, stop: int) -> torch.Tensor:
        block = s[start:stop]
        _check_finite(block, "scores", start)
        return block

    # Slices of `scores` are views: clone before masking, never write into the caller's tensor.
    return _rank_in_chunks(block_of, num_queries, step, k, exclude, id_index, gallery_ids, owned=False)


def _normalized(x: Any, name: str) -> torch.Tensor:
    import torch

    t = _as_matrix(x, name)
    if not bool(torch.isfinite(t).all()):
        r = int((~torch.isfinite(t)).any(dim=1).nonzero()[0, 0])
        raise ValueError(f"{name} row {r} holds a NaN or inf value")
    if t.shape[1] == 0:
        raise ValueError(f"{name} have dimension 0: nothing to compare")
    # Divide each row by its largest magnitude before taking the norm: the squares inside the
    # norm overflow to inf for float32 values above ~1.8e19 (every score of the row would be
    # 0, a silent tie) and underflow to 0 below ~1e-19 (a good row mistaken for all zeros).
    scale = t.abs().amax(dim=1)
    if bool((scale == 0).any()):
        r = int((scale == 0).nonzero()[0, 0])
        raise ValueError(f"{name} row {r} is all zeros: cosine similarity is undefined for it")
    t = t / scale[:, None]
    return t / t.norm(dim=1)[:, None]


def _embedding_pair(queries: Any, gallery: Any) -> tuple[torch.Tensor, torch.Tensor]:
    q = _as_matrix(queries, "queries")
    g = _as_matrix(gallery, "gallery")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]} but gallery embeddings have {g.shape[1]}")
    if q.device != g.device:
        raise ValueError(f"queries are on {q.device} but the gallery is on {g.device}; put both on one device")
    q, g = _normalized(q, "queries"), _normalized(g, "gallery")
    if q.dtype != g.dtype:
        dtype = q.dtype if q.dtype.itemsize >= g.dtype.itemsize else g.dtype
        q, g = q.to(dtype), g.to(dtype)
    return q, g


def rank_from_embeddings(
    queries: Any,
    gallery: Any,
    gallery_ids: Sequence[Hashable],
    k: int,
    exclude: Sequence[Iterable[Hashable] | None] | None = None,
    chunk_size: int | None = None,
) -> list[list[Hashable]]:
    """Top-k gallery ids per query by cosine similarity, chunk by chunk.

    Both inputs are L2-normalised here (row / its L2 norm), so callers may pass raw
    embeddings; cosine = dot product of the normalised rows. Only `chunk_size` x num_gallery
    scores exist at a time, on the embeddings' device. Same output and tie rule as
    `rank_from_scores` (which this equals on `normalise(queries) @ normalise(gallery).T`).

    Args:
        queries: (num_queries, dim) tensor or array-like.
        gallery: (num_gallery, dim) tensor or array-like, same device as `queries`.
        gallery_ids: one unique id per gallery row.
        k: ids to return per query (>= 1).
        exclude: optional per-query ids not to rank (ids absent from the gallery are ignored).
        chunk_size: query rows per chunk; default about 2**24 / num_gallery.

    Returns:
        One list of gallery ids per query, best first.

    Raises:
        ValueError: inputs not 2-D, dimensions or devices differ, a row is all zeros or holds
            NaN/inf, `gallery_ids`/`exclude` have the wrong length, `gallery_ids` has duplicates,
            or `k`/`chunk_size` < 1.
        TypeError: `k`/`chunk_size` is not an int.
    """
    k = check_k(k)
    q, g = _embedding_pair(queries, gallery)
    num_queries, num_gallery = q.shape[0], g.shape[0]
    id_index = _index_gallery(gallery_ids, num_gallery)
    _check_exclude_len(exclude, num_queries)
    step = _auto_chunk(chunk_size, num_gallery)
    g_t = g.T
    # Each block is a fresh matmul result, so exclusions are masked in place.
    return _rank_in_chunks(
        lambda start, stop: q[start:stop] @ g_t, num_queries, step, k, exclude, id_index, gallery_ids, owned=True
    )


def first_relevant_ranks(
    queries: Any,
    gallery: Any,
    relevant: Sequence[Iterable[Hashable]],
    exclude: Sequence[Iterable[Hashable] | None] | None = None,
    chunk_size: int | None = None,
    gallery_ids: Sequence[Hashable] | None = None,
) -> list[int | None]:
    """Full 1-based rank of the best-ranked relevant gallery item per query (cosine similarity).

    This is the exact rank in the complete ranking (what MdR/MnR need), computed without
    sorting: 1 + the rankable items that beat the best relevant item under the tie rule
    (higher score, or equal score and lower gallery index). Excluded items are not rankable
    and do not count, even when they are also relevant. Inputs are L2-normalised here.

    Args:
        queries: (num_queries, dim) tensor or array-like.
        gallery: (num_gallery, dim) tensor or array-like, same device as `queries`.
        relevant: one non-empty collection per query: relevant gallery ids (with
            `gallery_ids`) or 0-based gallery indices (without). Ids absent from the gallery
            are ignored (the item failed upstream).
        exclude: optional per-query ids/indices that must not be ranked.
        chunk_size: query rows per chunk; default about 2**24 / num_gallery.
        gallery_ids: optional unique id per gallery row; when given, `relevant` and
            `exclude` hold ids, otherwise int indices.

    Returns:
        One rank per query (1 = best); None where no relevant item is rankable (all absent
        from the gallery or excluded, or the gallery is empty): such a query is a miss.

    Raises:
        ValueError: a query has no relevant item at all, an index is out of range, `relevant`
            or `exclude` has the wrong length, or any check of `rank_from_embeddings` fails.
        TypeError: an index is not an int (without `gallery_ids`), or an entry is a bare string.
    """
    import torch

    q, g = _embedding_pair(queries, gallery)
    num_queries, num_gallery = q.shape[0], g.shape[0]
    id_index = _index_gallery(gallery_ids, num_gallery) if gallery_ids is not None else None
    if len(relevant) != num_queries:
        raise ValueError(f"relevant must have one entry per query: got {len(relevant)} for {num_queries} queries")
    _check_exclude_len(exclude, num_queries)
    step = _auto_chunk(chunk_size, num_gallery)
    out: list[int | None] = []
    g_t = g.T
    columns = torch.arange(num_gallery, device=q.device)
    starts = range(0, num_queries, step)
    with torch.inference_mode():
        for start in tqdm(starts, desc="ranks", unit="chunk", disable=len(starts) < _PROGRESS_MIN_CHUNKS):
            stop = min(start + step, num_queries)
            rel_rows: list[int] = []
            rel_cols: list[int] = []
            for qi in range(start, stop):
                items = as_id_list(relevant[qi], "relevant", qi)
                if not items:
                    raise ValueError(f"query {qi} has no relevant item; every query needs at least one valid target")
                for item in items:
                    j = _resolve(item, id_index, num_gallery, "relevant", qi)
                    if j is not None:
                        rel_rows.append(qi - start)
                        rel_cols.append(j)
            if num_gallery == 0:  # nothing is rankable: every query is a miss, as in rank_from_embeddings
                out.extend([None] * (stop - start))
                continue
            block = q[start:stop] @ g_t
            dev = block.device
            rows, cols = _exclusion_cells(exclude, start, stop, id_index, num_gallery)
            if rows:
                block[torch.tensor(rows, device=dev), torch.tensor(cols, device=dev)] = float("-inf")
            is_rel = torch.zeros(block.shape, dtype=torch.bool, device=dev)
            if rel_rows:
                is_rel[torch.tensor(rel_rows, device=dev), torch.tensor(rel_cols, device=dev)] = True
            is_rel &= torch.isfinite(block)  # exclusion wins over relevance
            best = block.masked_fill(~is_rel, float("-inf")).max(dim=1).values[:, None]
            # argmax returns the first maximal position: the lowest-index relevant item at the best score.
            best_col = (is_rel & (block == best)).to(torch.uint8).argmax(dim=1)[:, None]
            beaten_by = (block > best).sum(dim=1) + ((block == best) & (columns < best_col)).sum(dim=1)
            has_rel = is_rel.any(dim=1)
            out.extend(int(b) + 1 if ok else None for b, ok in zip(beaten_by.tolist(), has_rel.tolist()))
    return out
