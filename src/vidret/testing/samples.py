"""Small raw releases of LoVR and TF-CoVR in their exact published formats (tests, examples, demo).

Every video is a real MP4 made with `vidret.testing.synthetic.make_test_video`: tiny (64x48 by
default, 10 fps, clips of 1-3 s), so building a sample takes seconds. Frame i of a video encodes
``frame_index_offset(video_id) + i``, so a decoded frame (read with
`vidret.testing.synthetic.decode_frame_index` at 64x64 or larger) tells which video and which time
it comes from. That is what lets an oracle adapter reach R@1 = 100 and mAP = 100 on a sample.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import string
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Frame codes of one video live in a block of this many frames.
FRAME_BLOCK = 100_000
#: Number of blocks that fit in the 24-bit frame code of `vidret.testing.synthetic`.
NUM_BLOCKS = (2**24 - 1) // FRAME_BLOCK  # 167

_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
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


def frame_index_offset(video_id: str) -> int:
    """First frame code of a sample video: a deterministic block of FRAME_BLOCK codes per id.

    ``(crc32(video_id) % NUM_BLOCKS) * FRAME_BLOCK``. Two ids can share a block; the sample
    generators choose their ids so that none does within one sample.

    Args:
        video_id: the video id (LoVR video id, or TF-CoVR clip stem).

    Returns:
        An int in [0, 16,600,000], a multiple of FRAME_BLOCK.
    """
    return (zlib.crc32(video_id.encode("utf-8")) % NUM_BLOCKS) * FRAME_BLOCK


def video_id_for_frame(index: int, video_ids: Iterable[str]) -> tuple[str, int]:
    """Which of `video_ids` a decoded frame code belongs to, and the frame number in that video.

    Raises:
        KeyError: no id of `video_ids` owns that block.
    """
    block = index // FRAME_BLOCK
    for vid in video_ids:
        if frame_index_offset(vid) // FRAME_BLOCK == block:
            return vid, index - block * FRAME_BLOCK
    raise KeyError(f"frame code {index} belongs to none of the given videos")


def _unique_block_ids(candidates: Iterable[str], count: int, taken: set[int]) -> list[str]:
    """The first `count` candidates whose frame block no earlier id uses."""
    chosen = []
    for candidate in candidates:
        block = frame_index_offset(candidate) // FRAME_BLOCK
        if block in taken:
            continue
        taken.add(block)
        chosen.append(candidate)
        if len(chosen) == count:
            return chosen
    raise ValueError(f"could not find {count} ids with distinct frame blocks")


def _youtube_ids(rng: random.Random) -> Iterable[str]:
    first = True
    while True:
        body = "".join(rng.choice(_ID_ALPHABET) for _ in range(10))
        yield ("-" if first else rng.choice(string.ascii_letters)) + body
        first = False


def _write_split_archive(files: Sequence[tuple[str, Path]], folder: Path, num_parts: int) -> list[Path]:
    """A deterministic tar.gz of `files` cut into parts ``part_aa, part_ab, ...`` (like ``split -n``)."""
    if num_parts < 1:
        raise ValueError(f"num_parts must be >= 1, got {num_parts}")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, source in sorted(files):
                info = tarfile.TarInfo(name)
                info.size = source.stat().st_size
                info.mtime, info.mode = 0, 0o644
                with open(source, "rb") as f:
                    tar.addfile(info, f)
    data = buffer.getvalue()
    size = -(-len(data) // num_parts)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for i in range(num_parts):
        chunk = data[i * size : (i + 1) * size]
        if chunk:
            parts.append(folder / f"part_a{chr(ord('a') + i)}")
            parts[-1].write_bytes(chunk)
    return parts


#: Raw layouts `make_lovr_release` writes: the Hub's Parquet files, the official evaluation code's
#: JSON Lines, or both.
LOVR_LAYOUTS = ("hub", "official", "both")
#: Where the authors' files put their clips (absolute paths of their cluster), for `absolute_paths`.
AUTHORS_ROOT = "/mnt/public/lovr/LoVR-benchmark/video_data"


def make_lovr_release(
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
          (`frame_index_offset`); the first starts with ``-``.
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
    ids = _unique_block_ids(_youtube_ids(rng), sum(counts.values()), set())
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
        _write_split_archive(members, root / "video_data", num_parts)
        shutil.rmtree(staging)
    return root


#: Default TF-CoVR sample labels: FineDiving dive codes and FineGym-style element ids.
#: No label is a substring of another, so a label found in a modification text is unambiguous.
TFCOVR_LABELS = ("107b", "407c", "5253b", "vault_58", "beam_112")


def _tfcovr_stem(label: str, split: str, n: int, rng: random.Random) -> str:
    if label[0].isdigit():  # FineDiving: <folder>_<idx>
        return f"FINADiving_{split.upper()}_{rng.randint(10, 99)}_{n}"
    ytid = "".join(rng.choice(_ID_ALPHABET) for _ in range(11))  # FineGym: <ytid>_E_..._A_...
    start = rng.randint(1000, 9000)
    return f"{ytid}_E_{start:06d}_{start + 30:06d}_A_{n:04d}_{n + 3:04d}"


def make_tfcovr_release(
    directory: str | os.PathLike,
    *,
    labels: Sequence[str] = TFCOVR_LABELS,
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

    Returns:
        The release folder.

    Raises:
        ValueError: a label is a substring of another, too many targets per query, or an
            unknown split in `text_splits`.
    """
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
            stems = _unique_block_ids((_tfcovr_stem(label, split, n, rng) for n in range(1000)), videos_per_label, taken)
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
