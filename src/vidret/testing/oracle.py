"""The oracle adapter: perfect embeddings for the sample benchmarks, read from pixels and text.

It proves the runner end to end. The sample videos (`vidret.testing.samples`) are made with
`vidret.testing.synthetic.make_test_video`, so every decoded frame carries its global frame index,
and each video's codes start at `vidret.testing.samples.frame_index_offset(video_id)`. From a clip's
frames alone the oracle recovers which video they come from and at what time, hence which clip;
from a text it finds the clip id, video id or label the sample captions contain verbatim.

Embedding spaces (one-hot blocks, L2-normalised):

- LoVR: ``[video dims | clip dims | theme dims]``. A clip is ``e_video + e_clip + e_theme`` (no
  theme term when the clip has none); a clip caption the same; a video caption ``e_video``; a theme
  text (the theme itself) ``e_theme``. A full video aggregated from its clips keeps ``e_video``
  dominant, and only clips of a theme share its dimension, so every task (t2v, v2t, t2c, c2t,
  theme2c, c2theme) has R@1 = 100.
- TF-CoVR: ``[label dims | video dims]``. A video is ``0.6 e_label + 0.8 e_video``; a modification
  text ``e_target_label``. Fused with `avg`, a gallery video with the target label scores 0.6/2
  above the rest, one sharing only the query's label 0.36/2: every valid target ranks first and
  mAP@K = 100 (with `text` fusion too).

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidret.adapters.base import EmbeddingAdapter

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.evaluation.planning.tasks import TaskPlan

logger = logging.getLogger(__name__)

ORACLE_MODELS = ("oracle", "oracle-shuffled")
_SHUFFLE_SEED = 1234
# TF-CoVR video embedding = LABEL_WEIGHT * e_label + ID_WEIGHT * e_video (LABEL_WEIGHT < 1, see module doc).
LABEL_WEIGHT, ID_WEIGHT = 0.6, 0.8
ORACLE_FRAME_SIZE = (128, 96)


@dataclass(frozen=True)
class OracleVideo:
    """What the oracle knows about one video file of the split.

    Attributes:
        video_id: dataset id of the video.
        first_index: frame code of its first frame.
        fps: its frame rate (frame code → time).
        clips: (clip_id, start, end) spans in seconds, LoVR only.
        label: its class label, TF-CoVR only.
    """

    video_id: str
    first_index: int
    fps: float
    clips: tuple[tuple[str, float, float], ...] = ()
    label: str | None = None


class OracleAdapter(EmbeddingAdapter):
    """Embeddings from the frame-index encoding of the sample videos and ids found in texts.

    Args:
        benchmark: "lovr" or "tf-covr".
        videos: every readable video of the split (see `OracleVideo`); frames of any other
            video, and texts naming none of them, embed as "unknown".
        num_frames: frames the runner samples per clip.
        shuffle_seed: when set, permute the identities read from pixels (the chance-level control).
        themes: LoVR clip id → theme (the optional theme tasks); None = no themes.

    Raises:
        ValueError: an unknown benchmark, or two videos with the same first frame code.
    """

    def __init__(
        self,
        benchmark: str,
        videos: Sequence[OracleVideo],
        num_frames: int = 4,
        shuffle_seed: int | None = None,
        themes: Mapping[str, str] | None = None,
    ) -> None:
        # Frame codes read back exactly from frames decoded at 64x64 or more; the samples are 64x48.
        super().__init__(num_frames=num_frames, frame_size=ORACLE_FRAME_SIZE, text_max_length=None, default_fusion="avg")
        if benchmark not in ("lovr", "tf-covr"):
            raise ValueError(f"oracle: unknown benchmark {benchmark!r}")
        self.benchmark = benchmark
        self.shuffle_seed = shuffle_seed
        self._videos = sorted(videos, key=lambda v: v.first_index)
        self._starts = [v.first_index for v in self._videos]
        if len(set(self._starts)) != len(self._starts):
            raise ValueError("oracle: two videos share a first frame code; frames could not be told apart")
        video_ids = [v.video_id for v in self._videos]
        clip_ids = [c[0] for v in self._videos for c in v.clips]
        labels = sorted({v.label for v in self._videos if v.label is not None})
        self._video_dim = {vid: i for i, vid in enumerate(video_ids)}
        if benchmark == "lovr":
            self._clip_dim = {cid: len(video_ids) + i for i, cid in enumerate(clip_ids)}
            self._label_dim: dict[str, int] = {}
            self._clip_video = {c[0]: v.video_id for v in self._videos for c in v.clips}
            self._clip_theme = dict(themes or {})
            first = len(video_ids) + len(clip_ids)
            self._theme_dim = {t: first + i for i, t in enumerate(sorted(set(self._clip_theme.values())))}
        else:
            self._label_dim = {lab: i for i, lab in enumerate(labels)}
            self._video_dim = {vid: len(labels) + i for i, vid in enumerate(video_ids)}
            self._clip_dim = {}
            self._clip_video = {}
            self._clip_theme = {}
            self._theme_dim = {}
        dims = len(self._video_dim) + len(self._clip_dim) + len(self._label_dim) + len(self._theme_dim)
        self.dim = dims + 1  # +1: "unknown"
        self._label_of = {v.video_id: v.label for v in self._videos}
        # The shuffled control maps each identity read from pixels to another one.
        self._video_perm = self._permutation(video_ids, shuffle_seed)
        self._clip_perm = self._permutation(clip_ids, shuffle_seed)
        self._label_perm = self._permutation(labels, shuffle_seed)
        text_keys = clip_ids + video_ids if benchmark == "lovr" else labels
        self._text_pattern = _longest_first_pattern(text_keys)

    @staticmethod
    def _permutation(ids: list[str], seed: int | None) -> dict[str, str]:
        """Identity without a seed; with one, a random derangement (no id maps to itself)."""
        if seed is None or len(ids) < 2:
            return {i: i for i in ids}
        order = list(ids)
        random.Random(seed).shuffle(order)
        # Each id goes to the next one of a random cyclic order: nothing stays in place.
        return {order[i]: order[(i + 1) % len(order)] for i in range(len(order))}

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
            if video_id is None:
                out[row, -1] = 1.0
                continue
            if self.benchmark == "lovr":
                out[row, self._video_dim[self._video_perm[video_id]]] = 1.0
                if clip_id is not None:
                    self._set_clip(out[row], self._clip_perm[clip_id])
            else:
                label = self._label_of[video_id]
                out[row, self._video_dim[self._video_perm[video_id]]] = ID_WEIGHT
                if label is not None:
                    out[row, self._label_dim[self._label_perm[label]]] = LABEL_WEIGHT
        return self.finalize(out)

    def encode_text(self, texts: Sequence[str]) -> "torch.Tensor":
        import torch

        out = torch.zeros(len(texts), self.dim)
        for row, text in enumerate(texts):
            key = self._find(text)
            if text.strip() in self._theme_dim:  # a theme query is the theme itself
                out[row, self._theme_dim[text.strip()]] = 1.0
            elif key is None:
                out[row, -1] = 1.0
            elif self.benchmark == "tf-covr":
                out[row, self._label_dim[key]] = 1.0
            elif key in self._clip_dim:
                self._set_clip(out[row], key)
                out[row, self._video_dim[self._clip_video[key]]] = 1.0
            else:
                out[row, self._video_dim[key]] = 1.0
        return self.finalize(out)

    def _set_clip(self, row: "torch.Tensor", clip_id: str) -> None:
        """Mark a LoVR clip's own dimension and its theme's (when it has one)."""
        row[self._clip_dim[clip_id]] = 1.0
        theme = self._clip_theme.get(clip_id)
        if theme is not None:
            row[self._theme_dim[theme]] = 1.0

    def _find(self, text: str) -> str | None:
        if self._text_pattern is None:
            return None
        found = self._text_pattern.findall(text)
        # The longest id found is the most specific (a clip id contains its video id).
        return max(found, key=len) if found else None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update({"oracle": True, "shuffled": self.shuffle_seed is not None})
        return info


def _longest_first_pattern(keys: list[str]) -> re.Pattern[str] | None:
    keys = sorted(set(keys), key=len, reverse=True)
    return re.compile("|".join(re.escape(k) for k in keys)) if keys else None


def build_oracle(
    plan: "TaskPlan",
    model: str = "oracle",
    num_frames: int | None = None,
    fps_of: Callable[[str], float] | None = None,
    first_index_of: Callable[[str], int] | None = None,
    timeout: float | None = None,
) -> OracleAdapter:
    """The oracle for a plan's split: its video table comes from the plan's id tables.

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
        ValueError: an unknown oracle name.
    """
    if model not in ORACLE_MODELS:
        raise ValueError(f"unknown oracle {model!r}; choose one of {ORACLE_MODELS}")
    if fps_of is None:
        from vidret.video import probe

        def fps_of(source: str) -> float:
            return float(probe(source, timeout=timeout).fps)

    def safe_fps(vid: str, source: str) -> float | None:
        try:
            return fps_of(source)
        except Exception as err:  # noqa: BLE001 - an unreadable video is the runner's to report
            logger.warning("oracle: cannot probe %s (%s); its frames will embed as unknown", vid, err)
            return None

    if first_index_of is None:
        from vidret.testing.samples import frame_index_offset as first_index_of

    sources_of: dict[str, list[str]] = {}
    for seg in plan.segments:
        if seg.source not in sources_of.setdefault(seg.video_id, []):
            sources_of[seg.video_id].append(seg.source)

    def video_fps(vid: str) -> float | None:
        # Any readable file of the video tells its frame rate (the full video may be absent while clip files are there).
        for source in sources_of.get(vid, [])[:-1]:
            try:
                return fps_of(source)
            except Exception:  # noqa: BLE001 - try the next file of the video
                continue
        return safe_fps(vid, sources_of[vid][-1]) if vid in sources_of else None

    benchmark = plan.benchmark.benchmark
    videos: list[OracleVideo] = []
    if benchmark == "lovr":
        own_file = {seg.name: seg.source for seg in plan.segments if seg.kind == "clip" and seg.start is None}
        spans: dict[str, list[tuple[str, float, float]]] = {}
        fps_cache: dict[str, float | None] = {}
        for c in plan.tables["clips"]:
            vid, cid = str(c["video_id"]), str(c["clip_id"])
            if c["start"] is not None and c["end"] is not None:
                spans.setdefault(vid, []).append((cid, float(c["start"]), float(c["end"])))
                continue
            # No timestamps: the clip is decoded from its own file; read its place in the video from it.
            if vid not in fps_cache:
                fps_cache[vid] = video_fps(vid)
            span = _span_of_clip_file(own_file.get(cid), int(first_index_of(vid)), fps_cache[vid])
            if span is not None:
                spans.setdefault(vid, []).append((cid, *span))
        for v in plan.tables["videos"]:
            vid = str(v["video_id"])
            fps = fps_cache[vid] if vid in fps_cache else video_fps(vid)
            if fps is not None:
                videos.append(OracleVideo(vid, int(first_index_of(vid)), fps, tuple(spans.get(vid, ()))))
    else:
        for v in plan.tables["videos"]:
            vid = str(v["video_id"])
            # Videos outside this (possibly limited) evaluation, or unreadable ones, are left out.
            fps = safe_fps(vid, sources_of[vid][0]) if vid in sources_of else None
            if fps is not None:
                label = v.get("label")
                videos.append(OracleVideo(vid, int(first_index_of(vid)), fps, label=None if label is None else str(label)))
    seed = _SHUFFLE_SEED if model == "oracle-shuffled" else None
    themes = {
        str(c["clip_id"]): c["theme"].strip()
        for c in plan.tables.get("clips", [])
        if isinstance(c.get("theme"), str) and c["theme"].strip()
    }
    return OracleAdapter(benchmark, videos, num_frames=num_frames or 4, shuffle_seed=seed, themes=themes)


def _span_of_clip_file(source: str | None, first_index: int, fps: float | None) -> tuple[float, float] | None:
    """[start, end) in its full video of a sample clip file, read from its first frame code and duration.

    None when the file cannot be read (the runner reports that clip as failed).
    """
    if source is None or fps is None:
        return None
    from vidret.video import probe, sample_frames_at
    from vidret.testing.synthetic import decode_frame_index

    try:
        frame = sample_frames_at(source, [0.0], size=(64, 64))[0]
        start = (decode_frame_index(frame) - first_index) / fps
        return start, start + float(probe(source).duration)
    except Exception:  # noqa: BLE001 - unreadable: the clip's own decode fails and is counted
        return None


def is_oracle(model: str) -> bool:
    """True for the oracle model names ("oracle", "oracle-shuffled")."""
    return model in ORACLE_MODELS

