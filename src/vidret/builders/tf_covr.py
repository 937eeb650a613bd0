"""TF-CoVR (composed video retrieval): raw release -> `triplets` and `videos` configs.

Raw layout (DESIGN.md): ``train_finegd.csv`` (``query_video, target_video, label1, label2,
modification``), ``val_finegd.csv`` and ``test_finegd.csv`` (``query_id, query_video,
target_video, target_videos_ids, modification``) and the flat clip folder
``FineGD_videos/<stem>.mp4``. ``modification`` is a Python dict literal keyed by the target
label, ``{"<label>": {"modification": "..."}}``; ``target_videos_ids`` is a list literal. Both
are parsed with `ast.literal_eval`, never `eval`.

Labels: the target label is the key of the modification dict (``label2`` in train); the query
label is ``label1`` in train, and for val/test the label the video carries elsewhere in the
release (as a target or in train), else null. Train rows carry one target each
(``target_videos == [target_video]``). The gallery of a split is the set of distinct
`target_video` values of that split; `videos` rows flag it with ``in_gallery``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidret.benchmarks import TF_COVR
from vidret.builders.base import DatasetBuilder, VideoRef
from vidret.builders.config import BuildError
from vidret.builders.tables import (
    check_unique,
    parse_literal,
    read_csv_rows,
    require_text,
    video_stem,
)

TRAIN_COLUMNS = ("query_video", "target_video", "label1", "label2", "modification")
EVAL_COLUMNS = ("query_id", "query_video", "target_video", "target_videos_ids", "modification")


@dataclass
class _Triplet:
    query_id: str
    query_video: str
    modification: str
    target_video: str
    target_videos: list[str]
    query_label: str | None
    target_label: str


@dataclass
class _Annotations:
    triplets: dict[str, list[_Triplet]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # video stem -> label


def video_source(stem: str) -> str:
    """``"finegym"`` for FineGym stems (``<ytid>_E_..._A_...``), else ``"finediving"``."""
    return "finegym" if "_E_" in stem and "_A_" in stem else "finediving"


def _modification(text: str, path: Path, row: int, label: str | None = None) -> tuple[str, str]:
    """(target label, modification text) from the dict literal ``{"<label>": {"modification": "..."}}``."""
    value = parse_literal(text, dict, "modification", path, row)
    if label is not None and label in value:
        key = label
    elif len(value) == 1:
        key = next(iter(value))
    else:
        raise BuildError(
            f"'modification' must hold exactly one target label, got keys {sorted(map(str, value))}", file=path, row=row
        )
    entry = value[key]
    text_value = entry.get("modification") if isinstance(entry, dict) else None
    if not isinstance(text_value, str) or not text_value.strip():
        raise BuildError(f"'modification' entry for {key!r} has no non-empty 'modification' text", file=path, row=row)
    return str(key).strip(), text_value.strip()


class TFCoVRBuilder(DatasetBuilder):
    """TF-CoVR: configs ``triplets`` and ``videos``, splits ``train``, ``val`` and ``test``."""

    BENCHMARK = TF_COVR
    SPLITS = {"triplets": ("train", "val", "test"), "videos": ("train", "val", "test")}
    TEMPLATE_PACKAGE = "vidret.dataset_repos.tf_covr"
    CSV_FILE = "{split}_finegd.csv"
    VIDEO_DIR = "FineGD_videos"

    @classmethod
    def schemas(cls) -> dict[str, Any]:
        import pyarrow as pa

        return {
            "triplets": pa.schema(
                [
                    ("query_id", pa.string()),
                    ("query_video", pa.string()),
                    ("modification", pa.string()),
                    ("target_video", pa.string()),
                    ("target_videos", pa.list_(pa.string())),
                    ("query_label", pa.string()),
                    ("target_label", pa.string()),
                ]
            ),
            "videos": pa.schema(
                [
                    ("video_id", pa.string()),
                    ("video", pa.string()),
                    ("source", pa.string()),
                    ("label", pa.string()),
                    ("duration", pa.float64()),
                    ("in_gallery", pa.bool_()),
                ]
            ),
        }

    def read_annotations(self) -> _Annotations:
        ann = _Annotations()
        label_sources: dict[str, set[str]] = defaultdict(set)
        for split in self.SPLITS["triplets"]:
            path = self.raw / self.CSV_FILE.format(split=split)
            if split == "train":
                triplets = self._read_train(path)
            else:
                triplets = self._read_eval(path)
            self.record_input(path)
            ann.triplets[split] = triplets
            for t in triplets:
                label_sources[t.target_video].add(t.target_label)
                if t.query_label is not None:
                    label_sources[t.query_video].add(t.query_label)
        for stem, labels in label_sources.items():
            if len(labels) > 1:
                self.report.warnings.append(f"video {stem} carries several labels {sorted(labels)}; using {sorted(labels)[0]!r}")
            ann.labels[stem] = sorted(labels)[0]
        for split in ("val", "test"):
            for t in ann.triplets[split]:
                t.query_label = ann.labels.get(t.query_video)
        return ann

    def _read_train(self, path: Path) -> list[_Triplet]:
        triplets = []
        for row_number, row in enumerate(read_csv_rows(path, TRAIN_COLUMNS), start=1):
            query = video_stem(require_text(row["query_video"], "query_video", path, row_number))
            target = video_stem(require_text(row["target_video"], "target_video", path, row_number))
            label1 = require_text(row["label1"], "label1", path, row_number)
            label2 = require_text(row["label2"], "label2", path, row_number)
            key, text = _modification(require_text(row["modification"], "modification", path, row_number), path, row_number, label2)
            if key != label2:
                raise BuildError(f"'modification' is keyed by {key!r} but label2 is {label2!r}", file=path, row=row_number)
            triplets.append(_Triplet(f"train-{row_number:07d}", query, text, target, [target], label1, label2))
        return triplets

    def _read_eval(self, path: Path) -> list[_Triplet]:
        triplets = []
        for row_number, row in enumerate(read_csv_rows(path, EVAL_COLUMNS), start=1):
            query_id = require_text(row["query_id"], "query_id", path, row_number)
            query = video_stem(require_text(row["query_video"], "query_video", path, row_number))
            target = video_stem(require_text(row["target_video"], "target_video", path, row_number))
            ids = parse_literal(
                require_text(row["target_videos_ids"], "target_videos_ids", path, row_number),
                list,
                "target_videos_ids",
                path,
                row_number,
            )
            if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
                raise BuildError("'target_videos_ids' must be a non-empty list of video ids", file=path, row=row_number)
            targets = sorted({video_stem(i) for i in ids})
            key, text = _modification(require_text(row["modification"], "modification", path, row_number), path, row_number)
            triplets.append(_Triplet(query_id, query, text, target, targets, None, key))
        check_unique((t.query_id for t in triplets), "query_id", path)
        return triplets

    def locate_videos(self, work: Path) -> Path:
        folder = self.raw / self.VIDEO_DIR
        if not folder.is_dir():
            raise BuildError("video folder not found", file=folder)
        return folder

    def video_refs(self, annotations: _Annotations, video_dir: Path) -> dict[str, VideoRef]:
        refs: dict[str, VideoRef] = {}
        for split in self.SPLITS["triplets"]:
            for t in annotations.triplets[split]:
                for stem in {t.query_video, t.target_video, *t.target_videos}:
                    if stem not in refs:
                        source = video_dir / f"{stem}.mp4"
                        refs[stem] = VideoRef(stem, stem, source, self._display(source), 0, f"videos/{stem}.mp4")
                    refs[stem].rows += 1
        return refs

    def make_tables(self, annotations: _Annotations, durations: Mapping[str, float | None]) -> dict[str, dict[str, list[dict]]]:
        tables: dict[str, dict[str, list[dict]]] = {"triplets": {}, "videos": {}}
        for split in self.SPLITS["triplets"]:
            triplets = annotations.triplets[split]
            gallery = {t.target_video for t in triplets}
            absent = sum(1 for t in triplets for v in t.target_videos if v not in gallery)
            self.report.targets_absent_from_gallery[split] = absent
            if absent:
                self.report.warnings.append(
                    f"{split}: {absent} target id(s) in target_videos are not a target_video of the split "
                    "(absent from the gallery; they still count in |G|)"
                )
            tables["triplets"][split] = [
                {
                    "query_id": t.query_id,
                    "query_video": t.query_video,
                    "modification": t.modification,
                    "target_video": t.target_video,
                    "target_videos": t.target_videos,
                    "query_label": t.query_label,
                    "target_label": t.target_label,
                }
                for t in triplets  # release order
            ]
            stems = sorted({s for t in triplets for s in (t.query_video, t.target_video, *t.target_videos)})
            tables["videos"][split] = [
                {
                    "video_id": stem,
                    "video": f"videos/{stem}.mp4",
                    "source": video_source(stem),
                    "label": annotations.labels.get(stem),
                    "duration": durations.get(stem),
                    "in_gallery": stem in gallery,
                }
                for stem in stems
            ]
        return tables

    def card_context(self, annotations: _Annotations, tables: Mapping[str, Mapping[str, list]]) -> dict[str, Any]:
        gallery = {s: sum(1 for r in rows if r["in_gallery"]) for s, rows in tables["videos"].items()}
        labels = sorted(set(annotations.labels.values()))
        return {"gallery_sizes": gallery, "num_labels": len(labels)}
