"""TF-CoVR's column contract: the configs its builder writes and its planner requires.

``video`` is a plain string (``videos/<stem>.mp4``, relative to the repo root or the video root),
never `datasets.Video`. ``target_videos`` lists every valid target of a query once, sorted;
``target_videos_as_written`` is the release's list as it writes it (order and repeats kept: the
official protocol's |G| counts every entry). A build made before that column still plans: the
official protocol then says that repeats cannot be honoured (`vidret.benchmarks.tf_covr.planner`).
``duration`` is null when the video was not probed.
"""

from __future__ import annotations

from datasets import Features, List, Value

from vidret.benchmarks.base import ColumnContract

COLUMNS = ColumnContract(
    features={
        "triplets": Features(
            {
                "query_id": Value("string"),
                "query_video": Value("string"),
                "modification": Value("string"),
                "target_video": Value("string"),
                "target_videos": List(Value("string")),
                "target_videos_as_written": List(Value("string")),
                "query_label": Value("string"),
                "target_label": Value("string"),
            }
        ),
        "videos": Features(
            {
                "video_id": Value("string"),
                "video": Value("string"),
                "source": Value("string"),
                "label": Value("string"),
                "duration": Value("float64"),
                "in_gallery": Value("bool"),
            }
        ),
    },
    required={
        "triplets": ("query_id", "query_video", "modification", "target_video"),
        "videos": ("video_id", "video"),
    },
)
