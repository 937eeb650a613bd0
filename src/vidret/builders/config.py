"""Build options, the build report and the error type shared by every builder."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

VideosMode = Literal["copy", "link", "none"]
VIDEOS_MODES: tuple[str, ...] = ("copy", "link", "none")


def version_tag(version: str) -> str:
    """The Hub tag a build of `version` is published under (``"1.0.0"`` -> ``"v1.0.0"``).

    The one place the rule lives: `vidret publish` checks tags against it and the evaluation
    runner records a local build's revision with it, so results name a revision the Hub has.
    """
    return f"v{version}"


class BuildError(ValueError):
    """Bad raw input or an impossible build request.

    The message always names the offending file and, for tabular inputs, the 1-based data row
    (the header is not counted), e.g. ``clip_test.parquet, row 12: empty caption``.

    Attributes:
        file: the input file (or folder) the problem is in, when there is one.
        row: 1-based data row in ``file``, when the problem is in a row.
    """

    def __init__(self, message: str, *, file: str | os.PathLike | None = None, row: int | None = None) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        where = ""
        if self.file is not None:
            where = f"{Path(self.file).name}" + (f", row {row}" if row is not None else "") + ": "
        super().__init__(where + message)


class UnsafeArchiveError(BuildError):
    """An archive member would land outside the extraction folder (absolute path, `..`, link out)."""


@dataclass
class BuildConfig:
    """Options of one build (`vidret build <benchmark> ...`).

    Attributes:
        version: dataset version written into the card, the manifest and `eval.yaml`
            (default ``"1.0.0"``; publish it under the tag ``v<version>``).
        videos: how videos reach the repo folder: ``"none"`` (default) writes an
            annotations-only repo whose `video` paths the user resolves with a local
            ``video_root`` (a benchmark's videos may not be re-hosted freely: its
            `vidret.benchmarks.Licence` says where they come from); ``"copy"`` copies them to
            ``videos/``; ``"link"`` makes symbolic links to the raw files (local use only; the
            Hub does not follow links). ``copy`` and ``link`` need the release's video folder.
        allow_missing: when False (default) a video that the annotations reference but that
            is absent or unreadable in the release's video folder stops the build with an
            error naming it. When True the build goes on, keeps the rows (the evaluation then
            counts them as decode failures) and lists each video in ``missing.json`` (the card
            and the console give counts). A release without any video folder is an
            annotations-only build and needs no flag.
        duration_tolerance_s: LoVR only: largest accepted gap, in seconds, between the sum
            of a video's clip durations and its merged video's duration; larger gaps are
            reported (never fatal). Default 1.0.
        max_rows_per_shard: Parquet rows per shard file (default 50,000: LoVR's 40,804 test
            clips fit in one shard of a few MB).
        num_workers: threads probing video durations (PyAV releases the GIL while it reads);
            default ``min(8, cpu count)``.
        probe_duration: ``f(path) -> seconds``; raises FileNotFoundError for an absent file
            and any other exception for an unreadable one. Default: PyAV via
            `vidret.video.probe`. Tests and `benchmarks/bench_build.py` pass a fake.
        work_dir: where split archive parts are extracted while building (default: a
            temporary folder next to the output folder, removed afterwards).
        archive_limits: bounds on extracting archive parts (members, bytes, compression
            ratio); default `vidret.builders.archive.ArchiveLimits()`.
        progress: show tqdm progress bars.
    """

    version: str = "1.0.0"
    videos: VideosMode = "none"
    allow_missing: bool = False
    duration_tolerance_s: float = 1.0
    max_rows_per_shard: int = 50_000
    num_workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))
    probe_duration: Callable[[Path], float] | None = None
    work_dir: Path | None = None
    archive_limits: Any = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.videos not in VIDEOS_MODES:
            raise ValueError(f"videos must be one of {VIDEOS_MODES}, got {self.videos!r}")
        if self.max_rows_per_shard < 1:
            raise ValueError(f"max_rows_per_shard must be >= 1, got {self.max_rows_per_shard}")
        if self.num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {self.num_workers}")
        if not self.version or any(c.isspace() for c in self.version):
            raise ValueError(f"version must be a non-empty string without spaces, got {self.version!r}")

    def to_manifest(self) -> dict[str, Any]:
        """The options that change the output, for the manifest (no callables, no paths)."""
        return {
            "version": self.version,
            "videos": self.videos,
            "allow_missing": self.allow_missing,
            "duration_tolerance_s": self.duration_tolerance_s,
            "max_rows_per_shard": self.max_rows_per_shard,
        }


@dataclass
class MissingVideo:
    """A referenced video that is absent or unreadable (listed in ``missing.json``)."""

    video_id: str
    path: str  # raw path, relative to RAW
    reason: str  # "absent" or "unreadable: <error>"
    rows: int  # annotation rows that reference it

    def to_dict(self) -> dict[str, Any]:
        return {"video_id": self.video_id, "path": self.path, "reason": self.reason, "rows": self.rows}


@dataclass
class BuildReport:
    """What a build produced and what it found wrong with the raw release.

    Attributes:
        benchmark: benchmark name.
        out: the repo folder written.
        layout: which raw layout was read (LoVR ``"hub"``, ``"official"`` or ``"hub+official"``;
            TF-CoVR ``"csv"``).
        num_rows: ``{config: {split: rows}}``.
        missing: videos absent or unreadable (non-empty only with ``allow_missing``).
        duration_mismatches: LoVR: videos whose clip durations do not add up to the merged
            video's duration within the tolerance: ``{video_id, clips_total, merged}``.
        targets_absent_from_gallery: TF-CoVR: ``{split: count}`` of `target_videos` ids that
            are not a `target_video` of the split (they still count in |G|).
        video_coverage: what the release's video folder holds of the referenced videos:
            ``{"folder", "referenced", "present", "absent", "unreadable"}``; None when the
            release has no video folder (an annotations-only build: nothing was probed).
        videos_included: the repo folder holds video files (``--videos copy`` or ``link``).
        warnings: other non-fatal findings, one line per kind (counts and a few examples; the
            full lists are in ``missing.json`` and the manifest).
        next_steps: lines `vidret build` prints after the build, e.g. the command that scores a
            release's precomputed embeddings. Console only, never in the manifest: they name
            local paths (RAW, OUT) as the user gave them.
    """

    benchmark: str
    out: Path
    layout: str = ""
    num_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    missing: list[MissingVideo] = field(default_factory=list)
    duration_mismatches: list[dict[str, Any]] = field(default_factory=list)
    targets_absent_from_gallery: dict[str, int] = field(default_factory=dict)
    video_coverage: dict[str, Any] | None = None
    videos_included: bool = False
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "layout": self.layout,
            "num_rows": self.num_rows,
            "video_coverage": self.video_coverage,
            "videos_included": self.videos_included,
            "missing": [m.to_dict() for m in self.missing],
            "duration_mismatches": self.duration_mismatches,
            "targets_absent_from_gallery": self.targets_absent_from_gallery,
            "warnings": self.warnings,
        }


def few(items: list[Any] | tuple[Any, ...], limit: int = 3) -> str:
    """``"a, b, c and 4 more"``: the first `limit` items of a list, for one-line summaries."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
