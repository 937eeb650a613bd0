"""The leaderboard's data model: results files → runs (rows), one board per task, row flags.

What a page, a plot or the Space shows is decided here and in `ranking` (which builds these
objects); `render`, `plots` and `records` only lay them out. Results files are read through one
function, `_read_results`, into typed records (`ResultsRecord`): a file that is not valid results
(not JSON, too large, numbers out of range, inconsistent) is one `ResultsValidationError` naming
it, which `collect_results` raises or skips with a warning; nothing past it reads raw JSON.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from vidret.benchmarks import VIDRET_PROTOCOL
from vidret.common import is_local_path
from vidret.evaluation.results.model import ModelRef, ResultsRecord
from vidret.evaluation.results.report import embeddings_origin
from vidret.evaluation.results.validation import ResultsValidationError, load_record

logger = logging.getLogger(__name__)

TIE_ALPHA = 0.05  # rows whose headline differs from the best's with p >= this are tied with it
CHECK_ADAPTERS = ("oracle",)  # runs that check the pipeline on planted answers: never the leader


class RowFlag(str, Enum):
    """Why a row needs a second look; its value is the text the Space's "Flags" column shows.

    A `str` enum, so a flag compares equal to its value ("subset") and serialises as it.
    The order of the members is the order of the badges on a row.
    """

    CHECK = "check"
    RANDOM_WEIGHTS = "random weights"
    SUBSET = "subset"
    OTHER_REVISION = "dataset revision differs"

    def __str__(self) -> str:
        return self.value

    @property
    def badge(self) -> str:
        """The badge's text on a page."""
        return _BADGES[self][0]

    @property
    def css(self) -> str:
        """The badge's CSS class (after "badge")."""
        return _BADGES[self][1]

    @property
    def note(self) -> str:
        """The flag for a table of text (the Space's "Flags" column)."""
        return "check: the oracle reads planted answers, not a model" if self is RowFlag.CHECK else self.value

    def tooltip(self, row: dict[str, Any]) -> str:
        """The badge's hover text for `row` ("" for none)."""
        if self is RowFlag.OTHER_REVISION:
            return f"dataset revision {row['dataset_revision']}, not the most common one: not directly comparable"
        return _BADGES[self][2]


# flag → (badge text, CSS class, hover text)
_BADGES: dict[RowFlag, tuple[str, str, str]] = {
    RowFlag.CHECK: (
        "check",
        "check",
        "the oracle reads answers planted in the sample data: it checks the pipeline (must score 100) and is not a model",
    ),
    RowFlag.RANDOM_WEIGHTS: ("random weights", "random", ""),
    RowFlag.SUBSET: ("subset", "subset", "scored on part of the split only (--limit, or fewer queries): not the split's score"),
    RowFlag.OTHER_REVISION: ("other data", "revision", ""),
}


@dataclass
class TaskEntry:
    """One run's scores on one task, as its row of the task's table.

    Attributes:
        run: index of the run in `LeaderboardTable.rows`.
        metrics: metric → value (None when not reported).
        ci_low: metric → lower end of its interval (absent: no interval).
        ci_high: metric → upper end.
        ci_level: the intervals' confidence level (from the results' `ci`).
        gallery_size: items ranked.
        num_queries: queries scored.
        num_failed: queries whose own item failed.
        position: 1-based place among the ranked (non-check) entries; None for a check.
        tied: True when not significantly different from the best (paired test on the headline),
            False when significantly worse, None when untested (no per-query data, not comparable,
            or the best itself).
        p_value: the paired test's p-value against the best, when tested.
    """

    run: int
    metrics: dict[str, float | None]
    ci_low: dict[str, float] = field(default_factory=dict)
    ci_high: dict[str, float] = field(default_factory=dict)
    ci_level: float | None = None
    gallery_size: int | None = None
    num_queries: int | None = None
    num_failed: int | None = None
    position: int | None = None
    tied: bool | None = None
    p_value: float | None = None

    def rank_label(self) -> str:
        """"1" for the best and for rows tied with it, the position otherwise, "check" for a check."""
        if self.position is None:
            return "check"
        return "1" if self.tied else str(self.position)

    def has_interval(self, metric: str) -> bool:
        """Whether `metric` has an interval."""
        return metric in self.ci_low and metric in self.ci_high

    def interval_text(self, metric: str) -> str:
        """"± h" with h half the interval's width ("" without an interval)."""
        if not self.has_interval(metric):
            return ""
        return f"± {(self.ci_high[metric] - self.ci_low[metric]) / 2:.2f}"


@dataclass
class TaskBoard:
    """The table of one task: its runs ranked by the headline metric, checks last.

    Attributes:
        task_id: e.g. "t2v".
        name: e.g. "text-to-video".
        headline: the task's headline metric (first column).
        metrics: the task's metrics, headline first.
        entries: ranked entries, then checks.
    """

    task_id: str
    name: str
    headline: str
    metrics: tuple[str, ...]
    entries: list[TaskEntry] = field(default_factory=list)

    def ranked(self) -> list[TaskEntry]:
        """The entries with a place (every entry but the checks), best first."""
        return [entry for entry in self.entries if entry.position is not None]

    def top(self, count: int) -> list[TaskEntry]:
        """The first `count` ranked entries, and any further ones tied with the best."""
        return [entry for entry in self.ranked() if entry.position <= count or entry.tied]

    def gallery_sizes(self) -> list[int]:
        """The distinct gallery sizes of the entries, smallest first."""
        return sorted({entry.gallery_size for entry in self.entries if entry.gallery_size is not None})

    def untested(self) -> int:
        """Ranked entries below the best that could not be tested against it (no per-query data, other data)."""
        return sum(1 for entry in self.entries if entry.position not in (None, 1) and entry.tied is None)


@dataclass
class LeaderboardTable:
    """The runs of one benchmark under one protocol, ready to render.

    Attributes:
        benchmark: benchmark id, e.g. "lovr".
        title: human-readable title (the benchmark's registered title, and the protocol when it is
            not the default one).
        rows: one dict per run: "model" (display name, never a local path), "model_revision",
            "adapter", "frames", "settings", "split", "num_failed", "date", "dataset_revision",
            "source", "embeddings" (where they came from: `embeddings_origin`), "flags" (list of
            `RowFlag`, in the enum's order), and "<task>/<metric>"
            values; sorted by `sort_key`, best first, checks last.
        tasks: task id → metric names (headline first), for the tasks present in at least one row.
        boards: one `TaskBoard` per task in `tasks`.
        reference_revision: the most common dataset revision among the rows.
        sort_key: "<first task>/<its headline>", the order of `rows`.
        alpha: significance level of the "tied with the best" test.
        protocol: the protocol every run was scored with ("vidret" or "official").
        page: file name stem of the table's page and plots ("lovr", "lovr_official").
        label: short name for navigation and tabs ("LoVR", "LoVR (official)").
    """

    benchmark: str
    title: str
    rows: list[dict[str, Any]]
    tasks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    boards: list[TaskBoard] = field(default_factory=list)
    reference_revision: str | None = None
    sort_key: str | None = None
    alpha: float = TIE_ALPHA
    protocol: str = VIDRET_PROTOCOL
    page: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        self.page = self.page or self.benchmark
        self.label = self.label or self.page

    def flagged(self, flag: RowFlag) -> int:
        """How many rows carry `flag`."""
        return sum(flag in row["flags"] for row in self.rows)


def _read_results(path: Path, root: Path) -> ResultsRecord:
    """The one place the leaderboard reads a results file: parsed and validated (partial runs
    allowed), its `source` the path under `root`.

    Raises:
        ResultsValidationError: the file is not valid results, or cannot be read (the message
            names it and says why).
    """
    record = load_record(path, require_all_tasks=False)
    return dataclasses.replace(record, source=path.relative_to(root).as_posix())


def collect_results(
    results_dir: str | Path, *, on_invalid: Literal["error", "warn", "skip"] = "error"
) -> list[ResultsRecord]:
    """Read and validate every `*.json` under a folder (recursively, in path order).

    Args:
        results_dir: folder of results files, e.g. a results dataset repo checkout.
        on_invalid: what to do with an invalid file: raise, log a warning naming it and skip it, or
            skip it silently.

    Returns:
        The valid records, each with `source` set to its path relative to `results_dir`.

    Raises:
        FileNotFoundError: when `results_dir` is not a folder.
        ValueError: for an unknown `on_invalid`.
        ResultsValidationError: for an invalid file when `on_invalid="error"`.
    """
    if on_invalid not in ("error", "warn", "skip"):
        raise ValueError(f"on_invalid must be 'error', 'warn' or 'skip', got {on_invalid!r}")
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"results folder not found: {root}")
    collected = []
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # .cache/ and friends of a Hub checkout
        try:
            record = _read_results(path, root)
        except ResultsValidationError as err:
            if on_invalid == "error":
                raise
            if on_invalid == "warn":
                logger.warning("skipping invalid results file %s", err)
            continue
        collected.append(record)
    return collected


def settings_text(record: ResultsRecord) -> str:
    """Every setting that changes the numbers and has no column of its own, for people.

    vidret's protocol defaults (exact decoding, float32, clip segments averaged) go unsaid.
    """
    settings = record.settings
    parts = []
    if settings.resolution:
        parts.append("{}x{}".format(*settings.resolution))
    if settings.fusion:
        parts.append(f"fusion {settings.fusion}")
    if settings.get("pooling"):
        parts.append(f"pooling {settings.get('pooling')}")
    max_frames = f" (max {settings.get('max_frames')})" if settings.get("max_frames") else ""
    if settings.get("fps") is not None:
        parts.append(f"{settings.get('fps'):g} fps{max_frames}")
    if settings.get("frame_stride") is not None:
        parts.append(f"every {settings.get('frame_stride')} frames{max_frames}")
    if settings.get("decode_mode", "exact") != "exact":
        parts.append(f"{settings.get('decode_mode')} decoding")
    if settings.get("dtype", "float32") != "float32":
        parts.append(settings.get("dtype"))
    long_video = settings.get("long_video") or {}
    if long_video.get("segments") == "window":
        parts.append(f"{long_video.get('window_s')} s windows")
    if long_video.get("segments") == "concat":
        parts.append("full videos from all clips' frames at once")
    if long_video.get("aggregate") not in (None, "mean"):
        parts.append(f"{long_video['aggregate']} of segments")
    if record.limit is not None:
        parts.append(f"limit {record.limit}")
    return ", ".join(parts)


# Settings that change speed or failure handling, not the scores: runs differing only in these
# are reruns of the same row.
_SPEED_SETTINGS = ("batch_size", "num_workers", "strict", "http_timeout_s", "allow_external_videos")


def run_identity(record: ResultsRecord) -> tuple:
    """What makes two results the same row: model, revision, adapter, split, dataset revision and
    every setting that changes the scores (a later run with the same identity replaces an earlier one)."""
    model = record.model
    settings = {key: value for key, value in record.settings.to_json().items() if key not in _SPEED_SETTINGS}
    return (
        model.id,
        model.revision,
        model.adapter,
        record.split,
        record.dataset.revision,
        json.dumps(settings, sort_keys=True),
    )


def display_model(model: ModelRef | Mapping[str, Any]) -> str:
    """The name a table shows for a model: its Hub id, or the last part of a local path.

    A local folder is recognised by its `fingerprint` (set only for local model folders) or by
    looking like a path (absolute, `~`, `.`, a drive letter, `file://`, more than one `/`); its
    full path never reaches a page.

    Args:
        model: the `model` of a results record (or its JSON object).

    Returns:
        e.g. "openai/clip-vit-base-patch32", "oracle", or "tiny-clip" for "/home/me/models/tiny-clip".
    """
    if isinstance(model, ModelRef):
        model_id, fingerprint = model.id, model.fingerprint
    else:
        model_id, fingerprint = str(model.get("id", "")), model.get("fingerprint")
    path_like = is_local_path(model_id) or model_id.count("/") > 1
    if fingerprint or path_like:
        return re.split(r"[/\\]", model_id.rstrip("/\\"))[-1] or model_id
    return model_id


def run_flags(record: ResultsRecord, reference_revision: str | None) -> list[RowFlag]:
    """The flags of one run, in `RowFlag` order.

    Args:
        record: a results record.
        reference_revision: the most common dataset revision among the table's runs.
    """
    raised = {
        RowFlag.CHECK: record.model.adapter in CHECK_ADAPTERS,
        RowFlag.RANDOM_WEIGHTS: bool(record.model.random_weights),
        # A --limit run, or one `vidret submit --allow-subset` labelled (fewer queries than the split).
        RowFlag.SUBSET: record.limit is not None or bool(record.settings.get("subset")),
        RowFlag.OTHER_REVISION: record.dataset.revision != reference_revision,
    }
    return [flag for flag in RowFlag if raised[flag]]


def run_row(record: ResultsRecord, tasks: dict[str, tuple[str, ...]], reference_revision: str | None) -> dict[str, Any]:
    """The row of one run (see `LeaderboardTable.rows`)."""
    model = record.model
    row: dict[str, Any] = {
        "model": display_model(model),
        "model_revision": model.revision,
        "adapter": model.adapter,
        "frames": record.settings.frames,
        "settings": settings_text(record),
        "split": record.split,
        "num_failed": record.num_failed,
        "date": record.created_at[:10],
        "dataset_revision": record.dataset.revision,
        "source": record.source,
        "embeddings": embeddings_origin(record),  # where the embeddings came from; None: not recorded
        "flags": run_flags(record, reference_revision),
    }
    for task_id, metrics in tasks.items():
        task = record.tasks.get(task_id)
        scored = task.metrics if task is not None else {}
        for metric in metrics:
            row[f"{task_id}/{metric}"] = scored.get(metric)
    return row


def is_check(row: dict[str, Any]) -> bool:
    """Whether a row is a pipeline check (the oracle), never ranked."""
    return RowFlag.CHECK in row["flags"]


def task_entry(record: ResultsRecord, task_id: str, metrics: tuple[str, ...], run: int) -> TaskEntry | None:
    """A run's entry on one task's board (None when the run did not score the task)."""
    task = record.tasks.get(task_id)
    if task is None:
        return None
    return TaskEntry(
        run=run,
        metrics={metric: task.metrics.get(metric) for metric in metrics},
        ci_low=dict(task.ci_low or {}),
        ci_high=dict(task.ci_high or {}),
        ci_level=task.ci.level if task.ci is not None else None,
        gallery_size=task.gallery_size,
        num_queries=task.num_queries,
        num_failed=task.num_failed,
    )
