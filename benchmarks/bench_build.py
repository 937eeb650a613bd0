"""Build time, memory and output of `vidret build` at each benchmark's full annotation size.

LoVR (`--benchmark lovr`):

Writes a synthetic LoVR release with the real counts (467 videos, 40,804 clips; captions of
realistic length: clip captions ~120 words, fused full-video captions ~1,000 words; 80/20
train/test split by video) but no video files: durations come from a fake probe
(`BuildConfig.probe_duration`, a dict lookup of generated clip lengths of 5-60 s, merged =
their sum), and the build runs with `videos="none"`. So the figure is the cost of everything
except decoding: reading and validating the tables, timestamps, Parquet, card, manifest.

Baseline, measured in the same run: reading the four raw caption Parquet files with pyarrow
and writing them back unchanged (the least any build must do). Prints both times, the ratio,
and the sizes of the raw and built Parquet.

TF-CoVR (`--benchmark tf-covr`): an annotations-only build (no video folder, the normal case: the
release ships no videos) of a synthetic release at the real size: 180,000 rows (train 171,000 with
dict-literal modifications; val 3,000 and test 6,000 with plain-text modifications and target lists
of 3.9 ids on average), 306 labels, a pandas index column, CSVs under annotations/. It runs
`vidret build tf-covr` as a user would (a child process) and reports wall time, peak memory (the
child's max RSS), the card's size and the number of console lines. Baseline, in the same run: a child
process that reads the three CSVs with the csv module and writes them as Parquet with pyarrow.

    python benchmarks/bench_build.py [--benchmark all|lovr|tf-covr] [--clips 40804] [--videos 467] [--rows 180000]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
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


def bench_lovr(num_clips: int, num_videos: int) -> None:
    import pyarrow.parquet as pq

    from vidret.builders import build

    work = Path(tempfile.mkdtemp(prefix="bench_build_"))
    try:
        t0 = time.perf_counter()
        durations = make_raw(work / "raw", num_videos, num_clips)
        print(f"synthetic LoVR release: {num_videos} videos, {num_clips} clips in {time.perf_counter() - t0:.1f} s")

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


TFCOVR_TEXTS = (
    "Change the dive into a {label} with a cleaner entry.",
    "Same athlete, but perform a {label} instead, one and a half twists.",
    "Replace the element with a {label} executed cleanly after the run-up.",
)


def make_tfcovr_raw(root: Path, num_rows: int, seed: int = 0) -> None:
    """A TF-CoVR release of `num_rows` triplets (95% train, 1/3 of the rest val), without videos."""
    rng = random.Random(seed)
    labels = [str(i) for i in range(288)] + [f"{d}{c}" for d, c in zip(range(101, 119), "abcdabcdabcdabcdab")]
    num_eval = max(3, num_rows // 20)
    sizes = {"train": num_rows - num_eval, "val": num_eval // 3, "test": num_eval - num_eval // 3}
    folder = root / "annotations"
    folder.mkdir(parents=True)
    for split, n in sizes.items():
        # About 10 rows per video, videos of one label sharing a pool, as in the release.
        pool = {label: [f"{split}{rng.randrange(16**10):010x}_E_{i:06d}_{i + 30:06d}_A_0001_0004" for i in range(6)] for label in labels}
        with open(folder / f"{split}_finegd.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if split == "train":
                writer.writerow(["", "query_video", "target_video", "label1", "label2", "modification"])
            else:
                writer.writerow(["", "query_id", "query_video", "target_video", "target_videos_ids", "modification"])
            for i in range(n):
                q_label, t_label = rng.sample(labels, 2)
                query = rng.choice(pool[q_label])
                targets = rng.sample(pool[t_label], rng.choice((3, 4, 4, 5)))
                text = rng.choice(TFCOVR_TEXTS).format(label=t_label)
                if split == "train":
                    writer.writerow([i, query, targets[0], q_label, t_label, str({t_label: {"modification": text}})])
                else:
                    writer.writerow([i, i, query, targets[0], str(targets), text])


def _child(command: list[str]) -> tuple[float, int, list[str]]:
    """(wall seconds, max RSS in MB, console lines) of a child process (its own rusage, via wait4)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - t0
        output.seek(0)
        lines = output.read().splitlines()
    if child.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited with {child.returncode}:\n" + "\n".join(lines[-20:]))
    return elapsed, usage.ru_maxrss // 1024, lines


BASELINE = """
import csv, sys
import pyarrow as pa, pyarrow.parquet as pq
root, out = sys.argv[1], sys.argv[2]
for split in ("train", "val", "test"):
    with open(f"{root}/annotations/{split}_finegd.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    pq.write_table(pa.Table.from_pylist(rows), f"{out}/{split}.parquet")
"""


def bench_tfcovr(num_rows: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_build_"))
    try:
        t0 = time.perf_counter()
        make_tfcovr_raw(work / "raw", num_rows)
        print(f"synthetic TF-CoVR release: {num_rows} rows, no videos, in {time.perf_counter() - t0:.1f} s")
        (work / "copy").mkdir()
        base_time, base_rss, _ = _child([sys.executable, "-c", BASELINE, str(work / "raw"), str(work / "copy")])
        vidret = [sys.executable, "-m", "vidret", "build", "tf-covr", "--raw", str(work / "raw"), "--out", str(work / "out"), "--no-progress"]
        build_time, build_rss, lines = _child(vidret)
        card = (work / "out/README.md").stat().st_size
        print(f"baseline (csv -> Parquet, child process): {base_time:.2f} s, peak RSS {base_rss} MB")
        print(f"vidret build tf-covr (annotations only):  {build_time:.2f} s ({build_time / base_time:.1f}x baseline), "
              f"peak RSS {build_rss} MB ({build_rss / max(base_rss, 1):.1f}x baseline)")
        print(f"card README.md: {card / 1e3:.1f} kB; built Parquet (data/): {size(work / 'out/data') / 1e6:.1f} MB")
        print(f"console lines: {len(lines)}")
        for line in lines:
            print(f"  | {line}")
        # The case the issue measured: a video folder holding none of the referenced clips, --allow-missing.
        (work / "raw/FineGD_videos").mkdir()
        missing_time, missing_rss, lines = _child(vidret[:-1] + ["--out", str(work / "out-missing"), "--allow-missing", "--no-progress"])
        card = (work / "out-missing/README.md").stat().st_size
        listed = (work / "out-missing/missing.json").stat().st_size
        print(f"with an empty FineGD_videos/ and --allow-missing: {missing_time:.2f} s, peak RSS {missing_rss} MB, "
              f"card {card / 1e3:.1f} kB, missing.json {listed / 1e6:.2f} MB, console lines: {len(lines)}")
        for line in lines:
            print(f"  | {line[:160]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", choices=("all", "lovr", "tf-covr"), default="all")
    parser.add_argument("--clips", type=int, default=40_804)
    parser.add_argument("--videos", type=int, default=467)
    parser.add_argument("--rows", type=int, default=180_000, help="TF-CoVR triplets")
    args = parser.parse_args()
    if args.benchmark in ("all", "tf-covr"):
        bench_tfcovr(args.rows)
    if args.benchmark in ("all", "lovr"):
        bench_lovr(args.clips, args.videos)


if __name__ == "__main__":
    main()
