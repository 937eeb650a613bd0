"""LoVR (long-video text retrieval): raw release -> `videos`, `clips` (and `clip_queries`) configs.

Two raw layouts are read (the public release ``debugger123/LoVR-benchmark`` and the official
scripts of github.com/TechNomad-ds/LoVR-benchmark; every file's columns, with what each holds, are
declared once in `vidret.benchmarks.lovr.raw_columns`):

- the Hub layout: ``caption_data/{clip,video}_{train,test}.parquet``;
- the official evaluation layout: ``caption_data/all_clip.jsonl`` (``path, cap``: the clip-caption
  queries of the official scripts) and ``caption_data/all_video.jsonl`` (``vid, cap``).

A release holding both is read as the Hub layout, and its ``all_clip.jsonl`` becomes the
`clip_queries` config. A release holding only the official layout becomes split ``test`` alone
(the official scripts evaluate over everything); its `clips` config holds the listed clips.

Videos are optional: ``video_data/`` extracted (``long_video_clip/<vid>/<vid>-Scene-NNN.mp4``,
``merged/<vid>.mp4``) or as split tar.gz parts ``part_aa, part_ab, ...`` (only the referenced
members are extracted). Without it the build is annotations-only: nothing is probed.

Clip rows: only ``<vid>/<clip>.mp4`` at the end of ``path`` matters (the authors' files hold
absolute paths of their cluster); ``vid`` and ``slice_num`` follow from the file name
``<vid>-Scene-NNN`` when the columns are absent. The release has no timestamps: a clip's
[start, end) in its full video is the cumulative sum of the probed clip durations in
`slice_num` order, as long as every earlier slice is known; otherwise start/end are null and the
clip is decoded from its own file, `clip_video`. Several video rows of one ``vid`` (the caption
merger's 10-clip clusters) are merged in ``start_slice_num`` order, captions joined by a line
break; rows that cannot be ordered (no ``start_slice_num``) or that overlap are refused, naming
both rows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidret.benchmarks.lovr.raw_columns import CLIP_JSONL, CLIP_PARQUET, VIDEO_JSONL, VIDEO_PARQUET
from vidret.benchmarks.lovr.spec import LOVR
from vidret.builders.archive import WantedMembers, find_parts
from vidret.builders.base import DatasetBuilder, VideoRef, describe_folder
from vidret.builders.config import BuildError, few
from vidret.common import is_absolute_path
from vidret.builders.tables import (
    check_unique,
    clip_file_parts,
    optional_text,
    read_jsonl_rows,
    read_parquet_rows,
    require_int,
    require_text,
    safe_component,
)

SCENE = re.compile(r"^(?P<vid>.+)-Scene-(?P<n>\d+)$")
CLIP_FOLDER = "long_video_clip"
MERGED_FOLDER = "merged"


@dataclass
class _Clip:
    clip_id: str
    video_id: str
    folder: str  # the folder of the clip file under long_video_clip/ (= video_id)
    slice_num: int
    caption: str
    theme: str | None


@dataclass
class _Video:
    video_id: str
    caption: str
    theme: str | None
    start_slice_num: int | None
    end_slice_num: int | None
    row: int


@dataclass
class _Annotations:
    layout: str
    clips: dict[str, list[_Clip]] = field(default_factory=dict)  # split -> clips
    videos: dict[str, list[_Video]] = field(default_factory=dict)  # split -> videos (merged per vid)
    queries: list[_Clip] | None = None  # all_clip.jsonl, in file order
    merged_rows: int = 0  # vids whose several rows were merged


def _find_video_root(folder: Path) -> Path | None:
    """`folder` or a sub-folder (depth <= 2) holding ``merged/`` or ``long_video_clip/``."""
    candidates = [folder] + sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    for depth in range(2):
        for candidate in candidates:
            if (candidate / MERGED_FOLDER).is_dir() or (candidate / CLIP_FOLDER).is_dir():
                return candidate
        if depth == 0:
            candidates = [q for p in candidates[1:] for q in sorted(p.iterdir()) if q.is_dir()]
    return None


def clip_video_path(folder: str, clip_id: str) -> str:
    """A clip's own file relative to the video root: ``long_video_clip/<vid>/<clip_id>.mp4``."""
    return f"{CLIP_FOLDER}/{folder}/{clip_id}.mp4"


class LoVRBuilder(DatasetBuilder):
    """LoVR: configs ``videos`` and ``clips`` (splits ``train``/``test``, or ``test`` alone for the
    official layout), and ``clip_queries`` (split ``test``) when the release has ``all_clip.jsonl``."""

    BENCHMARK = LOVR
    SPLITS = {"videos": ("train", "test"), "clips": ("train", "test"), "clip_queries": ("test",)}
    CAPTION_DIR = "caption_data"
    VIDEO_DIR = "video_data"
    CLIP_FILE = "clip_{split}.parquet"
    VIDEO_FILE = "video_{split}.parquet"
    QUERY_FILE = "all_clip.jsonl"
    ALL_VIDEO_FILE = "all_video.jsonl"
    VIDEO_ROOT_EXAMPLE = "LoVR-benchmark/video_data"
    VIDEO_ROOT_NOTE = "the release's video_data/ folder extracted: merged/ and long_video_clip/"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._absolute_paths: list[str] = []
        self._layout = "hub"
        self._has_queries = False

    def splits(self) -> dict[str, tuple[str, ...]]:
        splits = {"videos": ("test",), "clips": ("test",)} if self._layout == "official" else {"videos": ("train", "test"), "clips": ("train", "test")}
        if self._has_queries:
            splits["clip_queries"] = ("test",)
        return splits

    # ----- reading the annotations -----------------------------------------------------------
    def _layout_files(self) -> tuple[list[Path], list[Path]]:
        captions = self.raw / self.CAPTION_DIR
        hub = [captions / f.format(split=s) for s in ("train", "test") for f in (self.CLIP_FILE, self.VIDEO_FILE)]
        official = [captions / self.QUERY_FILE, captions / self.ALL_VIDEO_FILE]
        return hub, official

    def detect_layout(self) -> str:
        """``"hub"``, ``"hub+official"`` or ``"official"``.

        Raises:
            BuildError: RAW holds neither layout whole, saying what it found and what it expected.
        """
        hub, official = self._layout_files()
        hub_present = [f for f in hub if f.is_file()]
        official_whole = all(f.is_file() for f in official)
        if len(hub_present) == len(hub):
            return "hub+official" if official[0].is_file() else "hub"
        expected = (
            "expected caption_data/clip_train.parquet, clip_test.parquet, video_train.parquet and video_test.parquet "
            "(the Hub layout) or caption_data/all_clip.jsonl and all_video.jsonl (the official evaluation layout), "
            "with the videos in video_data/ (optional)"
        )
        if hub_present:
            missing = [f.name for f in hub if not f.is_file()]
            raise BuildError(
                f"incomplete LoVR release: caption_data/ holds {[f.name for f in hub_present]} but not {missing}; {expected}",
                file=self.raw / self.CAPTION_DIR,
            )
        if official_whole:
            return "official"
        hint = ""
        if any(self.raw.glob("*_finegd.csv")) or any(self.raw.glob("annotations/*_finegd.csv")):
            hint = " This looks like a TF-CoVR release: use `vidret build tf-covr`."
        raise BuildError(f"not a LoVR release: {expected}. Found: {self.found_in_raw()}.{hint}", file=self.raw)

    def found_in_raw(self) -> str:
        """What RAW holds (top level, and caption_data/), for messages."""
        return describe_folder(self.raw, self.CAPTION_DIR)

    def read_annotations(self) -> _Annotations:
        self._layout = self.detect_layout()
        self.report.layout = self._layout
        hub, official = self._layout_files()
        ann = _Annotations(self._layout)
        if self._layout == "official":
            clips = self._read_clips(official[0], read_jsonl_rows(official[0], CLIP_JSONL))
            ann.clips["test"] = clips
            ann.queries = clips
            ann.videos["test"] = self._read_videos(official[1], read_jsonl_rows(official[1], VIDEO_JSONL), ann)
            for f in official:
                self.record_input(f)
        else:
            for split in ("train", "test"):
                clip_file = self.raw / self.CAPTION_DIR / self.CLIP_FILE.format(split=split)
                video_file = self.raw / self.CAPTION_DIR / self.VIDEO_FILE.format(split=split)
                ann.clips[split] = self._read_clips(clip_file, read_parquet_rows(clip_file, CLIP_PARQUET))
                ann.videos[split] = self._read_videos(video_file, read_parquet_rows(video_file, VIDEO_PARQUET), ann)
                self.record_input(clip_file)
                self.record_input(video_file)
            if self._layout == "hub+official":
                ann.queries = self._read_clips(official[0], read_jsonl_rows(official[0], CLIP_JSONL))
                self.record_input(official[0])
                known = {c.clip_id for split in ann.clips.values() for c in split}
                unknown = [c.clip_id for c in ann.queries if c.clip_id not in known]
                if unknown:
                    self.report.warnings.append(
                        f"{self.QUERY_FILE}: {len(unknown)} clip(s) listed are in neither clip_*.parquet: {few(unknown)}"
                    )
        self._has_queries = ann.queries is not None
        for split, clips in ann.clips.items():
            known = {v.video_id for v in ann.videos[split]}
            orphans = sorted({c.video_id for c in clips} - known)
            if orphans:
                self.report.warnings.append(
                    f"{split}: {len(orphans)} video id(s) of clips without a video row: {few(orphans, 5)}"
                )
        if self._absolute_paths:
            self.report.warnings.append(
                f"{len(self._absolute_paths)} clip path(s) are absolute (e.g. {self._absolute_paths[0]!r}): "
                "only <vid>/<clip>.mp4 at their end is used"
            )
        if ann.merged_rows:
            self.report.warnings.append(
                f"{ann.merged_rows} video(s) had several rows (caption-merger clusters): merged in start_slice_num "
                "order, captions joined by a line break"
            )
        return ann

    def _read_clips(self, path: Path, rows: list[dict[str, Any]]) -> list[_Clip]:
        clips = [self._clip(row, path, row_number) for row_number, row in enumerate(rows, start=1)]
        check_unique((c.clip_id for c in clips), "clip id", path)
        check_unique(((c.video_id, c.slice_num) for c in clips), "(vid, slice_num)", path)
        return clips

    def _clip(self, row: Mapping[str, Any], path: Path, row_number: int) -> _Clip:
        text = require_text(row["path"], "path", path, row_number)
        if is_absolute_path(text):
            self._absolute_paths.append(text)
        folder, clip_id = clip_file_parts(text, "path", path, row_number)
        scene = SCENE.match(clip_id)
        if folder == CLIP_FOLDER:
            folder = None
        if row.get("vid") is not None:
            vid = safe_component(require_text(row["vid"], "vid", path, row_number), "'vid'", path, row_number)
            if folder is not None and folder != vid:
                raise BuildError(f"'path' {text!r} is in folder {folder!r} but 'vid' is {vid!r}", file=path, row=row_number)
        elif folder is not None:
            vid = folder
        elif scene is not None:
            vid = safe_component(scene["vid"], "video id", path, row_number)
        else:
            raise BuildError(f"no 'vid' column, and 'path' {text!r} does not say the video (<vid>/<vid>-Scene-NNN.mp4)", file=path, row=row_number)
        if row.get("slice_num") is not None:
            slice_num = require_int(row["slice_num"], "slice_num", path, row_number)
        elif scene is not None:
            slice_num = int(scene["n"])
        else:
            raise BuildError(f"no 'slice_num' column, and clip name {clip_id!r} is not <vid>-Scene-NNN", file=path, row=row_number)
        return _Clip(
            clip_id=clip_id,
            video_id=vid,
            folder=vid,
            slice_num=slice_num,
            caption=require_text(row["cap"], "cap", path, row_number),
            theme=optional_text(row.get("theme_info"), "theme_info", path, row_number),
        )

    def _read_videos(self, path: Path, rows: list[dict[str, Any]], ann: _Annotations) -> list[_Video]:
        by_vid: dict[str, list[_Video]] = defaultdict(list)
        for row_number, row in enumerate(rows, start=1):
            start = row.get("start_slice_num")
            end = row.get("end_slice_num")
            by_vid[safe_component(require_text(row["vid"], "vid", path, row_number), "'vid'", path, row_number)].append(
                _Video(
                    video_id=str(row["vid"]).strip(),
                    caption=require_text(row["cap"], "cap", path, row_number),
                    theme=optional_text(row.get("theme_info"), "theme_info", path, row_number),
                    start_slice_num=None if start is None else require_int(start, "start_slice_num", path, row_number),
                    end_slice_num=None if end is None else require_int(end, "end_slice_num", path, row_number),
                    row=row_number,
                )
            )
        videos = []
        for vid, group in by_vid.items():
            if len(group) > 1:
                ann.merged_rows += 1
            videos.append(_merge_video_rows(vid, group, path))
        return videos

    # ----- videos ----------------------------------------------------------------------------
    def _wanted(self, ann: _Annotations) -> WantedMembers:
        """Which archive members to extract: the referenced merged videos and clip files
        (extraction stops once it has them all)."""
        wanted = {f"{MERGED_FOLDER}/{vid}.mp4" for vid in self._video_ids(ann)}
        wanted |= {clip_video_path(c.folder, c.clip_id) for clips in ann.clips.values() for c in clips}
        # The video root may sit one or two folders deep in the archive (see _find_video_root).
        return WantedMembers(frozenset(wanted), max_prefix=2)

    @staticmethod
    def _video_ids(ann: _Annotations) -> set[str]:
        return {v.video_id for vs in ann.videos.values() for v in vs} | {c.video_id for cs in ann.clips.values() for c in cs}

    def locate_videos(self, work: Path, annotations: _Annotations) -> Path | None:
        video_data = super().locate_videos(work, annotations)
        if video_data is None:
            return None
        root = _find_video_root(video_data)
        if root is not None:
            return root
        parts = find_parts(video_data)
        if not parts:
            raise BuildError(
                "holds neither merged/ and long_video_clip/ folders nor archive parts part_aa, part_ab, ...",
                file=video_data,
            )
        extracted = self.extract_parts(parts, work, wanted=self._wanted(annotations))
        root = _find_video_root(extracted)
        if root is None:
            raise BuildError(
                f"the archive {[p.name for p in parts]} holds no merged/ or long_video_clip/ folder with a referenced video",
                file=video_data,
            )
        return root

    def video_refs(self, annotations: _Annotations, video_dir: Path) -> dict[str, VideoRef]:
        refs: dict[str, VideoRef] = {}
        shown_dir = self._display(video_dir)  # computed once: 40K clips make per-path work add up

        def merged(vid: str) -> None:
            key = f"merged:{vid}"
            if key not in refs:
                rel = f"{MERGED_FOLDER}/{vid}.mp4"
                refs[key] = VideoRef(key, vid, video_dir / rel, f"{shown_dir}/{rel}", 0, f"videos/{vid}.mp4")
            refs[key].rows += 1

        for split, videos in annotations.videos.items():
            for video in videos:
                merged(video.video_id)
            for clip in annotations.clips[split]:
                merged(clip.video_id)
                rel = clip_video_path(clip.folder, clip.clip_id)
                key = f"clip:{clip.clip_id}"
                refs[key] = VideoRef(key, clip.clip_id, video_dir / rel, f"{shown_dir}/{rel}", 1, f"videos/{rel}")
        return refs

    def videos_to_place(
        self, refs: Mapping[str, VideoRef], durations: Mapping[str, float | None], tables: Mapping[str, Any]
    ) -> list[VideoRef]:
        """The full videos, and the clip files of clips without timestamps (decoded from their own file)."""
        untimed = {f"clip:{row['clip_id']}" for rows in tables["clips"].values() for row in rows if row["start"] is None}
        return [
            r
            for key, r in refs.items()
            if durations.get(key) is not None and (key.startswith("merged:") or key in untimed)
        ]

    # ----- tables ----------------------------------------------------------------------------
    def make_tables(self, annotations: _Annotations, durations: Mapping[str, float | None]) -> dict[str, dict[str, list[dict]]]:
        tables: dict[str, dict[str, list[dict]]] = {"videos": {}, "clips": {}}
        tolerance = self.config.duration_tolerance_s
        mismatches: list[str] = []
        counts_off: list[str] = []
        for split, clips in annotations.clips.items():
            videos = {v.video_id: v for v in annotations.videos[split]}
            by_video: dict[str, list[_Clip]] = defaultdict(list)
            for clip in clips:
                by_video[clip.video_id].append(clip)
            clip_rows = []
            for vid in sorted(by_video):
                ordered = sorted(by_video[vid], key=lambda c: c.slice_num)
                first = videos[vid].start_slice_num if vid in videos and videos[vid].start_slice_num is not None else None
                if first is None:
                    first = min(1, ordered[0].slice_num)
                expected = first
                start: float | None = 0.0
                for clip in ordered:
                    if clip.slice_num != expected:
                        start = None  # a slice before this one is not in the release: offsets unknown from here
                    length = durations.get(f"clip:{clip.clip_id}")
                    # A missing clip and every later clip of the video have unknown offsets too.
                    end = None if start is None or length is None else start + length
                    clip_rows.append(
                        {
                            "clip_id": clip.clip_id,
                            "video_id": vid,
                            "slice_num": clip.slice_num,
                            "start": None if end is None else start,
                            "end": end,
                            "caption": clip.caption,
                            "theme": clip.theme,
                            "video": f"videos/{vid}.mp4",
                            "clip_video": clip_video_path(clip.folder, clip.clip_id),
                        }
                    )
                    start = end
                    expected = clip.slice_num + 1
                merged = durations.get(f"merged:{vid}")
                if start is not None and merged is not None and abs(start - merged) > tolerance:
                    self.report.duration_mismatches.append(
                        {"video_id": vid, "split": split, "clips_total": round(start, 6), "merged": round(merged, 6)}
                    )
                    mismatches.append(vid)
            tables["clips"][split] = clip_rows
            video_rows = []
            for video in sorted(annotations.videos[split], key=lambda v: v.video_id):
                count = len(by_video.get(video.video_id, []))
                if video.start_slice_num is not None and video.end_slice_num is not None:
                    if count != video.end_slice_num - video.start_slice_num + 1:
                        counts_off.append(video.video_id)
                video_rows.append(
                    {
                        "video_id": video.video_id,
                        "video": f"videos/{video.video_id}.mp4",
                        "duration": durations.get(f"merged:{video.video_id}"),
                        "caption": video.caption,
                        "theme": video.theme,
                        "num_clips": count,
                        # The official layout lists only its caption queries' clips, not every clip.
                        "clips_complete": annotations.layout != "official",
                    }
                )
            tables["videos"][split] = video_rows
        if annotations.queries is not None:
            tables["clip_queries"] = {
                "test": [{"clip_id": c.clip_id, "video_id": c.video_id, "caption": c.caption} for c in annotations.queries]
            }
        if mismatches:
            self.report.warnings.append(
                f"{len(mismatches)} video(s) whose clip durations do not add up to the full video's (tolerance "
                f"{tolerance:g} s), e.g. {few(mismatches)}; see the card and manifest.json"
            )
        if counts_off:
            self.report.warnings.append(
                f"{len(counts_off)} video row(s) whose start_slice_num..end_slice_num span differs from their number "
                f"of clips, e.g. {few(counts_off)}"
            )
        return tables

    def evaluate_command(self, data: str, tables: Mapping[str, Any]) -> str:
        """As the base; with only the clip tasks when a video has no clip to aggregate (official layout)."""
        command = super().evaluate_command(data, tables)
        if any(row["num_clips"] == 0 for row in tables["videos"].get(self.EVAL_SPLIT, [])):
            command += " --tasks t2c,c2t"
        return command

    def card_context(self, annotations: _Annotations, tables: Mapping[str, Mapping[str, list]]) -> dict[str, Any]:
        untimed = sum(1 for rows in tables["clips"].values() for row in rows if row["start"] is None)
        return {
            "layout": annotations.layout,
            "num_untimed_clips": untimed,
            "num_queries": len(annotations.queries) if annotations.queries is not None else None,
            "num_merged_video_rows": annotations.merged_rows,
        }


def _merge_video_rows(vid: str, rows: list[_Video], path: Path) -> _Video:
    """One video row from the rows of one `vid`: merged in start_slice_num order, or refused.

    Raises:
        BuildError: naming both rows, when two rows cannot be ordered (no start_slice_num) or
            their slice ranges overlap.
    """
    if len(rows) == 1:
        return rows[0]
    unordered = [r for r in rows if r.start_slice_num is None]
    if unordered:
        other = next(r for r in rows if r is not unordered[0])
        a, b = sorted((unordered[0].row, other.row))
        raise BuildError(
            f"rows {a} and {b} both describe vid {vid!r}, and row {unordered[0].row} has no start_slice_num to order "
            "them by; merge them or remove one",
            file=path,
        )
    ordered = sorted(rows, key=lambda r: (r.start_slice_num, r.row))
    for prev, cur in zip(ordered, ordered[1:]):
        prev_end = prev.end_slice_num if prev.end_slice_num is not None else prev.start_slice_num
        if cur.start_slice_num <= prev_end:
            a, b = sorted((prev.row, cur.row))
            raise BuildError(
                f"rows {a} and {b} both describe vid {vid!r} with overlapping slices "
                f"{prev.start_slice_num}..{prev.end_slice_num} and {cur.start_slice_num}..{cur.end_slice_num}; "
                "remove the duplicate",
                file=path,
            )
    themes = [r for r in ordered if r.theme is not None]
    for r in themes[1:]:
        if r.theme != themes[0].theme:
            a, b = sorted((themes[0].row, r.row))
            raise BuildError(
                f"rows {a} and {b} both describe vid {vid!r} with different theme_info ({themes[0].theme!r}, "
                f"{r.theme!r}); make them agree",
                file=path,
            )
    ends = [r.end_slice_num for r in ordered]
    return _Video(
        video_id=vid,
        caption="\n".join(r.caption for r in ordered),
        theme=themes[0].theme if themes else None,
        start_slice_num=ordered[0].start_slice_num,
        end_slice_num=None if any(e is None for e in ends) else max(e for e in ends if e is not None),
        row=ordered[0].row,
    )
