"""The oracle adapter: perfect embeddings for the sample benchmarks, read from pixels and text.

It proves the runner end to end. The sample videos (``vidret.benchmarks.<name>.sample``) are made
with `vidret.testing.synthetic.make_test_video`, so every decoded frame carries its global frame
index, and each video's codes start at `vidret.testing.samples.frame_index_offset(video_id)`. From a
clip's frames alone the oracle recovers which video they come from and at what time, hence which
clip; from a text it finds the id or label the sample texts contain verbatim.

This module is the benchmark-blind part: reading identities from pixels, finding keys in texts,
the "unknown" dimension, the shuffled control and the plan's video files. What a benchmark's
embeddings look like is its `OracleReader` (``vidret.benchmarks.<name>.oracle``), which the adapter
gets from the registry (``get_benchmark(id).oracle_reader()``): the videos a plan lets it see, and
an `OracleSpace` per split (one-hot dimensions, the text keys, the entries of a video and a text).

Shuffled control (``shuffle_seed``): identities read from pixels are mapped through a fixed random
permutation before embedding, so queries and galleries no longer agree and scores fall to chance.
The video side never sees the dataset's ids for the item being embedded: only the table of
(video id, first frame index, fps, clip spans, label) that describes the whole split.
"""

from __future__ import annotations

import bisect
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from vidret.adapters.base import EmbeddingAdapter

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.evaluation.planning.tasks import TaskPlan

logger = logging.getLogger(__name__)

ORACLE_MODELS = ("oracle", "oracle-shuffled")
_SHUFFLE_SEED = 1234
ORACLE_FRAME_SIZE = (128, 96)

#: Sparse embedding: dimension → value (the adapter writes them into a row, then L2-normalises).
Entries = dict[int, float]
#: ``shuffled(kind, identity)``: the identity the shuffled control puts in its place (itself otherwise).
Shuffle = Callable[[str, str], str]


@dataclass(frozen=True)
class OracleVideo:
    """What the oracle knows about one video file of the split.

    Attributes:
        video_id: dataset id of the video.
        first_index: frame code of its first frame.
        fps: its frame rate (frame code → time).
        clips: (clip_id, start, end) spans in seconds, for benchmarks whose videos hold clips.
        label: its class label, for benchmarks whose videos have one.
    """

    video_id: str
    first_index: int
    fps: float
    clips: tuple[tuple[str, float, float], ...] = ()
    label: str | None = None


@dataclass(frozen=True)
class OracleSplit:
    """What a reader found in a plan: the readable videos and, optionally, clip id → theme."""

    videos: tuple[OracleVideo, ...]
    themes: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class OracleSpace(Protocol):
    """One split's embedding layout: the dimensions a benchmark's videos and texts are written to.

    Attributes:
        size: number of dimensions (the adapter adds one more, last, for "unknown").
        text_keys: strings the adapter looks for in a text (the longest found is the key).
        identities: kind → identities the shuffled control permutes (e.g. ``{"video": [...]}``).
    """

    size: int
    text_keys: Sequence[str]
    identities: Mapping[str, Sequence[str]]

    def video_entries(self, video_id: str, clip_id: str | None, shuffled: Shuffle) -> Entries:
        """The embedding of frames read as `video_id` (and `clip_id`, None outside any clip).

        `shuffled(kind, identity)` must be applied to every identity read from pixels.
        """
        ...

    def text_entries(self, text: str, key: str | None) -> Entries | None:
        """The embedding of `text`, whose longest text key is `key` (None: none found); None = unknown."""
        ...


@runtime_checkable
class OracleReader(Protocol):
    """What the oracle reads for one benchmark.

    A benchmark package's ``oracle`` module is one (module-level `split` and `space`); the registry
    hands it out as ``get_benchmark(id).oracle_reader()``. Any object with these two methods will do.
    """

    def split(self, plan: "TaskPlan", files: "PlanVideos") -> OracleSplit:
        """The videos of `plan` the oracle may see (readable ones only) and their clip themes."""
        ...

    def space(self, videos: Sequence[OracleVideo], themes: Mapping[str, str]) -> OracleSpace:
        """The embedding layout of a split holding `videos` (sorted by first frame code)."""
        ...


def reader_for(benchmark: str) -> OracleReader:
    """The oracle reader of a registered benchmark (``get_benchmark(benchmark).oracle_reader()``).

    Raises:
        ValueError: the benchmark is not registered, or has no usable oracle reader.
    """
    from vidret.benchmarks import get_benchmark

    reader = get_benchmark(benchmark).oracle_reader()
    if not isinstance(reader, OracleReader):
        raise ValueError(f"oracle: the oracle reader of benchmark {benchmark!r} ({reader!r}) has no split() and space()")
    return reader


class OracleAdapter(EmbeddingAdapter):
    """Embeddings from the frame-index encoding of the sample videos and ids found in texts.

    Args:
        benchmark: a registered benchmark id, or its `OracleReader`.
        videos: every readable video of the split (see `OracleVideo`); frames of any other
            video, and texts naming none of them, embed as "unknown".
        num_frames: frames the runner samples per clip.
        shuffle_seed: when set, permute the identities read from pixels (the chance-level control).
        themes: clip id → theme (optional theme tasks); None = no themes.

    Raises:
        ValueError: an unknown benchmark, or two videos with the same first frame code.
    """

    def __init__(
        self,
        benchmark: str | OracleReader,
        videos: Sequence[OracleVideo],
        num_frames: int = 4,
        shuffle_seed: int | None = None,
        themes: Mapping[str, str] | None = None,
    ) -> None:
        # Frame codes read back exactly from frames decoded at 64x64 or more; the samples are 64x48.
        super().__init__(num_frames=num_frames, frame_size=ORACLE_FRAME_SIZE, text_max_length=None, default_fusion="avg")
        reader = reader_for(benchmark) if isinstance(benchmark, str) else benchmark
        self.shuffle_seed = shuffle_seed
        self._videos = sorted(videos, key=lambda v: v.first_index)
        self._starts = [v.first_index for v in self._videos]
        if len(set(self._starts)) != len(self._starts):
            raise ValueError("oracle: two videos share a first frame code; frames could not be told apart")
        self.space = reader.space(self._videos, dict(themes or {}))
        self.dim = self.space.size + 1  # +1: "unknown"
        # The shuffled control maps each identity read from pixels to another one.
        self._perms = {kind: self._permutation(list(ids), shuffle_seed) for kind, ids in self.space.identities.items()}
        self._text_pattern = _longest_first_pattern(list(self.space.text_keys))

    @staticmethod
    def _permutation(ids: list[str], seed: int | None) -> dict[str, str]:
        """Identity without a seed; with one, a random derangement (no id maps to itself)."""
        if seed is None or len(ids) < 2:
            return {i: i for i in ids}
        order = list(ids)
        random.Random(seed).shuffle(order)
        # Each id goes to the next one of a random cyclic order: nothing stays in place.
        return {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}

    def _shuffled(self, kind: str, identity: str) -> str:
        return self._perms[kind][identity]

    # ---- pixels → identity ---------------------------------------------------------------------
    def identify(self, frames: "np.ndarray") -> tuple[str | None, str | None]:
        """(video id, clip id) that most of `frames` come from, read from their frame codes.

        Frames without a readable code are skipped; (None, None) when none can be read.
        """
        from vidret.testing.synthetic import decode_frame_index

        votes: Counter[tuple[str, str | None]] = Counter()
        for frame in frames:
            try:
                code = decode_frame_index(frame)
            except ValueError:
                continue
            pos = bisect.bisect_right(self._starts, code) - 1
            if pos < 0:
                continue
            video = self._videos[pos]
            t = (code - video.first_index) / video.fps
            clip = next((cid for cid, start, end in video.clips if start - 1e-6 <= t < end), None)
            votes[(video.video_id, clip)] += 1
        if not votes:
            return None, None
        return votes.most_common(1)[0][0]

    # ---- EmbeddingAdapter ----------------------------------------------------------------------
    def encode_video(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        import torch

        out = torch.zeros(len(clips), self.dim)
        for row, frames in enumerate(clips):
            video_id, clip_id = self.identify(frames)
            entries = None if video_id is None else self.space.video_entries(video_id, clip_id, self._shuffled)
            _write(out[row], entries)
        return self.finalize(out)

    def encode_text(self, texts: Sequence[str]) -> "torch.Tensor":
        import torch

        out = torch.zeros(len(texts), self.dim)
        for row, text in enumerate(texts):
            _write(out[row], self.space.text_entries(text, self._find(text)))
        return self.finalize(out)

    def _find(self, text: str) -> str | None:
        if self._text_pattern is None:
            return None
        found = self._text_pattern.findall(text)
        # The longest key found is the most specific (e.g. a clip id contains its video id).
        return max(found, key=len) if found else None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update({"oracle": True, "shuffled": self.shuffle_seed is not None})
        return info


def _write(row: "torch.Tensor", entries: Entries | None) -> None:
    """Write sparse `entries` into `row`; None (or nothing) marks the last, "unknown" dimension."""
    if not entries:
        row[-1] = 1.0
        return
    for dim, value in entries.items():
        row[dim] = value


def _longest_first_pattern(keys: list[str]) -> re.Pattern[str] | None:
    keys = sorted(set(keys), key=len, reverse=True)
    return re.compile("|".join(re.escape(k) for k in keys)) if keys else None


class PlanVideos:
    """The video files of a plan as the oracle may read them: frame rates, first codes, clip files.

    Args:
        plan: the evaluation plan (its `segments`).
        fps_of: video source → frame rate (raises when unreadable).
        first_index_of: video id → first frame code.
    """

    def __init__(self, plan: "TaskPlan", fps_of: Callable[[str], float], first_index_of: Callable[[str], int]) -> None:
        self._fps_of = fps_of
        self._first_index_of = first_index_of
        self._sources: dict[str, list[str]] = {}
        for seg in plan.segments:
            if seg.source not in self._sources.setdefault(seg.video_id, []):
                self._sources[seg.video_id].append(seg.source)
        # A clip without timestamps is decoded from its own file.
        self._own_file = {seg.name: seg.source for seg in plan.segments if seg.kind == "clip" and seg.start is None}
        self._fps: dict[str, float | None] = {}

    def first_index(self, video_id: str) -> int:
        """Frame code of the video's first frame."""
        return int(self._first_index_of(video_id))

    def fps(self, video_id: str) -> float | None:
        """The video's frame rate; None when it is not in the plan or none of its files can be read.

        Any readable file of the video tells it (the full video may be absent while clip files are
        there); a warning names the video when none can.
        """
        if video_id not in self._fps:
            self._fps[video_id] = self._probe(video_id)
        return self._fps[video_id]

    def _probe(self, video_id: str) -> float | None:
        sources = self._sources.get(video_id)
        if not sources:
            return None  # outside this (possibly limited) evaluation
        for source in sources[:-1]:
            try:
                return self._fps_of(source)
            except Exception:  # noqa: BLE001 - try the next file of the video
                continue
        try:
            return self._fps_of(sources[-1])
        except Exception as err:  # noqa: BLE001 - an unreadable video is the runner's to report
            logger.warning("oracle: cannot probe %s (%s); its frames will embed as unknown", video_id, err)
            return None

    def clip_file_span(self, clip_id: str, video_id: str) -> tuple[float, float] | None:
        """[start, end) in its video of a clip decoded from its own file, read from the file's first frame code.

        None when the clip has no file of its own or it cannot be read (the runner reports that clip as failed).
        """
        source, fps = self._own_file.get(clip_id), self.fps(video_id)
        if source is None or fps is None:
            return None
        from vidret.testing.synthetic import decode_frame_index
        from vidret.video import probe, sample_frames_at

        try:
            frame = sample_frames_at(source, [0.0], size=(64, 64))[0]
            start = (decode_frame_index(frame) - self.first_index(video_id)) / fps
            return start, start + float(probe(source).duration)
        except Exception:  # noqa: BLE001 - unreadable: the clip's own decode fails and is counted
            return None


def build_oracle(
    plan: "TaskPlan",
    model: str = "oracle",
    num_frames: int | None = None,
    fps_of: Callable[[str], float] | None = None,
    first_index_of: Callable[[str], int] | None = None,
    timeout: float | None = None,
) -> OracleAdapter:
    """The oracle for a plan's split: its benchmark's reader picks the videos from the plan's id tables.

    Args:
        plan: the evaluation plan (its `tables` and `segments`).
        model: "oracle" or "oracle-shuffled" (the chance-level control).
        num_frames: frames per clip (default 4).
        fps_of: video source → frame rate (default: `vidret.video.probe`).
        first_index_of: video id → first frame code (default: `vidret.testing.samples.frame_index_offset`).
        timeout: seconds allowed per remote video by the default `fps_of`.

    Returns:
        The adapter.

    Raises:
        ValueError: an unknown oracle name or benchmark.
    """
    if model not in ORACLE_MODELS:
        raise ValueError(f"unknown oracle {model!r}; choose one of {ORACLE_MODELS}")
    if fps_of is None:
        from vidret.video import probe

        def fps_of(source: str) -> float:
            return float(probe(source, timeout=timeout).fps)

    if first_index_of is None:
        from vidret.testing.samples import frame_index_offset as first_index_of

    reader = reader_for(plan.benchmark.benchmark)
    found = reader.split(plan, PlanVideos(plan, fps_of, first_index_of))
    seed = _SHUFFLE_SEED if model == "oracle-shuffled" else None
    return OracleAdapter(reader, found.videos, num_frames=num_frames or 4, shuffle_seed=seed, themes=found.themes)


def is_oracle(model: str) -> bool:
    """True for the oracle model names ("oracle", "oracle-shuffled")."""
    return model in ORACLE_MODELS
