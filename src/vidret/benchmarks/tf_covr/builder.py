"""TF-CoVR (composed video retrieval): raw release -> `triplets` and `videos` configs.

Raw layout (the public release ``ucf-crcv/TF-CoVR``; the columns are declared once, with what
each holds, in `vidret.benchmarks.tf_covr.raw_columns`): ``train_finegd.csv`` (``query_video,
target_video, modification``; ``label1, label2`` optional), ``val_finegd.csv`` and
``test_finegd.csv`` (``query_id, query_video, target_video, target_videos_ids, modification``),
at RAW's root or under ``annotations/``; other columns (e.g. a pandas index) are ignored. Videos, if the user has any, are the flat clip folder
``FineGD_videos/<stem>.mp4``; the release itself ships none, so a build without that folder is
the normal case (annotations only; nothing probed).

``modification`` is plain text (what the official val/test loaders read) or a Python dict literal
keyed by target label, ``{"<label>": {"modification": "..."}}`` (what the train loader reads,
taking the entry keyed by ``str(label2)``; other entries are ignored). Both forms are accepted in
every split. Literals (a cell starting with ``{`` or ``[``; ``target_videos_ids``) are parsed
with `ast.literal_eval`, never `eval`.

Labels: the target label is the dict key (``label2`` in train); for plain text it is the label
the target video carries elsewhere in the release (train label columns, dict keys), else null.
The query label is ``label1`` in train, and in val/test the label the query video carries
elsewhere, else null. Train rows carry one target each (``target_videos == [target_video]``).
``target_videos`` holds a row's valid targets once each, sorted (our protocol's |G|);
``target_videos_as_written`` keeps ``target_videos_ids`` as the release writes it, order and
repeats included (the official protocol's |G|, which counts every entry).
The gallery of a split is the set of distinct `target_video` values of that split; `videos`
rows flag it with ``in_gallery``.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidret.benchmarks.tf_covr.raw_columns import EVAL_CSV, TRAIN_CSV
from vidret.benchmarks.tf_covr.spec import TF_COVR
from vidret.builders.base import DatasetBuilder, VideoRef, describe_folder
from vidret.builders.config import BuildError, few
from vidret.builders.tables import (
    check_unique,
    parse_literal,
    read_csv_rows,
    require_text,
    video_id_of,
)



@dataclass
class _Triplet:
    query_id: str
    query_video: str
    modification: str
    target_video: str
    target_videos: list[str]  # distinct, sorted
    query_label: str | None
    target_label: str | None
    target_videos_as_written: list[str] = field(default_factory=list)  # the release's order and repeats


@dataclass
class _Annotations:
    triplets: dict[str, list[_Triplet]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # video stem -> label


def video_source(stem: str) -> str:
    """``"finegym"`` for FineGym stems (``<ytid>_E_..._A_...``), else ``"finediving"``."""
    return "finegym" if "_E_" in stem and "_A_" in stem else "finediving"


def parse_modification(text: str, path: Path, row: int, label: str | None = None) -> tuple[str | None, str]:
    """(target label or None, modification text) from a ``modification`` cell.

    Args:
        text: the cell: plain text, or a dict literal ``{"<label>": {"modification": "..."}}``
            (a cell starting with ``{`` or ``[`` is read as a literal).
        path: the CSV file (for errors).
        row: 1-based data row (for errors).
        label: the row's target label when the file names it (train ``label2``): the dict entry
            keyed by it is used and any other entry ignored, as the official train loader does.

    Returns:
        The dict key (None for plain text) and the stripped modification text.

    Raises:
        BuildError: a literal that does not parse or is not a dict; a dict without the entry
            for `label`, or with several entries and no `label` to choose; an entry without a
            non-empty ``modification`` text.
    """
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None, stripped
    value = parse_literal(stripped, dict, "modification", path, row)
    keys = {str(k).strip(): k for k in value}
    if label is not None:
        if label not in keys:
            shown = sorted(keys)
            got = f"keyed by {shown[0]!r}" if len(shown) == 1 else f"keyed by {shown}"
            raise BuildError(f"'modification' is {got} but label2 is {label!r}", file=path, row=row)
        key = label
    elif len(keys) == 1:
        key = next(iter(keys))
    else:
        raise BuildError(
            f"'modification' must hold exactly one target label (or the row a label2 choosing one), got keys {sorted(keys)}",
            file=path,
            row=row,
        )
    entry = value[keys[key]]
    text_value = entry.get("modification") if isinstance(entry, dict) else None
    if not isinstance(text_value, str) or not text_value.strip():
        raise BuildError(f"'modification' entry for {key!r} has no non-empty 'modification' text", file=path, row=row)
    return key, text_value.strip()


class TFCoVRBuilder(DatasetBuilder):
    """TF-CoVR: configs ``triplets`` and ``videos``, splits ``train``, ``val`` and ``test``."""

    BENCHMARK = TF_COVR
    SPLITS = {"triplets": ("train", "val", "test"), "videos": ("train", "val", "test")}
    CSV_FILE = "{split}_finegd.csv"
    CSV_FOLDERS = ("", "annotations")
    VIDEO_DIR = "FineGD_videos"
    VIDEO_ROOT_EXAMPLE = "FineGD_videos"
    VIDEO_ROOT_NOTE = "your copy of the clips, a flat folder of <stem>.mp4"
    EMBEDDINGS_DIR = "Embeddings"  # the release's precomputed video embeddings: Embeddings/AIM/, Embeddings/BLIP2/

    def released_embeddings(self) -> list[Path]:
        """The release's folders of precomputed video embeddings, ``Embeddings/<name>/``, by name."""
        folder = self.raw / self.EMBEDDINGS_DIR
        return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name) if folder.is_dir() else []

    def embeddings_commands(self) -> list[str]:
        """For each released embeddings folder, the `vidret evaluate` command that scores it: its
        video embeddings (per-frame vectors averaged) with the texts of a model the user names."""
        return [
            f"vidret evaluate --benchmark {self.BENCHMARK} --data {shlex.quote(str(self.out))} "
            f"--embeddings {shlex.quote(f'videos={folder}')} --embeddings-pool mean --model TEXT_MODEL"
            for folder in self.released_embeddings()
        ]

    def without_videos_advice(self) -> str:
        folders = self.released_embeddings()
        if not folders:
            return super().without_videos_advice()
        names = ", ".join(f"{self.EMBEDDINGS_DIR}/{p.name}/" for p in folders)
        return (
            "evaluate with --video-root pointing at your copy of the clips, or score the release's "
            f"precomputed video embeddings ({names}) with the command printed below"
        )

    def _advise_released_embeddings(self) -> None:
        commands = self.embeddings_commands()
        if commands:
            self.report.next_steps += [
                "To score the release's precomputed video embeddings instead of videos, replace TEXT_MODEL with a "
                "text model whose embeddings have the same dimension as those video embeddings (the same embedding "
                "space; a model of another dimension is refused):",
                *(f"  {command}" for command in commands),
            ]

    def csv_path(self, split: str) -> Path:
        """Where the split's CSV is: RAW's root or ``annotations/``.

        Raises:
            BuildError: it is in both places (which one is meant?), or in neither (saying what RAW holds).
        """
        name = self.CSV_FILE.format(split=split)
        found = [self.raw / folder / name for folder in self.CSV_FOLDERS if (self.raw / folder / name).is_file()]
        if len(found) > 1:
            raise BuildError(f"found both {name} and annotations/{name}; remove one", file=self.raw)
        if found:
            return found[0]
        expected = "expected train_finegd.csv, val_finegd.csv and test_finegd.csv at its root or under annotations/"
        any_csv = [f for s in ("train", "val", "test") for d in self.CSV_FOLDERS if (f := self.raw / d / self.CSV_FILE.format(split=s)).is_file()]
        if any_csv:
            raise BuildError(f"file not found ({expected}; found {[self._display(f) for f in any_csv]})", file=self.raw / name)
        hint = ""
        if (self.raw / "caption_data").is_dir() or (self.raw / "video_data").is_dir():
            hint = " This looks like a LoVR release: use `vidret build lovr`."
        raise BuildError(f"not a TF-CoVR release: {expected}. Found: {describe_folder(self.raw, 'annotations')}.{hint}", file=self.raw)

    def read_annotations(self) -> _Annotations:
        ann = _Annotations()
        self.report.layout = "csv"
        paths = {split: self.csv_path(split) for split in self.SPLITS["triplets"]}
        raw_rows = {}
        for split, path in paths.items():
            raw_rows[split] = read_csv_rows(path, TRAIN_CSV if split == "train" else EVAL_CSV)
            self.record_input(path)
        # Labels the release gives videos: train label columns and dict keys (every split).
        label_sources: dict[str, set[str]] = defaultdict(set)
        for split, path in paths.items():
            triplets = self._read_train(path, raw_rows[split]) if split == "train" else self._read_eval(path, raw_rows[split])
            ann.triplets[split] = triplets
            for t in triplets:
                if t.target_label is not None:
                    label_sources[t.target_video].add(t.target_label)
                if t.query_label is not None:
                    label_sources[t.query_video].add(t.query_label)
        conflicts = []
        for stem, labels in label_sources.items():
            if len(labels) > 1:
                conflicts.append(f"{stem} {sorted(labels)}")
            ann.labels[stem] = sorted(labels)[0]
        if conflicts:
            self.report.warnings.append(
                f"{len(conflicts)} video(s) carry several labels (the first in sorted order is used), e.g. {few(sorted(conflicts))}"
            )
        for split in ("val", "test"):
            for t in ann.triplets[split]:
                t.query_label = ann.labels.get(t.query_video)
                if t.target_label is None:  # plain-text modification: the label known for the target, if any
                    t.target_label = ann.labels.get(t.target_video)
        self._advise_released_embeddings()
        return ann

    def _read_train(self, path: Path, rows: list[dict[str, str]]) -> list[_Triplet]:
        triplets = []
        for row_number, row in enumerate(rows, start=1):
            query = video_id_of(require_text(row["query_video"], "query_video", path, row_number), "query_video", path, row_number)
            target = video_id_of(require_text(row["target_video"], "target_video", path, row_number), "target_video", path, row_number)
            label1 = _optional_label(row.get("label1"))
            label2 = _optional_label(row.get("label2"))
            key, text = parse_modification(require_text(row["modification"], "modification", path, row_number), path, row_number, label2)
            target_label = key if key is not None else label2
            if target_label is None:
                raise BuildError("plain-text 'modification' needs a 'label2' (the target label)", file=path, row=row_number)
            triplets.append(_Triplet(f"train-{row_number:07d}", query, text, target, [target], label1, target_label, [target]))
        return triplets

    def _read_eval(self, path: Path, rows: list[dict[str, str]]) -> list[_Triplet]:
        triplets = []
        for row_number, row in enumerate(rows, start=1):
            query_id = require_text(row["query_id"], "query_id", path, row_number)
            query = video_id_of(require_text(row["query_video"], "query_video", path, row_number), "query_video", path, row_number)
            target = video_id_of(require_text(row["target_video"], "target_video", path, row_number), "target_video", path, row_number)
            ids = parse_literal(
                require_text(row["target_videos_ids"], "target_videos_ids", path, row_number),
                list,
                "target_videos_ids",
                path,
                row_number,
            )
            if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
                raise BuildError("'target_videos_ids' must be a non-empty list of video ids", file=path, row=row_number)
            # Kept as written for the official protocol (|G| counts every entry); de-duplicated for ours.
            written = [video_id_of(i, "target_videos_ids", path, row_number) for i in ids]
            key, text = parse_modification(require_text(row["modification"], "modification", path, row_number), path, row_number)
            triplets.append(_Triplet(query_id, query, text, target, sorted(set(written)), None, key, written))
        check_unique((t.query_id for t in triplets), "query_id", path)
        return triplets

    def video_refs(self, annotations: _Annotations, video_dir: Path) -> dict[str, VideoRef]:
        refs: dict[str, VideoRef] = {}
        shown_dir = self._display(video_dir)
        for split in self.SPLITS["triplets"]:
            for t in annotations.triplets[split]:
                for stem in {t.query_video, t.target_video, *t.target_videos}:
                    ref = refs.get(stem)
                    if ref is None:
                        ref = refs[stem] = VideoRef(stem, stem, video_dir / f"{stem}.mp4", f"{shown_dir}/{stem}.mp4", 0, f"videos/{stem}.mp4")
                    ref.rows += 1
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
                    "target_videos_as_written": t.target_videos_as_written,
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


def _optional_label(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None
