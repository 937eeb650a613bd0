"""Both protocols side by side: full-scale LoVR scoring time, and the numbers on the samples.

Part 1 (default): the scoring stage (`build_visuals` + `score_task` per task, what the runner does
after embedding) at LoVR's full size with random unit embeddings: 467 full videos of 40,804
clips, 1,000 listed clip-caption queries (`clip_queries`), dimension 512.

- official: t2v/v2t over every video, t2c = the 1,000 caption queries against all 40,804 clips,
  c2t = the 1,000 listed clips against their 1,000 captions; R@1/5/10.
- ours (vidret): the same videos and clips taken as one split (the worst case for us: every clip
  caption is a query, 40,804 x 40,804 for t2c and c2t), identical captions mutually relevant;
  R@1/5/10/50, MdR, MnR (exact ranks).

Both run interleaved `--rounds` times; each keeps its best. The ratio official/ours is printed.

Part 2 (`--samples`): `vidret evaluate` on the sample benchmarks with the oracle and a tiny
random-weight CLIP, under both protocols, with one embedding cache (the official run reuses the
embeddings of ours wherever the items are the same). Prints the Markdown table of the README's
"Protocols" section. The LoVR sample is built with the official `all_clip.jsonl` listing every
other clip of each video (its `clip_queries` config).

Run: python benchmarks/bench_protocols.py [--samples] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def lovr_rows(num_videos: int, num_clips: int, num_queries: int, seed: int = 0):
    """Videos, clips and caption-query rows shaped like the LoVR release (unique captions)."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, num_clips), num_videos - 1))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, num_clips])]
    videos, clips = [], []
    for v, size in enumerate(sizes):
        vid = f"vid{v:04d}"
        videos.append({"video_id": vid, "video": f"videos/{vid}.mp4", "duration": 6.0 * size, "caption": f"video {vid}", "theme": None})
        for n in range(size):
            cid = f"{vid}-Scene-{n + 1:03d}"
            clips.append({"clip_id": cid, "video_id": vid, "start": 6.0 * n, "end": 6.0 * (n + 1),
                          "caption": f"clip {cid}", "theme": None, "video": f"videos/{vid}.mp4"})
    picked = sorted(rng.sample(range(num_clips), num_queries))
    queries = [{"clip_id": clips[i]["clip_id"], "video_id": clips[i]["video_id"], "caption": clips[i]["caption"]} for i in picked]
    return videos, clips, queries


def random_unit(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def score_plan(plan, dim: int, seed: int = 0) -> tuple[float, dict[str, float], dict[str, dict]]:
    """Seconds of the scoring stage (visual aggregation + every task), per task, and the metrics."""
    from vidret.evaluation.running.score import build_visuals, score_task

    rng = np.random.default_rng(seed)
    texts = dict(zip(plan.texts, random_unit(len(plan.texts), dim, rng)))
    segments = dict(zip((s.item_id for s in plan.segments), random_unit(len(plan.segments), dim, rng)))
    start = time.perf_counter()
    visuals = build_visuals(plan, segments, "mean", [])
    per_task, metrics = {"aggregate": time.perf_counter() - start}, {}
    for task in plan.tasks:
        mark = time.perf_counter()
        metrics[task.task_id] = score_task(task, texts, visuals, "avg")["metrics"]
        per_task[task.task_id] = time.perf_counter() - mark
    return time.perf_counter() - start, per_task, metrics


def full_scale(args) -> None:
    import torch

    from vidret.benchmarks import RELEASE_SPLIT, get_protocol
    from vidret.benchmarks.lovr.planner import plan_lovr

    videos, clips, queries = lovr_rows(args.videos, args.clips, args.queries)
    tasks = ["t2v", "v2t", "t2c", "c2t"]
    plans = {
        "official": plan_lovr(videos, clips, tasks, RELEASE_SPLIT, protocol=get_protocol("lovr", "official"),
                              query_lists={"clip_queries": queries}),
        "vidret": plan_lovr(videos, clips, tasks, "test"),
    }
    for name, plan in plans.items():
        sizes = ", ".join(f"{t.task_id} {len(t.queries)}x{len(t.gallery)}" for t in plan.tasks)
        print(f"{name:8s} queries x gallery: {sizes}")
    best: dict[str, tuple[float, dict]] = {}
    for round_ in range(args.rounds):
        for name, plan in plans.items():
            seconds, per_task, _ = score_plan(plan, args.dim)
            print(f"round {round_ + 1}: {name:8s} {seconds:7.2f} s  " + " ".join(f"{k} {v:.2f}" for k, v in per_task.items()), flush=True)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, per_task)
    official, ours = best["official"][0], best["vidret"][0]
    print(f"\nbest of {args.rounds}: official {official:.2f} s, ours {ours:.2f} s; official / ours = {official / ours:.3f} "
          f"({args.videos} videos, {args.clips} clips, {args.queries} caption queries, dim {args.dim}, "
          f"torch threads {torch.get_num_threads()}, cpu_count {os.cpu_count()}, load {os.getloadavg()[0]:.1f})")


def samples(args) -> None:
    from vidret.testing.tiny import build_tiny_clip
    from vidret.builders import build
    from vidret.evaluation.running.runner import EvalSettings, evaluate
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
    from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

    work = Path(args.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # The Hub layout plus the official all_clip.jsonl (every other clip of each video listed).
    make_lovr_release(work / "raw-lovr", layout="both", query_every=2)
    build("lovr", work / "raw-lovr", work / "lovr", videos="copy")
    make_tfcovr_release(work / "raw-tfcovr")
    build("tf-covr", work / "raw-tfcovr", work / "tf-covr", videos="copy")
    tiny = build_tiny_clip(work / "tiny-clip")
    rows = []
    for model_name, model in (("oracle", "oracle"), ("tiny random CLIP", str(tiny))):
        for benchmark, tasks in (("lovr", "t2v,v2t,t2c,c2t"), ("tf-covr", None)):
            scores = {}
            for protocol in ("vidret", "official"):
                record = evaluate(EvalSettings(
                    benchmark=benchmark, data=str(work / benchmark), model=model, tasks=tasks, frames=4,
                    protocol=protocol, cache_dir=str(work / "cache"), num_workers=0,
                    random_weights=model != "oracle",
                ))
                scores[protocol] = record["tasks"]
            for task_id in scores["vidret"]:
                ours, theirs = scores["vidret"][task_id], scores["official"][task_id]
                main = ours["main_score"]
                official_main = theirs["main_score"]
                rows.append((model_name, f"{benchmark} {task_id}", f"{main} {ours['metrics'][main]:.2f} "
                             f"(gallery {ours['gallery_size']})", f"{official_main} {theirs['metrics'][official_main]:.2f} "
                             f"(gallery {theirs['gallery_size']})"))
    print("| model | task | vidret protocol | official protocol |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=467)
    parser.add_argument("--clips", type=int, default=40804)
    parser.add_argument("--queries", type=int, default=1000, help="listed clip-caption queries (all_clip.jsonl)")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", action="store_true", help="print the samples' numbers under both protocols instead")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "vidret-bench-protocols"))
    parser.add_argument("--quick", action="store_true", help="4,000 clips, 1 round: checks the script, not the speed")
    args = parser.parse_args()
    if args.quick:
        args.videos, args.clips, args.queries, args.rounds = 50, 4000, 200, 1
    samples(args) if args.samples else full_scale(args)


if __name__ == "__main__":
    main()
