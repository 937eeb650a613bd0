"""What vidret's oracle model reads for MSR-VTT (`vidret.testing.oracle.OracleReader`).

vidret finds this module by convention (``<package>.oracle``) and calls its `split` and `space`.
The oracle knows nothing of the benchmark but this: it reads a frame's code to tell which video
the frames come from, and looks for the ids `space` lists as text keys in a caption.

Embedding space: one dimension per video. A video's frames embed as ``e_video``; a caption as the
``e_video`` of the video id it names. On the sample (`vidret_msrvtt.sample`), whose captions hold
their video id, every caption ranks its own video first and every video its own captions:
R@1 = R@5 = R@10 = 100 and MdR = MnR = 1 in both directions, under both protocols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from vidret.testing.oracle import Entries, OracleSplit, OracleVideo, PlanVideos, Shuffle

if TYPE_CHECKING:
    from vidret.evaluation.planning.tasks import TaskPlan


class MsrvttSpace:
    """One dimension per video of the split (a `vidret.testing.oracle.OracleSpace`)."""

    def __init__(self, videos: Sequence[OracleVideo]) -> None:
        ids = [v.video_id for v in videos]
        self._dim = {vid: i for i, vid in enumerate(ids)}
        self.size = len(ids)
        self.text_keys = ids  # a caption's key is the video id it contains
        self.identities = {"video": ids}  # what the shuffled control permutes

    def video_entries(self, video_id: str, clip_id: str | None, shuffled: Shuffle) -> Entries:
        return {self._dim[shuffled("video", video_id)]: 1.0}

    def text_entries(self, text: str, key: str | None) -> Entries | None:
        return None if key is None else {self._dim[key]: 1.0}


def split(plan: "TaskPlan", files: PlanVideos) -> OracleSplit:
    """Every readable video of the plan (``files.fps`` is None for one it cannot read or does not plan)."""
    videos = []
    for row in plan.tables["videos"]:
        vid = str(row["video_id"])
        fps = files.fps(vid)
        if fps is not None:
            videos.append(OracleVideo(vid, files.first_index(vid), fps))
    return OracleSplit(tuple(videos))


def space(videos: Sequence[OracleVideo], themes: Mapping[str, str]) -> MsrvttSpace:
    """The embedding layout of a split holding `videos` (MSR-VTT has no themes)."""
    return MsrvttSpace(videos)
