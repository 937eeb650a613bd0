"""Build time and Parquet size of `vidret build lovr` at LoVR's full annotation size.

Writes a synthetic LoVR release with the real counts (467 videos, 40,804 clips; captions of
realistic length: clip captions ~120 words, fused full-video captions ~1,000 words; 80/20
train/test split by video) but no video files: durations come from a fake probe
(`BuildConfig.probe_duration`, a dict lookup of generated clip lengths of 5-60 s, merged =
their sum), and the build runs with `videos="none"`. So the figure is the cost of everything
except decoding: reading and validating the tables, timestamps, Parquet, card, manifest.

Baseline, measured in the same run: reading the four raw caption Parquet files with pyarrow
and writing them back unchanged (the least any build must do). Prints both times, the ratio,
and the sizes of the raw and built Parquet.

    python benchmarks/bench_build.py [--clips 40804] [--videos 467]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

WORDS = (
    "the a person walks towards camera kitchen table slowly then turns around while holding small red cup "
    "and explains how street market crowded evening light soft music plays background scene cuts close view"
).split()


def caption(rng: random.Random, words: int, ident: str) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(words))
    return f"In {ident}, {body}."


def make_raw(root: Path, num_videos: int, num_clips: int, seed: int = 0) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    per_video = [num_clips // num_videos + (1 if i < num_clips % num_videos else 0) for i in range(num_videos)]
    durations: dict[str, float] = {}
    video_root = root / "video_data"
    (video_root / "merged").mkdir(parents=True)
    (video_root / "long_video_clip").mkdir()
    splits: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    for i, count in enumerate(per_video):
        vid = f"v{i:010d}"
        split = "test" if i % 5 == 0 else "train"
        clips, videos = splits[split]
        total = 0.0
        for n in range(1, count + 1):
            length = round(rng.uniform(5, 60), 3)
            path = f"long_video_clip/{vid}/{vid}-Scene-{n:03d}.mp4"
            durations[str(video_root / path)] = length
            total += length
            clips.append({"path": path, "vid": vid, "slice_num": n, "cap": caption(rng, rng.randint(80, 160), f"{vid}-Scene-{n:03d}"), "theme_info": "daily life"})
        durations[str(video_root / f"merged/{vid}.mp4")] = total
        videos.append({"vid": vid, "cap": caption(rng, rng.randint(700, 1300), vid), "theme_info": "daily life", "start_slice_num": 1, "end_slice_num": count})
    (root / "caption_data").mkdir()
    for split, (clips, videos) in splits.items():
        pq.write_table(pa.Table.from_pylist(clips), root / f"caption_data/clip_{split}.parquet")
        pq.write_table(pa.Table.from_pylist(videos), root / f"caption_data/video_{split}.parquet")
    return durations


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=40_804)
    parser.add_argument("--videos", type=int, default=467)
    args = parser.parse_args()

    import pyarrow.parquet as pq

    from vidret.builders import build

    work = Path(tempfile.mkdtemp(prefix="bench_build_"))
    try:
        t0 = time.perf_counter()
        durations = make_raw(work / "raw", args.videos, args.clips)
        print(f"synthetic release: {args.videos} videos, {args.clips} clips in {time.perf_counter() - t0:.1f} s")

        def fake_probe(path: Path) -> float:
            return durations[str(path)]

        t0 = time.perf_counter()
        (work / "copy").mkdir()
        for f in sorted((work / "raw/caption_data").iterdir()):
            pq.write_table(pq.read_table(f), work / "copy" / f.name)
        baseline = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = build("lovr", work / "raw", work / "out", videos="none", probe_duration=fake_probe, progress=False)
        elapsed = time.perf_counter() - t0

        raw_size, built_size = size(work / "raw/caption_data"), size(work / "out/data")
        print(f"rows: {report.num_rows}")
        print(f"baseline (read + rewrite the raw caption Parquet): {baseline:.2f} s")
        print(f"vidret build lovr --videos none:                   {elapsed:.2f} s  ({elapsed / baseline:.1f}x baseline)")
        print(f"raw caption Parquet: {raw_size / 1e6:.1f} MB; built Parquet (data/): {built_size / 1e6:.1f} MB ({built_size / raw_size:.2f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
