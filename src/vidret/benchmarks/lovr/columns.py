"""LoVR's column contract: the configs its builder writes and its planner requires.

``video`` and ``clip_video`` are plain strings (paths relative to the repo root or the video
root), never `datasets.Video`: loading needs no torchcodec, and frames are decoded lazily.
``start``/``end`` are null when a clip's place in its video is unknown (it is then decoded from
its own file, ``clip_video``); ``duration`` is null when the video was not probed.
``clips_complete`` says whether the `clips` config holds every clip of the video (built from the
Hub caption files) or only those the official query list ``all_clip.jsonl`` names (built from the
official evaluation layout alone); null in a build made before the column.
"""

from __future__ import annotations

from datasets import Features, Value

from vidret.benchmarks.base import ColumnContract

COLUMNS = ColumnContract(
    features={
        "videos": Features(
            {
                "video_id": Value("string"),
                "video": Value("string"),
                "duration": Value("float64"),
                "caption": Value("string"),
                "theme": Value("string"),
                "num_clips": Value("int32"),
                "clips_complete": Value("bool"),
            }
        ),
        "clips": Features(
            {
                "clip_id": Value("string"),
                "video_id": Value("string"),
                "slice_num": Value("int32"),
                "start": Value("float64"),
                "end": Value("float64"),
                "caption": Value("string"),
                "theme": Value("string"),
                "video": Value("string"),
                "clip_video": Value("string"),
            }
        ),
        # The official caption queries (caption_data/all_clip.jsonl), read only by the protocols that ask.
        "clip_queries": Features({"clip_id": Value("string"), "video_id": Value("string"), "caption": Value("string")}),
    },
    required={
        "videos": ("video_id", "video", "caption"),
        "clips": ("clip_id", "video_id", "start", "end", "caption", "video"),
        "clip_queries": ("clip_id", "caption"),
    },
)
