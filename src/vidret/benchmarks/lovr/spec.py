"""LoVR's tasks and protocols (text <-> long video, text <-> clip, theme <-> clip)."""

from __future__ import annotations

from dataclasses import replace

from vidret.benchmarks.spec import (
    OFFICIAL_PROTOCOL,
    RETRIEVAL_METRICS,
    VIDRET_PROTOCOL,
    VIDRET_SUMMARY,
    ProtocolSpec,
    TaskRules,
    TaskSpec,
    official_variant,
)

LOVR = "lovr"
# What the official scripts report: R@1/5/10 (pass@k).
LOVR_OFFICIAL_METRICS = ("R@1", "R@5", "R@10")

#: What clip and theme queries cluster on: the long video (about 90 clips each, sharing its
#: difficulty). Full-video queries (t2v, v2t) are independent. See `planner.query_videos`.
VIDEO_CLUSTER = "video_id"

TASKS = {
    "t2v": TaskSpec("t2v", "text-to-video", "videos", "text", "video", RETRIEVAL_METRICS, "R@1"),
    "v2t": TaskSpec("v2t", "video-to-text", "videos", "video", "text", RETRIEVAL_METRICS, "R@1"),
    "t2c": TaskSpec("t2c", "text-to-clip", "clips", "text", "clip", RETRIEVAL_METRICS, "R@1", cluster=VIDEO_CLUSTER),
    "c2t": TaskSpec("c2t", "clip-to-text", "clips", "clip", "text", RETRIEVAL_METRICS, "R@1", cluster=VIDEO_CLUSTER),
    "theme2c": TaskSpec(
        "theme2c", "theme-to-clip", "clips", "theme", "clip", RETRIEVAL_METRICS, "R@1", optional=True, cluster=VIDEO_CLUSTER
    ),
    "c2theme": TaskSpec(
        "c2theme", "clip-to-theme", "clips", "clip", "theme", RETRIEVAL_METRICS, "R@1", optional=True, cluster=VIDEO_CLUSTER
    ),
}

# Official (TechNomad-ds/LoVR-benchmark, calc_pass): every full video and clip of the release;
# t2c/c2t use the clip-caption query list all_clip.jsonl; a caption is relevant to its own item only.
_OFFICIAL_RULES = TaskRules(rows="release", identical_texts_relevant=False)
OFFICIAL_TASKS = official_variant(
    TASKS,
    LOVR_OFFICIAL_METRICS,
    "R@1",
    _OFFICIAL_RULES,
    t2c=replace(_OFFICIAL_RULES, caption_queries="clip_queries"),
    c2t=replace(_OFFICIAL_RULES, caption_queries="clip_queries"),
    theme2c=replace(_OFFICIAL_RULES, themes="per_clip"),
    c2theme=replace(_OFFICIAL_RULES, themes="per_clip"),
)

PROTOCOLS = {
    VIDRET_PROTOCOL: ProtocolSpec(VIDRET_PROTOCOL, VIDRET_SUMMARY, TASKS),
    OFFICIAL_PROTOCOL: ProtocolSpec(
        OFFICIAL_PROTOCOL,
        "what LoVR's evaluation code computes: every video and clip of the release, "
        "the all_clip.jsonl caption queries, a caption relevant to its own item only",
        OFFICIAL_TASKS,
        hub_suffix="_official",
        reference="https://github.com/TechNomad-ds/LoVR-benchmark (evaluate/, calc_pass)",
        # make_video_dict: a full video is every clip's frames read with one stride, in one pass.
        full_video="concat",
    ),
}
#: Caption-query configs a protocol may ask for -> the raw release file each is built from.
QUERY_CONFIGS = {"clip_queries": "caption_data/all_clip.jsonl"}
