"""The column contract: one `datasets.Features` per config, written by the builder, required by the planner.

``video`` is a plain string (``videos/<video_id>.mp4``, relative to the repo root or to
``--video-root``), never `datasets.Video`: loading needs no video decoder. ``duration`` is null
when the video was not probed (an annotations-only build).
"""

from __future__ import annotations

from datasets import Features, Value

from vidret.benchmarks import ColumnContract

COLUMNS = ColumnContract(
    features={
        # The 1k-A test videos, in the order of the JSFusion list.
        "videos": Features(
            {
                "video_id": Value("string"),
                "video": Value("string"),
                "duration": Value("float64"),
                "category": Value("int32"),
                "url": Value("string"),
            }
        ),
        # Every caption of those videos (20 each), in video order, then `sen_id` order.
        "captions": Features(
            {
                "caption_id": Value("string"),
                "video_id": Value("string"),
                "sen_id": Value("int32"),
                "caption": Value("string"),
            }
        ),
        # JSFusion's one sentence per video: the queries of the official protocol.
        "jsfusion": Features({"key": Value("string"), "video_id": Value("string"), "caption": Value("string")}),
    },
    required={
        "videos": ("video_id", "video"),
        "captions": ("caption_id", "video_id", "caption"),
        "jsfusion": ("video_id", "caption"),
    },
)
