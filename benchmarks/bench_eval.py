"""Evaluation throughput on a decode-bound sample: 1 vs 2 processes, 0 vs 2 DataLoader workers.

Builds (once, cached under --work) a LoVR sample with 640x360 30 fps videos, so decoding costs
far more than the tiny model, then runs `vidret evaluate` (no embedding cache) as:

  A. 1 process,  0 workers  (baseline: decode and model in one loop)
  B. 1 process,  2 workers  (decoding in DataLoader workers, overlapping the model)
  C. 2 processes (torchrun, gloo on CPU), 0 workers each

and prints video segments embedded per second in the video stage (from the results' timings)
and the ratios against A, all measured in this run. On a GPU machine pass --model with a
full-size architecture to see whether decoding keeps the accelerator busy.

    python benchmarks/bench_eval.py [--work DIR] [--videos 6] [--frames 8] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(work: Path, videos: int) -> tuple[Path, Path]:
    from vidret.adapters.tiny import build_tiny_clip
    from vidret.builders import build
    from vidret.samples import make_lovr_release

    repo = work / f"lovr-{videos}"
    if not (repo / "manifest.json").exists():
        raw = work / f"raw-{videos}"
        print(f"building a decode-bound LoVR sample ({videos} videos, 640x360 30 fps) ...", flush=True)
        make_lovr_release(raw, videos_per_split={"train": 1, "test": videos}, clips_per_video=(4, 6),
                          fps=30, size=(640, 360), seed=1)
        build("lovr", raw, repo)
    model = work / "tiny-clip"
    if not (model / "config.json").exists():
        build_tiny_clip(model)
    return repo, model


def run_case(name: str, launcher: list[str], repo: Path, model: str, frames: int, workers: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", *launcher, "-m", "vidret", "evaluate", "--benchmark", "lovr", "--data", str(repo),
           "--model", model, "--frames", str(frames), "--tasks", "t2c,c2t", "--batch-size", "8", "--no-cache",
           "--num-workers", str(workers), "--output", str(out)]
    if not launcher:
        cmd = [sys.executable, "-m", "vidret", *cmd[cmd.index("vidret") + 1 :]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    record = json.loads(out.read_text())
    segments = record["tasks"]["t2c"]["gallery_size"]
    seconds = record["timings"]["videos_s"]
    return {"name": name, "segments": segments, "videos_s": seconds, "items_per_s": segments / seconds,
            "num_processes": record["num_processes"], "metrics": record["tasks"]["t2c"]["metrics"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "vidret-bench-eval"))
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--model", default=None, help="model to evaluate (default: a tiny random CLIP)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the best is kept")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    repo, tiny = prepare(work, args.videos)
    model = args.model or str(tiny)
    cases = [
        ("1 process, 0 workers", [], 0),
        ("1 process, 2 workers", [], 2),
        ("2 processes, 0 workers", ["torch.distributed.run", "--nproc_per_node", "2"], 0),
    ]
    results = []
    for name, launcher, workers in cases:
        best = None
        for _ in range(args.repeat):
            extra = ["--master_port", str(_free_port())] if launcher else []
            r = run_case(name, launcher + extra, repo, model, args.frames, workers, work / "results.json")
            best = r if best is None or r["items_per_s"] > best["items_per_s"] else best
        results.append(best)
        print(f"{name:26s} {best['segments']} segments in {best['videos_s']:.2f} s = {best['items_per_s']:.1f} items/s "
              f"(world size {best['num_processes']})", flush=True)
    base = results[0]["items_per_s"]
    print("\nratios against '1 process, 0 workers' (same run):")
    for r in results[1:]:
        print(f"  {r['name']:26s} x{r['items_per_s'] / base:.2f}")
    same = all(r["metrics"] == results[0]["metrics"] for r in results)
    print(f"identical metrics across the three runs: {same}")
    print(f"cpu_count={os.cpu_count()} (shared machines give noisy numbers; the ratios are what to read)")


if __name__ == "__main__":
    main()
