"""Loading vidret dataset repos and adding decoded frames lazily.

A vidret dataset repo (see `vidret.builders`) stores each video as a plain string column
``video``: the path relative to the repo root, e.g. ``"videos/<id>.mp4"``. It is deliberately not
a `datasets.Video` feature: `load_dataset(...)` and ``streaming=True`` then work without
torchcodec, and frames are decoded here, with PyAV (`vidret.video`), only for the segment a row
needs. LoVR clip rows carry ``start``/``end`` (seconds) and point at the full video; a clip whose
timestamps are unknown (null) is decoded whole from its own file, ``clip_video`` (`clip_location`
is that rule, shared with the evaluation's planner).

`with_frames` adds two columns, computed when a row is read (never stored):
    ``frames``        uint8 numpy array (T, H, W, 3), RGB, temporal order, native size unless
                      ``size=`` is given; None on failure
    ``decode_error``  None, or ``"<ExceptionType>: <message>"`` naming the video
Frames come from the grouped segment decoder `vidret.video.segments`, the one ``vidret evaluate``
uses, and are exactly what `vidret.video.sample_frames` returns for the row's span with the same
``num_frames`` | ``fps`` | ``frame_stride`` (+ ``max_frames``), ``size`` and ``mode``.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidret.common import is_absolute_path, is_url
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
    if is_url(path) or is_absolute_path(path) or video_root is None:
        return path
    root = os.fspath(video_root)
    if is_url(root):
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


#: The release's own folder of LoVR clip files, relative to a ``video_root``: where a clip whose
#: timestamps are unknown is read from when its row names no ``clip_video`` (builds before that column).
CLIP_FILE_PATTERN = "long_video_clip/{video_id}/{clip_id}.mp4"


def clip_location(row: Mapping[str, Any], video_column: str = "video") -> tuple[str, Any, Any]:
    """Where a row's frames are read from: ``(video reference, start, end)``, before resolution.

    The one rule, used by `with_frames` and by the evaluation's planner alike:

    - a clip row (it has ``start`` and ``end`` columns) with both timestamps: that span of its
      full video, ``row[video_column]``;
    - a clip row whose timestamps are unknown (null; a clip missing from the release's full video
      when the dataset was built): its own file, whole: ``clip_video``, else the release's
      ``long_video_clip/<video_id>/<clip_id>.mp4`` (decoding then fails like any missing video
      if that file is absent too);
    - any other row (a full video, a TF-CoVR video): the whole of ``row[video_column]``.

    Raises:
        ValueError: a clip row without timestamps that names neither ``clip_video`` nor its
            ``video_id``/``clip_id``.
    """
    path = row.get(video_column)
    if "start" in row and "end" in row:
        start, end = row["start"], row["end"]
        if start is not None and end is not None:
            return str(path), start, end
        own = row.get("clip_video")
        if not own:
            if row.get("video_id") is None or row.get("clip_id") is None:
                raise ValueError(
                    "the row has no timestamps (a clip of this video was missing when the dataset was built)"
                )
            own = CLIP_FILE_PATTERN.format(video_id=row["video_id"], clip_id=row["clip_id"])
        return str(own), None, None
    return str(path), None, None


@dataclass
class FrameDecoder:
    """Picklable batch function that decodes frames for rows (used by `with_frames`).

    Each row becomes a segment (`clip_location`, resolved with `resolve_video_path`) and the
    batch goes through the grouped segment decoder `vidret.video.decode_segments` -- the one the
    evaluation runner uses: rows of one video are decoded in one pass, one bad segment fails
    only its own row, and a video that cannot be opened fails every row of the group at once.

    Exactly one of `num_frames`, `fps`, `frame_stride` picks the frames (none: 8 uniform frames),
    as for `vidret.video.sample_frames`; `max_frames` caps `fps` / `frame_stride`.
    """

    num_frames: int | None
    size: tuple[int, int] | None
    video_root: str | None
    mode: str
    video_column: str = "video"
    allow_external: bool = False
    timeout: float | None = None
    fps: float | None = None
    frame_stride: int | None = None
    max_frames: int | None = None

    def settings(self) -> Any:
        """The validated `vidret.video.DecodeSettings` of this decoder.

        Raises:
            ValueError: bad sampling, size, mode or timeout.
        """
        from vidret.video.segments import decode_settings

        return decode_settings(
            self.num_frames,
            fps=self.fps,
            frame_stride=self.frame_stride,
            max_frames=self.max_frames,
            size=self.size,
            mode=self.mode,
            timeout=self.timeout,
        )

    def decode_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, str | None]]:
        """``(frames or None, error or None)`` for each row, in order.

        The error is ``"<ExceptionType>: <message>"``: a row whose video cannot be named or is
        refused (`allow_external`) fails here, without a request; the rest fail or decode in
        `vidret.video.decode_segments`.
        """
        from vidret.video.containment import ExternalVideoError
        from vidret.video.segments import VideoSegment, decode_segments

        results: list[tuple[Any, str | None]] = [(None, None)] * len(rows)
        segments: list[VideoSegment] = []
        for i, row in enumerate(rows):
            path = row.get(self.video_column)
            if not path:
                results[i] = (None, f"ValueError: empty {self.video_column!r} value")
                continue
            try:
                ref, start, end = clip_location(row, self.video_column)
                source = resolve_video_path(ref, self.video_root, allow_external=self.allow_external)
            except ExternalVideoError as err:  # refused without a request: this row fails, listed
                results[i] = (None, f"{type(err).__name__}: {err}")
                continue
            except ValueError as err:
                results[i] = (None, f"ValueError: {self.video_root}/{path}: {err}")
                continue
            segments.append(VideoSegment(source, start, end, name=i))
        for segment, frames, error in decode_segments(segments, self.settings()):
            results[segment.name] = (frames, error)
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
    num_frames: int | None = None,
    size: tuple[int, int] | None = None,
    video_root: str | os.PathLike | None = None,
    mode: str = "exact",
    *,
    fps: float | None = None,
    frame_stride: int | None = None,
    max_frames: int | None = None,
    video_column: str = "video",
    batch_size: int = 8,
    allow_external: bool = False,
    timeout: float | None = None,
) -> Any:
    """Add lazily decoded ``frames`` and a ``decode_error`` column to a vidret dataset.

    Works on a `datasets.Dataset` (a transform: frames are decoded on access, e.g. ``ds[3]`` or
    ``ds[0:8]``, never stored) and on an `IterableDataset` (a lazy batched `map`), and in a
    `torch.utils.data.DataLoader` with workers (the decoder is a picklable object). Frames are
    those `vidret.video.sample_frames` returns for the row's span, decoded by the same grouped
    segment decoder as ``vidret evaluate`` (`vidret.video.segments`).

    Args:
        ds: a `Dataset` or `IterableDataset` with a `video_column` (LoVR videos/clips, TF-CoVR
            videos). Where a row is read from is `clip_location`: LoVR clip rows decode
            ``[start, end)`` of their full video, or their own file when the timestamps are unknown.
        num_frames: frames per row, uniformly spaced over the segment (1 .. MAX_FRAMES). Exactly
            one of `num_frames`, `fps`, `frame_stride` (none: 8 uniform frames).
        size: output ``(width, height)``, resized inside FFmpeg; None (the default) keeps the
            native size, as `sample_frames` does.
        video_root: where relative paths resolve: local repo folder, ``hf://datasets/<org>/
            <name>@<revision>``, or a folder of videos (see `resolve_video_path`). Default:
            inferred from a streaming dataset's data files.
        mode: ``"exact"`` (exact frames) or ``"keyframe"`` (faster, up to one GOP early).
        fps: frames per second of video, from the segment's start (rows of different lengths
            then get different numbers of frames).
        frame_stride: every S-th frame of the segment, from its first.
        max_frames: cap on the frames of `fps` / `frame_stride` sampling (thinned evenly).
        video_column: the column holding the video path.
        batch_size: rows per decode batch for an `IterableDataset`.
        allow_external: read videos that rows name outside `video_root` (other URLs, absolute
            paths, ``..``). Off by default: such a row gets an ``ExternalVideoError`` in
            ``decode_error`` and nothing is requested or opened (`vidret.video.containment`).
        timeout: seconds allowed per remote video (connect, each read, and in total; default
            ``$VIDRET_HTTP_TIMEOUT``, else `vidret.video.source.DEFAULT_TIMEOUT_S`).

    Returns:
        The same kind of dataset, with ``frames`` (uint8 (T, H, W, 3) RGB, or None) and
        ``decode_error`` (None or ``"<Type>: <message>"``) on every row.

    Raises:
        ValueError: the dataset has no `video_column` (e.g. TF-CoVR triplets: use its
            ``videos`` config), more than one of `num_frames`/`fps`/`frame_stride`, a bad
            sampling argument, `size`, `mode` or `timeout` (worded as `sample_frames` words
            them), or no `video_root` given or inferable.
        TypeError: `ds` is neither a Dataset nor an IterableDataset.
    """
    from datasets import Dataset, IterableDataset

    if not isinstance(ds, (Dataset, IterableDataset)):
        raise TypeError(f"with_frames expects a datasets.Dataset or IterableDataset, got {type(ds).__name__}")
    from vidret.video.segments import decode_settings

    # The sampler's own checks, here rather than per row: a bad setting would otherwise turn
    # every row into a decode_error.
    checked = decode_settings(
        num_frames, fps=fps, frame_stride=frame_stride, max_frames=max_frames, size=size, mode=mode, timeout=timeout
    )
    columns = ds.column_names
    if columns is not None and video_column not in columns:
        raise ValueError(
            f"the dataset has no {video_column!r} column (columns: {columns}); "
            "decode a config whose rows name video files (e.g. the 'videos' config; rows that name videos by id have none) or pass video_column="
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
            "'hf://datasets/<org>/<name>@<revision>' e.g. vidret.datasets.hub_root(<benchmark id>), or a folder of videos)"
        )
    decoder = FrameDecoder(
        num_frames, checked.size, root, mode, video_column, bool(allow_external), timeout, fps, frame_stride, max_frames
    )
    if isinstance(ds, Dataset):
        return ds.with_transform(decoder)
    return ds.map(decoder, batched=True, batch_size=batch_size)
