"""MSR-VTT 1k-A: the raw release -> the `videos`, `captions` and `jsfusion` configs (split ``test``).

Raw layout (RAW, as the files are commonly distributed):

- ``MSRVTT_data.json``: ``{"videos": [{"video_id", "category", "url", ...}], "sentences":
  [{"video_id", "sen_id", "caption"}]}``, every video of MSR-VTT and its 20 captions;
- ``MSRVTT_JSFUSION_test.csv``: ``key, vid_key, video_id, sentence``, the 1k-A test list (one row
  per video, with the one sentence the official protocol ranks);
- ``videos/all/<video_id>.mp4``: the videos, if you have them (optional: without the folder the
  build is annotations only and nothing is probed).

Only the videos the 1k-A list names are built, in its order. The pipeline (probing, Parquet, card,
``eval.yaml``, manifest, ``--videos copy|link``) is `vidret.builders.base.DatasetBuilder`'s; this
class reads the files and says what the rows are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidret.builders.base import DatasetBuilder, VideoRef
from vidret.builders.config import BuildError
from vidret.builders.tables import check_unique, read_csv_rows, require_int, require_text, video_id_of

from vidret_msrvtt.benchmark import JSFUSION_CONFIG, JSFUSION_FILE, MSRVTT1K

DATA_FILE = "MSRVTT_data.json"


@dataclass
class _Release:
    """What the raw files say about the 1k-A test videos."""

    videos: list[dict[str, Any]] = field(default_factory=list)  # JSON entries, in 1k-A order
    captions: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # video id -> (sen_id, caption)
    jsfusion: list[dict[str, str]] = field(default_factory=list)  # key, video_id, caption


class MsrvttBuilder(DatasetBuilder):
    """MSR-VTT 1k-A: configs ``videos``, ``captions`` and ``jsfusion``, split ``test``."""

    BENCHMARK = MSRVTT1K
    SPLITS = {"videos": ("test",), "captions": ("test",), JSFUSION_CONFIG: ("test",)}
    VIDEO_DIR = "videos/all"
    VIDEO_ROOT_EXAMPLE = "MSRVTT/videos/all"
    VIDEO_ROOT_NOTE = "your copy of MSR-VTT's videos, a flat folder of video<N>.mp4"

    def read_annotations(self) -> _Release:
        data_path, list_path = self.raw / DATA_FILE, self.raw / JSFUSION_FILE
        entries, sentences = _read_data_json(data_path)
        rows = read_csv_rows(list_path, ("key", "video_id", "sentence"))
        for path in (data_path, list_path):
            self.record_input(path)  # checksums go to manifest.json

        by_id = {str(v["video_id"]): v for v in entries}
        release = _Release()
        for n, row in enumerate(rows, start=1):  # n: the 1-based data row errors name
            video_id = video_id_of(require_text(row["video_id"], "video_id", list_path, n), "video_id", list_path, n)
            if video_id not in by_id:
                raise BuildError(f"video {video_id!r} is not a video of {DATA_FILE}", file=list_path, row=n)
            key, sentence = (require_text(row[c], c, list_path, n) for c in ("key", "sentence"))
            release.videos.append(by_id[video_id])
            release.jsfusion.append({"key": key, "video_id": video_id, "caption": sentence})
        check_unique((r["video_id"] for r in release.jsfusion), "video_id", list_path)

        wanted = {r["video_id"] for r in release.jsfusion}
        for index, s in enumerate(sentences):
            if str(s["video_id"]) in wanted:
                where = f"sentences[{index}]"
                caption = require_text(s["caption"], f"{where}.caption", data_path, index + 1)
                sen_id = require_int(s["sen_id"], f"{where}.sen_id", data_path, index + 1)
                release.captions.setdefault(str(s["video_id"]), []).append((sen_id, caption))
        for row_number, video_id in enumerate((r["video_id"] for r in release.jsfusion), start=1):
            if video_id not in release.captions:
                raise BuildError(f"video {video_id!r} has no sentence in {DATA_FILE}", file=list_path, row=row_number)
            release.captions[video_id].sort()
        return release

    def video_refs(self, annotations: _Release, video_dir: Path) -> dict[str, VideoRef]:
        refs = {}
        for v in annotations.videos:
            vid = str(v["video_id"])
            rows = 1 + len(annotations.captions[vid])  # the rows that need it: its own and its captions
            refs[vid] = VideoRef(vid, vid, video_dir / f"{vid}.mp4", f"{self.VIDEO_DIR}/{vid}.mp4", rows, f"videos/{vid}.mp4")
        return refs

    def make_tables(self, annotations: _Release, durations: Mapping[str, float | None]) -> dict[str, dict[str, list[dict]]]:
        videos = [
            {
                "video_id": str(v["video_id"]),
                "video": f"videos/{v['video_id']}.mp4",
                "duration": durations.get(str(v["video_id"])),
                "category": v.get("category"),
                "url": v.get("url"),
            }
            for v in annotations.videos
        ]
        captions = [
            {"caption_id": f"{v['video_id']}#{sen_id}", "video_id": v["video_id"], "sen_id": sen_id, "caption": text}
            for v in videos
            for sen_id, text in annotations.captions[v["video_id"]]
        ]
        return {"videos": {"test": videos}, "captions": {"test": captions}, JSFUSION_CONFIG: {"test": annotations.jsfusion}}

    def card_context(self, annotations: _Release, tables: Mapping[str, Mapping[str, list]]) -> dict[str, Any]:
        counts = [len(c) for c in annotations.captions.values()]
        return {"captions_per_video": (min(counts), max(counts))}


def _read_data_json(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``videos`` and ``sentences`` lists of ``MSRVTT_data.json``, every entry checked.

    Raises:
        BuildError: the file is absent or not JSON, a list is missing, or an entry lacks a field
            (named with its index, e.g. ``sentences[12]``).
    """
    if not path.is_file():
        raise BuildError("file not found (the MSR-VTT annotation file: videos and their sentences)", file=path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise BuildError(f"not a JSON file ({type(err).__name__}: {err})", file=path) from None
    lists = {}
    for name, fields in (("videos", ("video_id",)), ("sentences", ("video_id", "sen_id", "caption"))):
        items = data.get(name) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise BuildError(f"expected a top-level {name!r} list", file=path)
        for index, item in enumerate(items):
            absent = [f for f in fields if not isinstance(item, dict) or f not in item]
            if absent:
                raise BuildError(f"{name}[{index}] lacks {absent}", file=path)
        lists[name] = items
    return lists["videos"], lists["sentences"]
