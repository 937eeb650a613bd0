"""Small raw releases of LoVR and TF-CoVR in their exact published formats (tests, examples, demo).

Every video is a real MP4 made with `vidret.video.synthetic.make_test_video`: tiny (64x48 by
default, 10 fps, clips of 1-3 s), so building a sample takes seconds. Frame i of a video encodes
``frame_index_offset(video_id) + i``, so a decoded frame (read with
`vidret.video.synthetic.decode_frame_index` at 64x64 or larger) tells which video and which time
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
#: Number of blocks that fit in the 24-bit frame code of `vidret.video.synthetic`.
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
) -> Path:
    """Write a small LoVR release in the published layout.

    Layout: ``caption_data/{clip,video}_{train,test}.parquet`` (clip rows ``path, vid,
    slice_num, cap, theme_info``, in shuffled order so that only `slice_num` gives temporal
    order; video rows ``vid, cap, theme_info, start_slice_num, end_slice_num``) and
    ``video_data/`` holding ``long_video_clip/<vid>/<vid>-Scene-NNN.mp4`` and
    ``merged/<vid>.mp4``, extracted or (``archive=True``) as one tar.gz split into parts
    ``part_aa, part_ab, ...``.

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

    Returns:
        The release folder.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vidret.video.synthetic import make_test_video

    root = Path(directory)
    rng = random.Random(seed)
    counts = videos_per_split or {"train": 2, "test": 3}
    ids = _unique_block_ids(_youtube_ids(rng), sum(counts.values()), set())
    staging = root / "video_data" if not archive else root / ".staging"
    members: list[tuple[str, Path]] = []
    next_id = iter(ids)
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
                make_test_video(staging / name, duration, fps=fps, size=size, gop=fps, first_index=offset + frame)
                members.append((name, staging / name))
                frame += round(duration * fps)
                clip_id = f"{vid}-Scene-{n:03d}"
                clip_rows.append(
                    {
                        "path": name,
                        "vid": vid,
                        "slice_num": n,
                        "cap": f"In scene {clip_id}, a person {rng.choice(_ACTIONS)} while the camera holds still.",
                        "theme_info": theme,
                    }
                )
            name = f"merged/{vid}.mp4"
            make_test_video(staging / name, sum(durations), fps=fps, size=size, gop=fps, first_index=offset)
            members.append((name, staging / name))
            scenes = ", then ".join(rng.choice(_ACTIONS) for _ in durations)
            video_rows.append(
                {
                    "vid": vid,
                    "cap": f"The video {vid} follows one afternoon: a person {scenes}. It is about {theme}.",
                    "theme_info": theme,
                    "start_slice_num": 1,
                    "end_slice_num": num_clips,
                }
            )
        rng.shuffle(clip_rows)  # the release is not in temporal order; slice_num is
        captions = root / "caption_data"
        captions.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(clip_rows), captions / f"clip_{split}.parquet")
        pq.write_table(pa.Table.from_pylist(video_rows), captions / f"video_{split}.parquet")
    if archive:
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
) -> Path:
    """Write a small TF-CoVR release in the published layout.

    Layout: ``train_finegd.csv`` (``query_video, target_video, label1, label2, modification``),
    ``val_finegd.csv`` and ``test_finegd.csv`` (``query_id, query_video, target_video,
    target_videos_ids, modification``), with `modification` written as a Python dict literal
    ``{'<label>': {'modification': '...'}}`` and `target_videos_ids` as a list literal (single
    quotes, as ``str()`` writes them), and the flat folder ``FineGD_videos/<stem>.mp4``.

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

    Args:
        directory: where to write (created).
        labels: class codes (no label may be a substring of another).
        videos_per_label: videos per label and split.
        targets_per_query: target labels per query video (< number of labels).
        fps: frame rate.
        size: (width, height).
        seed: seed of stems, durations and texts.

    Returns:
        The release folder.

    Raises:
        ValueError: a label is a substring of another, or too many targets per query.
    """
    import csv

    from vidret.video.synthetic import make_test_video

    labels = list(labels)
    for a in labels:
        for b in labels:
            if a != b and a in b:
                raise ValueError(f"label {a!r} is a substring of label {b!r}; the oracle could not tell them apart")
    if not 1 <= targets_per_query < len(labels):
        raise ValueError(f"targets_per_query must be in [1, {len(labels) - 1}], got {targets_per_query}")
    root = Path(directory)
    videos_dir = root / "FineGD_videos"
    rng = random.Random(seed)
    taken: set[int] = set()
    templates = (
        "Change the dive into a {label}.",
        "Same athlete, but perform a {label} instead.",
        "Replace the element with a {label} executed cleanly.",
    )
    for split in ("train", "val", "test"):
        by_label: dict[str, list[str]] = {}
        for label in labels:
            stems = _unique_block_ids((_tfcovr_stem(label, split, n, rng) for n in range(1000)), videos_per_label, taken)
            by_label[label] = stems
            for stem in stems:
                duration = rng.choice((1.0, 1.5, 2.0))
                make_test_video(videos_dir / f"{stem}.mp4", duration, fps=fps, size=size, gop=fps, first_index=frame_index_offset(stem))
        rows = []
        turn: dict[str, int] = {label: 0 for label in labels}
        for qi, query_label in enumerate(labels):
            for query in by_label[query_label]:
                for step in range(1, targets_per_query + 1):
                    target_label = labels[(qi + step) % len(labels)]
                    targets = by_label[target_label]
                    text = rng.choice(templates).format(label=target_label)
                    modification = str({target_label: {"modification": text}})
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
        header = (
            ["query_video", "target_video", "label1", "label2", "modification"]
            if split == "train"
            else ["query_id", "query_video", "target_video", "target_videos_ids", "modification"]
        )
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{split}_finegd.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    return root
