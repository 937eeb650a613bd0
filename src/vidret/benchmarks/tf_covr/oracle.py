"""What the oracle reads for TF-CoVR: labelled videos, modification texts naming the target label.

Embedding space (one-hot blocks, L2-normalised by the adapter): ``[label dims | video dims]``. A
video is ``LABEL_WEIGHT e_label + ID_WEIGHT e_video``; a modification text ``e_target_label``.
Fused with `avg`, a gallery video with the target label scores 0.6/2 above the rest, one sharing
only the query's label 0.36/2: every valid target ranks first and mAP@K = 100 (with `text` fusion
too) on the sample (`vidret.benchmarks.tf_covr.sample`), whose texts hold their target label verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from vidret.testing.oracle import Entries, OracleSpace, OracleSplit, OracleVideo, PlanVideos, Shuffle

if TYPE_CHECKING:
    from vidret.evaluation.planning.tasks import TaskPlan

# Video embedding = LABEL_WEIGHT * e_label + ID_WEIGHT * e_video (LABEL_WEIGHT < 1, see module doc).
LABEL_WEIGHT, ID_WEIGHT = 0.6, 0.8


class TfCovrSpace(OracleSpace):
    """``[label dims | video dims]`` of one split (see the module docstring)."""

    def __init__(self, videos: Sequence[OracleVideo]) -> None:
        video_ids = [v.video_id for v in videos]
        labels = sorted({v.label for v in videos if v.label is not None})
        self._label_dim = {lab: i for i, lab in enumerate(labels)}
        self._video_dim = {vid: len(labels) + i for i, vid in enumerate(video_ids)}
        self._label_of = {v.video_id: v.label for v in videos}
        self.size = len(labels) + len(video_ids)
        self.text_keys = labels
        self.identities = {"video": video_ids, "label": labels}

    def video_entries(self, video_id: str, clip_id: str | None, shuffled: Shuffle) -> Entries:
        entries = {self._video_dim[shuffled("video", video_id)]: ID_WEIGHT}
        label = self._label_of[video_id]
        if label is not None:
            entries[self._label_dim[shuffled("label", label)]] = LABEL_WEIGHT
        return entries

    def text_entries(self, text: str, key: str | None) -> Entries | None:
        return None if key is None else {self._label_dim[key]: 1.0}


# The reader: this module is one (`get_benchmark(...).oracle_reader()` returns it).
def split(plan: "TaskPlan", files: PlanVideos) -> OracleSplit:
    """Every readable video of the plan with its label (from the videos table)."""
    videos = []
    for v in plan.tables["videos"]:
        vid = str(v["video_id"])
        fps = files.fps(vid)
        if fps is not None:  # unreadable or outside this (possibly limited) evaluation: left out
            label = v.get("label")
            videos.append(OracleVideo(vid, files.first_index(vid), fps, label=None if label is None else str(label)))
    return OracleSplit(tuple(videos))


def space(videos: Sequence[OracleVideo], themes: Mapping[str, str]) -> OracleSpace:
    """The split's embedding layout (see the module docstring)."""
    return TfCovrSpace(videos)
