"""Loading vidret dataset repos and adding decoded frames lazily.

A vidret dataset repo (see `vidret.builders`) stores each video as a plain string column
``video``: the path relative to the repo root, e.g. ``"videos/<id>.mp4"``. It is deliberately not
a `datasets.Video` feature: `load_dataset(...)` and ``streaming=True`` then work without
torchcodec, and frames are decoded here, with PyAV (`vidret.video`), only for the segment a row
needs. LoVR clip rows carry ``start``/``end`` (seconds) and point at the full video; a clip whose
timestamps are unknown (null) is decoded whole from its own file, ``clip_video``.

`with_frames` adds two columns, computed when a row is read (never stored):
    ``frames``        uint8 numpy array (num_frames, H, W, 3), RGB, temporal order; None on failure
    ``decode_error``  None, or ``"<ExceptionType>: <message>"`` naming the video
A failed decode never drops the row: the evaluation counts rows with a ``decode_error``. Note that
the default DataLoader collate cannot batch ``None``; collate rows yourself (the vidret runner
does) or filter on ``decode_error`` explicitly.

Path resolution (`resolve_video_path`): a row's path is joined to ``video_root``, which may be a
local repo folder, a Hub prefix ``hf://datasets/<org>/<name>@<revision>`` (streamed with range
reads), or the videos of an annotations-only repo (built with ``--videos none``, the default) as
the user has them: a flat folder of ``<id>.mp4`` (TF-CoVR's ``FineGD_videos/``, LoVR's
``merged/``), the LoVR release's ``video_data/`` as extracted (``merged/`` and
``long_video_clip/``), or the release folder above it. Without ``video_root`` the repo root is
inferred from a streaming dataset's data files (``.../data/<config>/<shard>.parquet``); a
map-style dataset does not remember where it was loaded from, so pass it (the error says so).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidret.video.containment import check_inside

DEFAULT_ORG = "vidret"
ORG_ENV = "VIDRET_HUB_ORG"
DEFAULT_REVISION = "v1.0.0"


def hub_org(org: str | None = None) -> str:
    """The Hub organisation of vidret's dataset repos: `org`, else $VIDRET_HUB_ORG, else "vidret"."""
    return org or os.environ.get(ORG_ENV) or DEFAULT_ORG


def repo_id(benchmark: str, org: str | None = None) -> str:
    """``"<org>/<repo>"`` of a benchmark's dataset repo (e.g. ``"vidret/lovr"``).

    Raises:
        ValueError: unknown benchmark.
    """
    from vidret.benchmarks import get_benchmark

    return f"{hub_org(org)}/{get_benchmark(benchmark).default_repo}"


def hub_root(benchmark: str, revision: str = DEFAULT_REVISION, org: str | None = None) -> str:
    """The ``hf://`` prefix to pass as ``video_root`` for a published repo at `revision`."""
    return f"hf://datasets/{repo_id(benchmark, org)}@{revision}"


def load(
    benchmark: str,
    config: str,
    split: str | None = None,
    revision: str | None = DEFAULT_REVISION,
    org: str | None = None,
    **kwargs: Any,
):
    """Load a published vidret dataset repo, pinned to a version tag.

    Equivalent to ``datasets.load_dataset("<org>/<repo>", config, split=split,
    revision=revision, **kwargs)``. Frames are not decoded; wrap the result with `with_frames`
    (``video_root=hub_root(benchmark, revision, org)``).

    Args:
        benchmark: "lovr" or "tf-covr".
        config: LoVR "videos" or "clips"; TF-CoVR "triplets" or "videos".
        split: split name ("train", "test", TF-CoVR also "val"); None loads all splits.
        revision: Hub tag, branch or commit (default "v1.0.0", the documented release).
        org: Hub organisation (default $VIDRET_HUB_ORG, else "vidret").
        **kwargs: passed to `datasets.load_dataset` (e.g. ``streaming=True``).

    Returns:
        A `datasets.Dataset`, `IterableDataset` or a dict of them.

    Raises:
        ValueError: unknown benchmark.
    """
    from datasets import load_dataset

    return load_dataset(repo_id(benchmark, org), config, split=split, revision=revision, **kwargs)


def _is_url(text: str) -> bool:
    return "://" in text


#: Where a raw release keeps full videos / clips, relative to a ``video_root`` the user points at it:
#: the root itself (a flat folder), LoVR's ``video_data/merged/`` (root = video_data/ or the release
#: folder) and TF-CoVR's ``FineGD_videos/`` (root = the release folder).
RELEASE_VIDEO_FOLDERS = ("", "merged", "video_data/merged", "FineGD_videos")
#: Folders a nested path (``long_video_clip/<vid>/<clip>.mp4``) may sit under: the root, a repo's
#: ``videos/`` (clip files a ``--videos copy`` build ships), the LoVR release folder's ``video_data/``.
NESTED_VIDEO_FOLDERS = ("", "videos", "video_data")


def resolve_video_path(path: str, video_root: str | os.PathLike | None, *, allow_external: bool = False) -> str:
    """Where to read a row's video from.

    Args:
        path: the row's ``video`` (or ``clip_video``) value, relative to the repo root; absolute
            paths and URLs are returned unchanged when they are inside `video_root` or
            `allow_external` is set.
        video_root: local repo folder, ``hf://`` (or other fsspec URL) repo prefix, or the
            folder holding the videos of an annotations-only repo; None returns `path` unchanged.
        allow_external: accept references outside `video_root` (other URLs, absolute paths,
            ``..``); see `vidret.video.containment`.

    Returns:
        A local path or URL that `vidret.video` can open. For a local root the first existing of
        ``root/path`` and, for ``videos/<name>``, ``root/<d>/<name>`` for each ``d`` of
        `RELEASE_VIDEO_FOLDERS` (for a nested path such as ``long_video_clip/<vid>/<clip>.mp4``,
        ``root/<d>/path`` for each ``d`` of `NESTED_VIDEO_FOLDERS`) is returned, else ``root/path``
        so the decode error names the expected place. URLs are joined without a network check.

    Raises:
        ExternalVideoError: `path` leaves `video_root` and `allow_external` is False.
    """
    if video_root is not None:
        check_inside(path, video_root, allow_external=allow_external)
    if _is_url(path) or os.path.isabs(path) or video_root is None:
        return path
    root = os.fspath(video_root)
    if _is_url(root):
        return root.rstrip("/") + "/" + path.lstrip("/")
    full = Path(root) / path
    parts = Path(path).parts
    if len(parts) == 2 and parts[0] == "videos":
        candidates = [full] + [Path(root) / folder / parts[1] for folder in RELEASE_VIDEO_FOLDERS]
    else:
        candidates = [Path(root) / folder / path for folder in NESTED_VIDEO_FOLDERS]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    return str(full)


def infer_video_root(ds: Any) -> str | None:
    """The repo root a streaming dataset was loaded from (the folder above ``data/``), or None."""
    iterable = getattr(ds, "_ex_iterable", None)
    seen = 0
    while iterable is not None and seen < 50:
        files = (getattr(iterable, "kwargs", None) or {}).get("files")
        if files:
            first = str(files[0]).replace("\\", "/")
            marker = first.rfind("/data/")
            if marker > 0:
                return first[:marker]
            return None
        iterable = getattr(iterable, "ex_iterable", None)
        seen += 1
    return None


@dataclass
class FrameDecoder:
    """Picklable batch function that decodes frames for rows (used by `with_frames`).

    Rows of one video in a batch are decoded in one pass with `vidret.video.sample_segments`
    (``errors="collect"``): one bad segment fails only its own row, and a video that cannot be
    opened fails every row of the group at once.
    """

    num_frames: int
    size: tuple[int, int] | None
    video_root: str | None
    mode: str
    video_column: str = "video"
    allow_external: bool = False
    timeout: float | None = None

    def segment(self, row: Mapping[str, Any]) -> tuple[str | None, float | None, float | None]:
        """(video path, start, end) of a row: a LoVR clip's timestamps in its full video, the clip's own
        file when they are unknown (``clip_video``, decoded whole), or the whole video (None, None).

        Raises:
            ValueError: a clip row with neither timestamps nor its own file.
        """
        path = row.get(self.video_column)
        if "start" in row and "end" in row:
            start, end = row["start"], row["end"]
            if start is None or end is None:
                if row.get("clip_video"):
                    return str(row["clip_video"]), None, None
                raise ValueError("the row has no timestamps (a clip of this video was missing when the dataset was built)")
            return (str(path) if path else None), float(start), float(end)
        return (str(path) if path else None), None, None

    def decode_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, str | None]]:
        """``(frames or None, error or None)`` for each row, in order.

        The error is ``"<ExceptionType>: <message>"``; per-segment isolation (and failing every
        row of an absent video at once) is `sample_segments`'s ``errors="collect"``.
        """
        from vidret.video import sample_segments
        from vidret.video.containment import ExternalVideoError

        results: list[tuple[Any, str | None]] = [(None, None)] * len(rows)
        groups: dict[str, list[tuple[int, tuple[float | None, float | None]]]] = defaultdict(list)
        for i, row in enumerate(rows):
            path = row.get(self.video_column)
            if not path:
                results[i] = (None, f"ValueError: empty {self.video_column!r} value")
                continue
            try:
                own, start, end = self.segment(row)
                source = resolve_video_path(str(own or path), self.video_root, allow_external=self.allow_external)
            except ExternalVideoError as err:  # refused without a request: this row fails, listed
                results[i] = (None, f"{type(err).__name__}: {err}")
                continue
            except ValueError as err:
                results[i] = (None, f"ValueError: {self.video_root}/{path}: {err}")
                continue
            groups[source].append((i, (start, end)))
        for source, items in groups.items():
            spans = [span for _, span in items]
            decoded = sample_segments(
                source, spans, self.num_frames, size=self.size, mode=self.mode, errors="collect", timeout=self.timeout
            )
            for (i, _), outcome in zip(items, decoded):
                if isinstance(outcome, Exception):
                    results[i] = (None, f"{type(outcome).__name__}: {outcome}")
                else:
                    results[i] = (outcome, None)
        return results

    def __call__(self, batch: Mapping[str, list]) -> dict[str, list]:
        columns = list(batch)
        n = len(batch[columns[0]]) if columns else 0
        rows = [{c: batch[c][i] for c in columns} for i in range(n)]
        decoded = self.decode_rows(rows)
        out = dict(batch)
        out["frames"] = [f for f, _ in decoded]
        out["decode_error"] = [e for _, e in decoded]
        return out


def with_frames(
    ds: Any,
    num_frames: int = 8,
    size: tuple[int, int] | None = (224, 224),
    video_root: str | os.PathLike | None = None,
    mode: str = "exact",
    *,
    video_column: str = "video",
    batch_size: int = 8,
    allow_external: bool = False,
    timeout: float | None = None,
) -> Any:
    """Add lazily decoded ``frames`` and a ``decode_error`` column to a vidret dataset.

    Works on a `datasets.Dataset` (a transform: frames are decoded on access, e.g. ``ds[3]`` or
    ``ds[0:8]``, never stored) and on an `IterableDataset` (a lazy batched `map`), and in a
    `torch.utils.data.DataLoader` with workers (the decoder is a picklable object).

    Args:
        ds: a `Dataset` or `IterableDataset` with a `video_column` (LoVR videos/clips, TF-CoVR
            videos). LoVR clip rows decode ``[start, end)`` of their full video.
        num_frames: frames per row, uniformly spaced over the segment (>= 1).
        size: output ``(width, height)``, resized inside FFmpeg; None keeps the native size.
        video_root: where relative paths resolve: local repo folder, ``hf://datasets/<org>/
            <name>@<revision>``, or a folder of videos (see `resolve_video_path`). Default:
            inferred from a streaming dataset's data files.
        mode: ``"exact"`` (exact frames) or ``"keyframe"`` (faster, up to one GOP early).
        video_column: the column holding the video path.
        batch_size: rows per decode batch for an `IterableDataset`.
        allow_external: read videos that rows name outside `video_root` (other URLs, absolute
            paths, ``..``). Off by default: such a row gets an ``ExternalVideoError`` in
            ``decode_error`` and nothing is requested or opened (`vidret.video.containment`).
        timeout: seconds allowed per remote video (connect, each read, and in total; default
            `vidret.video.source.DEFAULT_TIMEOUT_S`).

    Returns:
        The same kind of dataset, with ``frames`` (uint8 (num_frames, H, W, 3) RGB, or None)
        and ``decode_error`` (None or ``"<Type>: <message>"``) on every row.

    Raises:
        ValueError: the dataset has no `video_column` (e.g. TF-CoVR triplets: use its
            ``videos`` config), bad `num_frames`/`size`/`mode`, or no `video_root` given or
            inferable.
        TypeError: `ds` is neither a Dataset nor an IterableDataset.
    """
    from datasets import Dataset, IterableDataset

    from vidret.video.source import check_timeout
    from vidret.video.timeline import check_mode, check_num_frames, check_size

    if not isinstance(ds, (Dataset, IterableDataset)):
        raise TypeError(f"with_frames expects a datasets.Dataset or IterableDataset, got {type(ds).__name__}")
    # The sampler's own checks, here rather than per row: a bad setting would otherwise turn
    # every row into a decode_error.
    check_num_frames(num_frames)
    check_mode(mode)
    size = check_size(size)
    check_timeout(timeout)
    columns = ds.column_names
    if columns is not None and video_column not in columns:
        raise ValueError(
            f"the dataset has no {video_column!r} column (columns: {columns}); "
            "decode the 'videos' config (TF-CoVR triplets name videos by id) or pass video_column="
        )
    root = os.fspath(video_root) if video_root is not None else infer_video_root(ds)
    if root is None:
        if isinstance(ds, Dataset):
            # `datasets` keeps no trace of a local folder in a map-style dataset (only streaming ones
            # name their data files), so the folder cannot be inferred: say the one argument to add.
            name = getattr(getattr(ds, "info", None), "dataset_name", None)
            raise ValueError(
                "with_frames: this dataset was loaded without streaming, so it does not remember its folder: pass "
                f"video_root=<the folder you gave load_dataset{f', {name!r}' if name else ''}> (or your videos' folder, "
                "or 'hf://datasets/<org>/<name>@<revision>'); load_dataset(..., streaming=True) lets vidret infer it"
            )
        raise ValueError(
            "cannot tell where the videos are: pass video_root= (the local repo folder, "
            "'hf://datasets/<org>/<name>@<revision>' e.g. vidret.datasets.hub_root('lovr'), or a folder of videos)"
        )
    decoder = FrameDecoder(num_frames, size, root, mode, video_column, bool(allow_external), timeout)
    if isinstance(ds, Dataset):
        return ds.with_transform(decoder)
    return ds.map(decoder, batched=True, batch_size=batch_size)
