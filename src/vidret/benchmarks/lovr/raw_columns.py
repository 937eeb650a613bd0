"""LoVR's raw files: the columns (fields) each caption file of a release must (and may) have.

The one declaration of them: the builder checks every Parquet and JSON Lines file against it,
and README.md's section "Bring your own release" is rendered from it
(`vidret.benchmarks.raw_files`). Facts from the public release (`debugger123/LoVR-benchmark` on
the Hugging Face Hub, paper arXiv 2505.13928, evaluation scripts in
github.com/TechNomad-ds/LoVR-benchmark): the Hub release has Parquet files per split, the
official scripts read two JSON Lines files; clip files are ``<vid>/<vid>-Scene-NNN.mp4``.
"""

from __future__ import annotations

from vidret.benchmarks.raw_files import RawColumn, RawFile

LAYOUT = (
    "One of two layouts under `caption_data/`: the Hub layout (the four Parquet files) or the official "
    "evaluation layout (the two JSON Lines files); with both, the Parquet files are read and "
    "`all_clip.jsonl` becomes the `clip_queries` config. Videos are optional: `video_data/` holding "
    "`merged/<vid>.mp4` (full videos) and `long_video_clip/<vid>/<clip id>.mp4` (scene clips), extracted "
    "or as the release's archive parts `part_aa`, `part_ab`, ... A clip's id is its file name without "
    "`.mp4`, `<vid>-Scene-NNN` in the release."
)

_CLIP = "-7wwfGJXEZg-Scene-003"
_PATH = RawColumn(
    "path",
    "the clip's file; only `<vid>/<clip id>.mp4` at its end is used, so absolute paths of another "
    "machine are fine",
    f"long_video_clip/-7wwfGJXEZg/{_CLIP}.mp4",
)
_CLIP_CAP = RawColumn("cap", "the clip's caption", "A man kneads dough on a floured wooden table.")
_CLIP_OPTIONAL = (
    RawColumn(
        "vid",
        "the clip's video id (default: the folder in `path`, else the `<vid>` of `<vid>-Scene-NNN`)",
        "-7wwfGJXEZg",
        required=False,
    ),
    RawColumn(
        "slice_num",
        "the clip's position in its video, an integer counted from 1 (default: the `NNN` of "
        "`<vid>-Scene-NNN`); clip timestamps follow from it",
        3,
        required=False,
    ),
    RawColumn("theme_info", "the clip's theme, a short text (for the theme tasks)", "cooking", required=False),
)
_VID = RawColumn("vid", "the video's id (its full video is `merged/<vid>.mp4`)", "-7wwfGJXEZg")
_VIDEO_CAP = RawColumn(
    "cap", "the full video's caption", "A baker prepares bread from start to finish in a small kitchen."
)
_VIDEO_OPTIONAL = (
    RawColumn("theme_info", "the video's theme, a short text", "cooking", required=False),
    RawColumn(
        "start_slice_num",
        "the first clip (`slice_num`) the row's caption covers: orders several rows of one `vid`",
        1,
        required=False,
    ),
    RawColumn("end_slice_num", "the last clip (`slice_num`) the row's caption covers", 10, required=False),
)
_VIDEO_NOTES = (
    "Several rows of one `vid` (the caption merger's clusters of clips) are merged in `start_slice_num` "
    "order, captions joined by a line break; rows without it or with overlapping spans are refused.",
    "Other fields (e.g. `cluster_id`) are ignored.",
)

CLIP_PARQUET = RawFile(
    files=("caption_data/clip_train.parquet", "caption_data/clip_test.parquet"),
    format="parquet",
    holds="one row per scene clip, with its caption (the text→clip and clip→text tasks).",
    columns=(_PATH, _CLIP_CAP, *_CLIP_OPTIONAL),
    notes=("Clip ids and (`vid`, `slice_num`) pairs must be unique within a file; other columns are ignored.",),
)

VIDEO_PARQUET = RawFile(
    files=("caption_data/video_train.parquet", "caption_data/video_test.parquet"),
    format="parquet",
    holds="one row per long video, with its full-video caption (the text→video and video→text tasks).",
    columns=(_VID, _VIDEO_CAP, *_VIDEO_OPTIONAL),
    notes=_VIDEO_NOTES,
)

CLIP_JSONL = RawFile(
    files=("caption_data/all_clip.jsonl",),
    format="jsonl",
    holds="one JSON object per line: a clip-caption query of the official scripts (every split).",
    columns=(
        RawColumn(
            "path",
            _PATH.holds,
            f"-7wwfGJXEZg/{_CLIP}.mp4",
        ),
        _CLIP_CAP,
        *_CLIP_OPTIONAL,
    ),
    notes=("Blank lines are skipped; clip ids must be unique.",),
)

VIDEO_JSONL = RawFile(
    files=("caption_data/all_video.jsonl",),
    format="jsonl",
    holds="one JSON object per line: a long video with its full-video caption (every split).",
    columns=(_VID, _VIDEO_CAP, *_VIDEO_OPTIONAL),
    notes=_VIDEO_NOTES,
)

#: Every raw file of a LoVR release, in README order.
RAW_FILES = (CLIP_PARQUET, VIDEO_PARQUET, CLIP_JSONL, VIDEO_JSONL)
