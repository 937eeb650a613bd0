"""LoVR (long-video text retrieval): raw release -> `videos` and `clips` configs.

Raw layout (DESIGN.md): ``caption_data/{clip,video}_{train,test}.parquet`` and ``video_data/``
either extracted (``long_video_clip/<vid>/<vid>-Scene-NNN.mp4``, ``merged/<vid>.mp4``) or as
split tar.gz parts ``part_aa, part_ab, ...``. The release has no timestamps: a clip's
[start, end) in its full video is the cumulative sum of the probed clip durations in
`slice_num` order. Clip rows point at the full video plus these timestamps, so the repo ships
only the 467 full videos, not 40K clip files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidret.benchmarks import LOVR
from vidret.builders.archive import find_parts
from vidret.builders.base import DatasetBuilder, VideoRef
from vidret.builders.config import BuildError
from vidret.builders.tables import (
    check_unique,
    optional_text,
    read_parquet_rows,
    require_int,
    require_text,
    safe_relative_path,
    video_stem,
)

CLIP_COLUMNS = ("path", "vid", "slice_num", "cap")
VIDEO_COLUMNS = ("vid", "cap", "start_slice_num", "end_slice_num")


@dataclass
class _Clip:
    clip_id: str
    video_id: str
    slice_num: int
    caption: str
    theme: str | None
    path: str  # as in the release


@dataclass
class _Video:
    video_id: str
    caption: str
    theme: str | None
    start_slice_num: int
    end_slice_num: int


@dataclass
class _Annotations:
    clips: dict[str, list[_Clip]] = field(default_factory=dict)  # split -> clips
    videos: dict[str, list[_Video]] = field(default_factory=dict)  # split -> videos


def _find_video_root(folder: Path) -> Path | None:
    """`folder` or a sub-folder (depth <= 2) holding ``merged/`` or ``long_video_clip/``."""
    candidates = [folder] + sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    for depth in range(2):
        for candidate in candidates:
            if (candidate / "merged").is_dir() or (candidate / "long_video_clip").is_dir():
                return candidate
        if depth == 0:
            candidates = [q for p in candidates[1:] for q in sorted(p.iterdir()) if q.is_dir()]
    return None


class LoVRBuilder(DatasetBuilder):
    """LoVR: configs ``videos`` and ``clips``, splits ``train`` and ``test``."""

    BENCHMARK = LOVR
    SPLITS = {"videos": ("train", "test"), "clips": ("train", "test")}
    TEMPLATE_PACKAGE = "vidret.dataset_repos.lovr"
    CAPTION_DIR = "caption_data"
    VIDEO_DIR = "video_data"
    CLIP_FILE = "clip_{split}.parquet"
    VIDEO_FILE = "video_{split}.parquet"

    @classmethod
    def schemas(cls) -> dict[str, Any]:
        import pyarrow as pa

        return {
            "videos": pa.schema(
                [
                    ("video_id", pa.string()),
                    ("video", pa.string()),
                    ("duration", pa.float64()),
                    ("caption", pa.string()),
                    ("theme", pa.string()),
                    ("num_clips", pa.int32()),
                ]
            ),
            "clips": pa.schema(
                [
                    ("clip_id", pa.string()),
                    ("video_id", pa.string()),
                    ("slice_num", pa.int32()),
                    ("start", pa.float64()),
                    ("end", pa.float64()),
                    ("caption", pa.string()),
                    ("theme", pa.string()),
                    ("video", pa.string()),
                ]
            ),
        }

    def read_annotations(self) -> _Annotations:
        ann = _Annotations()
        for split in self.SPLITS["clips"]:
            clip_file = self.raw / self.CAPTION_DIR / self.CLIP_FILE.format(split=split)
            video_file = self.raw / self.CAPTION_DIR / self.VIDEO_FILE.format(split=split)
            ann.clips[split] = self._read_clips(clip_file)
            ann.videos[split] = self._read_videos(video_file)
            self.record_input(clip_file)
            self.record_input(video_file)
            known = {v.video_id for v in ann.videos[split]}
            orphans = sorted({c.video_id for c in ann.clips[split]} - known)
            if orphans:
                self.report.warnings.append(
                    f"{clip_file.name}: {len(orphans)} video id(s) without a row in {video_file.name}: {orphans[:5]}"
                )
        return ann

    def _read_clips(self, path: Path) -> list[_Clip]:
        clips = []
        for row_number, row in enumerate(read_parquet_rows(path, CLIP_COLUMNS), start=1):
            rel = safe_relative_path(require_text(row["path"], "path", path, row_number), "path", path, row_number)
            clips.append(
                _Clip(
                    clip_id=video_stem(rel),
                    video_id=require_text(row["vid"], "vid", path, row_number),
                    slice_num=require_int(row["slice_num"], "slice_num", path, row_number),
                    caption=require_text(row["cap"], "cap", path, row_number),
                    theme=optional_text(row.get("theme_info")),
                    path=rel,
                )
            )
        check_unique((c.clip_id for c in clips), "clip id", path)
        check_unique(((c.video_id, c.slice_num) for c in clips), "(vid, slice_num)", path)
        return clips

    def _read_videos(self, path: Path) -> list[_Video]:
        videos = []
        for row_number, row in enumerate(read_parquet_rows(path, VIDEO_COLUMNS), start=1):
            videos.append(
                _Video(
                    video_id=require_text(row["vid"], "vid", path, row_number),
                    caption=require_text(row["cap"], "cap", path, row_number),
                    theme=optional_text(row.get("theme_info")),
                    start_slice_num=require_int(row["start_slice_num"], "start_slice_num", path, row_number),
                    end_slice_num=require_int(row["end_slice_num"], "end_slice_num", path, row_number),
                )
            )
        check_unique((v.video_id for v in videos), "vid", path)
        return videos

    def locate_videos(self, work: Path) -> Path:
        video_data = self.raw / self.VIDEO_DIR
        if not video_data.is_dir():
            raise BuildError("folder not found (expected extracted videos or archive parts part_aa, ...)", file=video_data)
        root = _find_video_root(video_data)
        if root is not None:
            return root
        parts = find_parts(video_data)
        if not parts:
            raise BuildError(
                "holds neither merged/ and long_video_clip/ folders nor archive parts part_aa, part_ab, ...",
                file=video_data,
            )
        extracted = self.extract_parts(parts, work)
        root = _find_video_root(extracted)
        if root is None:
            raise BuildError(
                f"the archive {[p.name for p in parts]} holds no merged/ or long_video_clip/ folder", file=video_data
            )
        return root

    def video_refs(self, annotations: _Annotations, video_dir: Path) -> dict[str, VideoRef]:
        refs: dict[str, VideoRef] = {}
        shown_dir = self._display(video_dir)  # computed once: 40K clips make per-path work add up

        def merged(vid: str) -> None:
            key = f"merged:{vid}"
            if key not in refs:
                rel = f"merged/{vid}.mp4"
                refs[key] = VideoRef(key, vid, video_dir / rel, f"{shown_dir}/{rel}", 0, f"videos/{vid}.mp4")
            refs[key].rows += 1

        for split in self.SPLITS["clips"]:
            for video in annotations.videos[split]:
                merged(video.video_id)
            for clip in annotations.clips[split]:
                merged(clip.video_id)
                rel = self._clip_path(clip)
                key = f"clip:{clip.clip_id}"
                refs[key] = VideoRef(key, clip.clip_id, video_dir / rel, f"{shown_dir}/{rel}", 1, None)
        return refs

    @staticmethod
    def _clip_path(clip: _Clip) -> str:
        """The clip file relative to the video root: from ``long_video_clip/`` on, else by video id."""
        parts = clip.path.split("/")
        if "long_video_clip" in parts:
            return "/".join(parts[parts.index("long_video_clip") :])
        return f"long_video_clip/{clip.video_id}/{parts[-1]}"

    def make_tables(self, annotations: _Annotations, durations: Mapping[str, float | None]) -> dict[str, dict[str, list[dict]]]:
        tables: dict[str, dict[str, list[dict]]] = {"videos": {}, "clips": {}}
        tolerance = self.config.duration_tolerance_s
        checked: set[str] = set()
        for split in self.SPLITS["clips"]:
            by_video: dict[str, list[_Clip]] = defaultdict(list)
            for clip in annotations.clips[split]:
                by_video[clip.video_id].append(clip)
            clip_rows = []
            for vid in sorted(by_video):
                start: float | None = 0.0
                for clip in sorted(by_video[vid], key=lambda c: c.slice_num):
                    length = durations.get(f"clip:{clip.clip_id}")
                    # A missing clip and every later clip of the video have unknown offsets: leave them null.
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
                        }
                    )
                    start = end
                merged = durations.get(f"merged:{vid}")
                if start is not None and merged is not None and vid not in checked:
                    checked.add(vid)
                    if abs(start - merged) > tolerance:
                        self.report.duration_mismatches.append(
                            {"video_id": vid, "split": split, "clips_total": round(start, 6), "merged": round(merged, 6)}
                        )
                        self.report.warnings.append(
                            f"{vid}: clip durations add up to {start:.3f}s but merged/{vid}.mp4 lasts {merged:.3f}s"
                        )
            tables["clips"][split] = clip_rows
            video_rows = []
            for video in sorted(annotations.videos[split], key=lambda v: v.video_id):
                count = len(by_video.get(video.video_id, []))
                expected = video.end_slice_num - video.start_slice_num + 1
                if count != expected:
                    self.report.warnings.append(
                        f"video_{split}.parquet: {video.video_id} spans slices {video.start_slice_num}..{video.end_slice_num} "
                        f"but clip_{split}.parquet has {count} clip(s) of it"
                    )
                video_rows.append(
                    {
                        "video_id": video.video_id,
                        "video": f"videos/{video.video_id}.mp4",
                        "duration": durations.get(f"merged:{video.video_id}"),
                        "caption": video.caption,
                        "theme": video.theme,
                        "num_clips": count,
                    }
                )
            tables["videos"][split] = video_rows
        return tables
