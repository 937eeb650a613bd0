"""A small LoVR release in its published layouts, for tests, examples and `vidret demo`.

`make_release` writes real (tiny) MP4s whose frames carry their codes
(`vidret.testing.samples.frame_index_offset`) and captions holding their clip and video ids, which
is what the oracle (`vidret.benchmarks.lovr.oracle`) reads.
"""

from __future__ import annotations

import os
import random
import shutil
import string
from collections.abc import Iterable
from pathlib import Path

from vidret.testing.samples import ID_ALPHABET, frame_index_offset, unique_block_ids, write_split_archive

_ACTIONS = (
    "slices vegetables on a wooden board",
    "walks along a crowded street market",
    "adjusts the settings of a camera",
    "paints a small canvas by the window",
    "explains a diagram on a whiteboard",
    "pours coffee into two white cups",
    "repairs a bicycle wheel in a garage",
    "plays a short melody on a piano",
)
_THEMES = ("cooking", "travel", "education", "music", "crafts")


def _youtube_ids(rng: random.Random) -> Iterable[str]:
    """Endless 11-character YouTube-style ids; the first starts with "-" (like real ids can)."""
    first = True
    while True:
        body = "".join(rng.choice(ID_ALPHABET) for _ in range(10))
        yield ("-" if first else rng.choice(string.ascii_letters)) + body
        first = False


#: Raw layouts `make_release` writes: the Hub's Parquet files, the official evaluation code's
#: JSON Lines, or both.
LOVR_LAYOUTS = ("hub", "official", "both")
#: Where the authors' files put their clips (absolute paths of their cluster), for `absolute_paths`.
AUTHORS_ROOT = "/mnt/public/lovr/LoVR-benchmark/video_data"


def make_release(
    directory: str | os.PathLike,
    *,
    videos_per_split: dict[str, int] | None = None,
    clips_per_video: tuple[int, int] = (2, 4),
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    archive: bool = False,
    num_parts: int = 3,
    seed: int = 0,
    layout: str = "hub",
    query_every: int = 1,
    absolute_paths: bool = False,
    minimal_columns: bool = False,
    cluster_rows: bool = False,
    videos: bool = True,
) -> Path:
    """Write a small LoVR release in one of its published layouts.

    Layouts (`layout`):
        * ``"hub"``: ``caption_data/{clip,video}_{train,test}.parquet`` (clip rows ``path, vid,
          slice_num, cap, theme_info``, in shuffled order so that only `slice_num` gives temporal
          order; video rows ``vid, cap, theme_info, start_slice_num, end_slice_num``).
        * ``"official"``: the official evaluation layout, ``caption_data/all_clip.jsonl``
          (``path, cap``: the clip-caption queries, paths ``<vid>/<clip>.mp4``) and
          ``caption_data/all_video.jsonl`` (``vid, cap``), covering the videos of every split.
        * ``"both"``: the Hub layout plus the two JSON Lines files.

    Videos: ``video_data/`` holding ``long_video_clip/<vid>/<vid>-Scene-NNN.mp4`` and
    ``merged/<vid>.mp4``, extracted or (``archive=True``) as one tar.gz split into parts
    ``part_aa, part_ab, ...``; none at all with ``videos=False``.

    Oracle properties:
        * Video ids are 11-character YouTube-style ids with distinct frame blocks
          (`vidret.testing.samples.frame_index_offset`); the first starts with ``-``.
        * The merged video is one continuous run of frame codes starting at
          ``frame_index_offset(vid)``; clip n (1-based `slice_num`) encodes the same codes as
          its span of the merged video (clips use consecutive ``first_index`` values), so a
          clip's frames and the merged video's frames at the clip's timestamps are equal codes.
        * Clip durations are 1.0-3.0 s (multiples of 0.5 s, whole frames at `fps`).
        * Every clip caption contains its clip id verbatim; every full-video caption contains
          its video id verbatim, inside otherwise natural text.

    Args:
        directory: where to write (created).
        videos_per_split: ``{"train": n, "test": m}`` (default 2 and 3).
        clips_per_video: inclusive range of clips per video.
        fps: frame rate (integer, so 0.5 s is a whole number of frames when even).
        size: (width, height) of the videos.
        archive: write ``video_data/`` as split tar.gz parts instead of folders.
        num_parts: number of archive parts.
        seed: seed of the ids, clip counts, durations and captions.
        layout: ``"hub"``, ``"official"`` or ``"both"`` (see above).
        query_every: ``all_clip.jsonl`` lists every `query_every`-th clip of each video (1 = all;
            the real file lists about 1,000 of 40,804 clips, so later clips follow gaps).
        absolute_paths: clip ``path`` values are absolute paths of the authors' cluster
            (``AUTHORS_ROOT/long_video_clip/<vid>/<clip>.mp4``).
        minimal_columns: clip rows hold only ``path, cap`` and video rows only ``vid, cap`` (no
            ``slice_num``, ``theme_info`` or slice range): ids and order come from file names.
        cluster_rows: video rows are the caption merger's clusters: one row per 2 clips of a video
            (``vid, cap, start_slice_num, end_slice_num, cluster_id``), the video id in each caption.
        videos: write the video files (False: annotations only).

    Returns:
        The release folder.

    Raises:
        ValueError: an unknown layout, or `query_every` < 1.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from vidret.testing.synthetic import make_test_video

    if layout not in LOVR_LAYOUTS:
        raise ValueError(f"layout must be one of {LOVR_LAYOUTS}, got {layout!r}")
    if query_every < 1:
        raise ValueError(f"query_every must be >= 1, got {query_every}")
    root = Path(directory)
    rng = random.Random(seed)
    counts = videos_per_split or {"train": 2, "test": 3}
    ids = unique_block_ids(_youtube_ids(rng), sum(counts.values()), set())
    staging = root / "video_data" if not archive else root / ".staging"
    members: list[tuple[str, Path]] = []
    next_id = iter(ids)
    captions = root / "caption_data"
    captions.mkdir(parents=True, exist_ok=True)
    all_clips: list[dict] = []
    all_videos: list[dict] = []
    for split, count in counts.items():
        clip_rows, video_rows = [], []
        for _ in range(count):
            vid = next(next_id)
            theme = rng.choice(_THEMES)
            num_clips = rng.randint(*clips_per_video)
            durations = [rng.choice((1.0, 1.5, 2.0, 2.5, 3.0)) for _ in range(num_clips)]
            offset = frame_index_offset(vid)
            frame = 0
            for n, duration in enumerate(durations, start=1):
                name = f"long_video_clip/{vid}/{vid}-Scene-{n:03d}.mp4"
                if videos:
                    make_test_video(staging / name, duration, fps=fps, size=size, gop=fps, first_index=offset + frame)
                    members.append((name, staging / name))
                frame += round(duration * fps)
                clip_id = f"{vid}-Scene-{n:03d}"
                row = {
                    "path": f"{AUTHORS_ROOT}/{name}" if absolute_paths else name,
                    "vid": vid,
                    "slice_num": n,
                    "cap": f"In scene {clip_id}, a person {rng.choice(_ACTIONS)} while the camera holds still.",
                    "theme_info": theme,
                }
                clip_rows.append({"path": row["path"], "cap": row["cap"]} if minimal_columns else row)
                if (n - 1) % query_every == 0:  # the official file names clips <vid>/<clip>.mp4
                    all_clips.append({"path": row["path"] if absolute_paths else f"{vid}/{clip_id}.mp4", "cap": row["cap"]})
            name = f"merged/{vid}.mp4"
            if videos:
                make_test_video(staging / name, sum(durations), fps=fps, size=size, gop=fps, first_index=offset)
                members.append((name, staging / name))
            scenes = ", then ".join(rng.choice(_ACTIONS) for _ in durations)
            caption = f"The video {vid} follows one afternoon: a person {scenes}. It is about {theme}."
            if cluster_rows:
                rows_of_video = [
                    {
                        "vid": vid,
                        "cap": f"Part {k + 1} of the video {vid}: scenes {first} to {min(first + 1, num_clips)}." if k else caption,
                        "start_slice_num": first,
                        "end_slice_num": min(first + 1, num_clips),
                        "cluster_id": f"{vid}_{k}",
                    }
                    for k, first in enumerate(range(1, num_clips + 1, 2))
                ]
                random.Random(vid).shuffle(rows_of_video)  # the merger's rows come in no particular order
            elif minimal_columns:
                rows_of_video = [{"vid": vid, "cap": caption}]
            else:
                rows_of_video = [{"vid": vid, "cap": caption, "theme_info": theme, "start_slice_num": 1, "end_slice_num": num_clips}]
            video_rows.extend(rows_of_video)
            all_videos.extend({k: v for k, v in r.items() if k != "theme_info"} for r in rows_of_video)
        rng.shuffle(clip_rows)  # the release is not in temporal order; slice_num is
        if layout in ("hub", "both"):
            pq.write_table(pa.Table.from_pylist(clip_rows), captions / f"clip_{split}.parquet")
            pq.write_table(pa.Table.from_pylist(video_rows), captions / f"video_{split}.parquet")
    if layout in ("official", "both"):
        for name, rows in (("all_clip.jsonl", all_clips), ("all_video.jsonl", all_videos)):
            with open(captions / name, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if videos and archive:
        write_split_archive(members, root / "video_data", num_parts)
        shutil.rmtree(staging)
    return root
