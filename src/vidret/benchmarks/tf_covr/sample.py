"""A small TF-CoVR release in its published layout, for tests, examples and `vidret demo`.

`make_release` writes real (tiny) MP4s whose frames carry their codes
(`vidret.testing.samples.frame_index_offset`) and modification texts naming their target label,
which is what the oracle (`vidret.benchmarks.tf_covr.oracle`) reads.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from vidret.testing.samples import ID_ALPHABET, frame_index_offset, unique_block_ids

#: Default sample labels: FineDiving dive codes and FineGym-style element ids.
#: No label is a substring of another, so a label found in a modification text is unambiguous.
SAMPLE_LABELS = ("107b", "407c", "5253b", "vault_58", "beam_112")


def _stem(label: str, split: str, n: int, rng: random.Random) -> str:
    """A clip stem in the naming pattern of the label's source dataset (FineDiving or FineGym)."""
    if label[0].isdigit():  # FineDiving: <folder>_<idx>
        return f"FINADiving_{split.upper()}_{rng.randint(10, 99)}_{n}"
    ytid = "".join(rng.choice(ID_ALPHABET) for _ in range(11))  # FineGym: <ytid>_E_..._A_...
    start = rng.randint(1000, 9000)
    return f"{ytid}_E_{start:06d}_{start + 30:06d}_A_{n:04d}_{n + 3:04d}"


def make_release(
    directory: str | os.PathLike,
    *,
    labels: Sequence[str] = SAMPLE_LABELS,
    videos_per_label: int = 2,
    targets_per_query: int = 2,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
    text_splits: Sequence[str] = (),
    multi_label_train: bool = False,
    index_column: bool = False,
    annotations_folder: bool = False,
    videos: bool = True,
    repeated_targets: int = 0,
) -> Path:
    """Write a small TF-CoVR release in the published layout.

    Layout: ``train_finegd.csv`` (``query_video, target_video, label1, label2, modification``),
    ``val_finegd.csv`` and ``test_finegd.csv`` (``query_id, query_video, target_video,
    target_videos_ids, modification``), with `modification` written as a Python dict literal
    ``{'<label>': {'modification': '...'}}`` (plain text in `text_splits`) and
    `target_videos_ids` as a list literal (single quotes, as ``str()`` writes them), and the
    flat folder ``FineGD_videos/<stem>.mp4``.

    Oracle properties:
        * Each split has its own videos: `videos_per_label` per label; stems follow the FineGym
          (``<ytid>_E_..._A_...``) or FineDiving (``<folder>_<idx>``) patterns and have distinct
          frame blocks; frame i of a video encodes ``frame_index_offset(stem) + i``.
        * `labels` are the distinct class codes; every modification text contains its target
          label verbatim ("... into a 407c") and no other label.
        * Each query video is asked for the `targets_per_query` next labels (cyclically), so
          the target label always differs from the query label.
        * val/test: `target_videos_ids` = ALL videos of the split with the target label (the
          query video is never among them: its label differs); `target_video` rotates over
          them so that every target video is in the split's gallery (the distinct
          `target_video` values).
        * train: one row per (query, target label, target video), ``label1``/``label2`` = query
          and target labels.
        * `repeated_targets` = n: in val and test, n rows (drawn with the seed) list their
          `target_video` twice in `target_videos_ids` (as a release may repeat an id): the
          official protocol counts the list as written, ours each id once.
        * When val or test is in `text_splits` (plain text carries no label), train gains one row
          per video of those splits whose ``label1`` gives the video's label, so the builder still
          knows every label (as in a release whose splits share videos).

    Args:
        directory: where to write (created).
        labels: class codes (no label may be a substring of another).
        videos_per_label: videos per label and split.
        targets_per_query: target labels per query video (< number of labels).
        fps: frame rate.
        size: (width, height).
        seed: seed of stems, durations and texts.
        text_splits: splits whose `modification` is plain text (the official val/test form is
            ``("val", "test")``); train rows in plain text keep their ``label2``.
        multi_label_train: train dicts also hold an entry for another label, as the official
            train loader tolerates (it reads the entry keyed by ``str(label2)``).
        index_column: every CSV starts with an unnamed pandas index column.
        annotations_folder: the CSVs go under ``annotations/`` (as in the Hub release).
        videos: write ``FineGD_videos/`` (False: annotations only, as the Hub release ships).
        repeated_targets: rows of val and of test whose `target_videos_ids` repeat their target
            (0 = none, the published form).

    Returns:
        The release folder.

    Raises:
        ValueError: a label is a substring of another, too many targets per query, an
            unknown split in `text_splits`, or more `repeated_targets` than a split has rows.
    """
    import ast
    import csv

    from vidret.testing.synthetic import make_test_video

    labels = list(labels)
    for a in labels:
        for b in labels:
            if a != b and a in b:
                raise ValueError(f"label {a!r} is a substring of label {b!r}; the oracle could not tell them apart")
    if not 1 <= targets_per_query < len(labels):
        raise ValueError(f"targets_per_query must be in [1, {len(labels) - 1}], got {targets_per_query}")
    unknown = set(text_splits) - {"train", "val", "test"}
    if unknown:
        raise ValueError(f"text_splits: unknown split(s) {sorted(unknown)}")
    root = Path(directory)
    videos_dir = root / "FineGD_videos"
    csv_dir = root / "annotations" if annotations_folder else root
    rng = random.Random(seed)
    taken: set[int] = set()
    templates = (
        "Change the dive into a {label}.",
        "Same athlete, but perform a {label} instead.",
        "Replace the element with a {label} executed cleanly.",
    )
    tables: dict[str, list[list[str]]] = {}
    split_labels: dict[str, dict[str, list[str]]] = {}
    for split in ("train", "val", "test"):
        by_label: dict[str, list[str]] = {}
        for label in labels:
            stems = unique_block_ids((_stem(label, split, n, rng) for n in range(1000)), videos_per_label, taken)
            by_label[label] = stems
            for stem in stems:
                duration = rng.choice((1.0, 1.5, 2.0))
                if videos:
                    make_test_video(videos_dir / f"{stem}.mp4", duration, fps=fps, size=size, gop=fps, first_index=frame_index_offset(stem))
        split_labels[split] = by_label
        rows = []
        turn: dict[str, int] = {label: 0 for label in labels}
        for qi, query_label in enumerate(labels):
            for query in by_label[query_label]:
                for step in range(1, targets_per_query + 1):
                    target_label = labels[(qi + step) % len(labels)]
                    targets = by_label[target_label]
                    text = rng.choice(templates).format(label=target_label)
                    entries = {target_label: {"modification": text}}
                    if multi_label_train and split == "train":
                        other = labels[(qi + step + 1) % len(labels)]
                        entries = {other: {"modification": f"Not this one: {other}."}, **entries}
                    modification = text if split in text_splits else str(entries)
                    if split == "train":
                        for target in targets:
                            rows.append([query, target, query_label, target_label, modification])
                    else:
                        target = targets[turn[target_label] % len(targets)]
                        turn[target_label] += 1
                        rows.append([f"{split}_{len(rows):05d}", query, target, str(list(targets)), modification])
        if split != "train":
            if repeated_targets > len(rows) or repeated_targets < 0:
                raise ValueError(f"repeated_targets must be in [0, {len(rows)}] (the rows of {split}), got {repeated_targets}")
            if repeated_targets:  # (no draw otherwise: the published form stays byte-identical)
                for i in sorted(rng.sample(range(len(rows)), repeated_targets)):
                    rows[i][3] = str([*ast.literal_eval(rows[i][3]), rows[i][2]])  # the target named twice
            gallery = {row[2] for row in rows}
            for label in labels:
                assert all(v in gallery for v in by_label[label]) or turn[label] == 0, "gallery must hold every target"
        tables[split] = rows
    # Plain-text val/test rows name no label: train rows give their videos' labels (label1).
    anchor = split_labels["train"][labels[0]][0]
    for split in ("val", "test"):
        if split in text_splits:
            for label, stems in split_labels[split].items():
                for stem in stems:
                    tables["train"].append([stem, anchor, label, labels[0], str({labels[0]: {"modification": f"Into a {labels[0]}."}})])
    csv_dir.mkdir(parents=True, exist_ok=True)
    for split, rows in tables.items():
        header = (
            ["query_video", "target_video", "label1", "label2", "modification"]
            if split == "train"
            else ["query_id", "query_video", "target_video", "target_videos_ids", "modification"]
        )
        with open(csv_dir / f"{split}_finegd.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(([""] if index_column else []) + header)
            writer.writerows(([str(i)] if index_column else []) + row for i, row in enumerate(rows))
    return root
