"""The grouped segment decoder: many segments of many videos, one pass and one deadline per video.

This is the one decoder behind `vidret.datasets.with_frames` and the evaluation runner's model
source, so both read the same frames for the same segment. A segment is anything with
``source``, ``start`` and ``end`` (`VideoSegment`, or the runner's own `Segment`):

    settings = decode_settings(fps=1.0, max_frames=32, size=None, mode="exact", timeout=None)
    groups = group_segments(segments)            # by source file, ordered by start
    for group in groups:                         # e.g. one DataLoader item each
        for segment, frames, error in decode_group(group, settings): ...
    decode_segments(segments, settings)          # the same, answers in the order given

Each group is one `vidret.video.sample_segments` call with ``errors="collect"``: the file is
opened once, every span decoded in one pass under one deadline (`timeout`), and a failure is
kept per segment (a bad span fails alone; a video that cannot be opened fails its whole group
at once, without a retry per segment). A failure is the text ``"<ExceptionType>: <message>"``,
which names the video. Only decode failures (`vidret.video.DECODE_ERRORS`) are collected;
anything else is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

import numpy as np

from vidret.video import sampler
from vidret.video.settings import DecodeSettings, decode_settings  # noqa: F401  (decode_settings: re-exported)

#: Most segments of one video decoded in one call: bounds the memory one group's frames take (a
#: long video may have hundreds of clips), and is the unit of work a DataLoader worker gets.
MAX_SEGMENTS_PER_GROUP = 64


class SegmentLike(Protocol):
    """What the decoder reads from a segment: where the video is and which span of it."""

    @property
    def source(self) -> str: ...

    @property
    def start(self) -> float | None: ...

    @property
    def end(self) -> float | None: ...


S = TypeVar("S", bound=SegmentLike)


@dataclass(frozen=True)
class VideoSegment:
    """One span of one video to decode.

    Attributes:
        source: Local path or URL of the video file (segments group by this exact string).
        start: Span start in seconds (None: the start of the video).
        end: Span end in seconds (None: the end of the video); (None, None) is the whole video.
        name: The caller's name for the span (a row index, a clip id); not used for decoding.
    """

    source: str
    start: float | None = None
    end: float | None = None
    name: Any = None


class SegmentFrames(NamedTuple):
    """A decoded segment: its frames, or why it has none.

    Attributes:
        segment: The segment as given.
        frames: uint8 (T, H, W, 3) RGB in temporal order, or None when decoding failed.
        error: None, or ``"<ExceptionType>: <message>"`` naming the video.
    """

    segment: Any
    frames: np.ndarray | None
    error: str | None


def group_segments(segments: Iterable[S], max_per_group: int = MAX_SEGMENTS_PER_GROUP) -> list[list[S]]:
    """Segments grouped by source file (in order of first appearance), each group ordered by start.

    Whole-video bounds (None) sort as 0. A source with more than `max_per_group` segments is cut
    into consecutive groups of at most that many.

    Raises:
        ValueError: `max_per_group` < 1.
    """
    if max_per_group < 1:
        raise ValueError(f"max_per_group must be >= 1, got {max_per_group!r}")
    by_source: dict[str, list[S]] = {}
    for segment in segments:
        by_source.setdefault(segment.source, []).append(segment)
    groups: list[list[S]] = []
    for members in by_source.values():
        members = sorted(members, key=lambda s: (s.start or 0.0, s.end or 0.0))
        groups += [members[i : i + max_per_group] for i in range(0, len(members), max_per_group)]
    return groups


def decode_group(group: Sequence[S], settings: DecodeSettings) -> list[SegmentFrames]:
    """Decode segments of one video in one pass (one open, one deadline); one result per segment, in order.

    Raises:
        ValueError: the segments name more than one source (group them with `group_segments`).
    """
    if not group:
        return []
    source = group[0].source
    others = sorted({s.source for s in group} - {source})
    if others:
        raise ValueError(f"decode_group: one group holds segments of one video, got {source!r} and {others[0]!r}")
    decoded = sampler.collect_segments(source, [(s.start, s.end) for s in group], settings)
    out: list[SegmentFrames] = []
    for segment, outcome in zip(group, decoded):
        if isinstance(outcome, Exception):
            out.append(SegmentFrames(segment, None, f"{type(outcome).__name__}: {outcome}"))
        else:
            out.append(SegmentFrames(segment, outcome, None))
    return out


def decode_segments(
    segments: Sequence[S], settings: DecodeSettings, max_per_group: int = MAX_SEGMENTS_PER_GROUP
) -> list[SegmentFrames]:
    """Decode segments of any videos, grouped as `group_segments` groups them; results in the order given."""
    indexed = [_Indexed(i, s) for i, s in enumerate(segments)]
    results: list[SegmentFrames | None] = [None] * len(indexed)
    for group in group_segments(indexed, max_per_group):
        for item, frames, error in decode_group(group, settings):
            results[item.index] = SegmentFrames(item.segment, frames, error)
    return results  # type: ignore[return-value]  (every segment belongs to one group)


@dataclass(frozen=True)
class _Indexed:
    """A segment and its position in the caller's list (to answer in the order given)."""

    index: int
    segment: Any

    @property
    def source(self) -> str:
        return self.segment.source

    @property
    def start(self) -> float | None:
        return self.segment.start

    @property
    def end(self) -> float | None:
        return self.segment.end
