"""What the oracle reads for LoVR: videos made of clips, captions naming a clip or a video, themes.

Embedding space (one-hot blocks, L2-normalised by the adapter): ``[video dims | clip dims | theme
dims]``. A clip is ``e_video + e_clip + e_theme`` (no theme term when the clip has none); a clip
caption the same; a video caption ``e_video``; a theme text (the theme itself) ``e_theme``. A full
video aggregated from its clips keeps ``e_video`` dominant, and only clips of a theme share its
dimension, so every task (t2v, v2t, t2c, c2t, theme2c, c2theme) has R@1 = 100 on the sample
(`vidret.benchmarks.lovr.sample`), whose captions hold their clip or video id verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from vidret.testing.oracle import Entries, OracleSpace, OracleSplit, OracleVideo, PlanVideos, Shuffle

if TYPE_CHECKING:
    from vidret.evaluation.planning.tasks import TaskPlan


class LovrSpace(OracleSpace):
    """``[video dims | clip dims | theme dims]`` of one split (see the module docstring)."""

    def __init__(self, videos: Sequence[OracleVideo], themes: Mapping[str, str]) -> None:
        video_ids = [v.video_id for v in videos]
        clip_ids = [c[0] for v in videos for c in v.clips]
        self._video_dim = {vid: i for i, vid in enumerate(video_ids)}
        self._clip_dim = {cid: len(video_ids) + i for i, cid in enumerate(clip_ids)}
        self._clip_video = {c[0]: v.video_id for v in videos for c in v.clips}
        self._clip_theme = dict(themes)
        first = len(video_ids) + len(clip_ids)
        self._theme_dim = {t: first + i for i, t in enumerate(sorted(set(self._clip_theme.values())))}
        self.size = first + len(self._theme_dim)
        # A clip id contains its video id: the adapter keeps the longest key found.
        self.text_keys = clip_ids + video_ids
        self.identities = {"video": video_ids, "clip": clip_ids}

    def video_entries(self, video_id: str, clip_id: str | None, shuffled: Shuffle) -> Entries:
        entries = {self._video_dim[shuffled("video", video_id)]: 1.0}
        if clip_id is not None:
            entries.update(self._clip(shuffled("clip", clip_id)))
        return entries

    def text_entries(self, text: str, key: str | None) -> Entries | None:
        if text.strip() in self._theme_dim:  # a theme query is the theme itself
            return {self._theme_dim[text.strip()]: 1.0}
        if key is None:
            return None
        if key in self._clip_dim:
            return {**self._clip(key), self._video_dim[self._clip_video[key]]: 1.0}
        return {self._video_dim[key]: 1.0}

    def _clip(self, clip_id: str) -> Entries:
        """A clip's own dimension and its theme's (when it has one)."""
        entries = {self._clip_dim[clip_id]: 1.0}
        theme = self._clip_theme.get(clip_id)
        if theme is not None:
            entries[self._theme_dim[theme]] = 1.0
        return entries


# The reader: this module is one (`get_benchmark(...).oracle_reader()` returns it).
def split(plan: "TaskPlan", files: PlanVideos) -> OracleSplit:
    """Videos with their clip spans (timestamps, or read from each clip's own file) and clip themes."""
    spans: dict[str, list[tuple[str, float, float]]] = {}
    for c in plan.tables["clips"]:
        vid, cid = str(c["video_id"]), str(c["clip_id"])
        if c["start"] is not None and c["end"] is not None:
            spans.setdefault(vid, []).append((cid, float(c["start"]), float(c["end"])))
            continue
        # No timestamps: the clip is decoded from its own file; read its place in the video from it.
        span = files.clip_file_span(cid, vid)
        if span is not None:
            spans.setdefault(vid, []).append((cid, *span))
    videos = []
    for v in plan.tables["videos"]:
        vid = str(v["video_id"])
        fps = files.fps(vid)
        if fps is not None:  # unreadable or outside this evaluation: left out
            videos.append(OracleVideo(vid, files.first_index(vid), fps, tuple(spans.get(vid, ()))))
    themes = {
        str(c["clip_id"]): c["theme"].strip()
        for c in plan.tables.get("clips", [])
        if isinstance(c.get("theme"), str) and c["theme"].strip()
    }
    return OracleSplit(tuple(videos), themes)


def space(videos: Sequence[OracleVideo], themes: Mapping[str, str]) -> OracleSpace:
    """The split's embedding layout (see the module docstring)."""
    return LovrSpace(videos, themes)
