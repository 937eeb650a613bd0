"""Evaluation throughput on a decode-bound sample: 1 vs 2 processes, 0 vs 2 DataLoader workers.

Builds (once, cached under --work) a LoVR sample with 640x360 30 fps videos, so decoding costs
far more than the tiny model, then runs `vidret evaluate` (no embedding cache) as:

  A. 1 process,  0 workers  (baseline: decode and model in one loop)
  B. 1 process,  2 workers  (decoding in DataLoader workers, overlapping the model)
  C. 2 processes (torchrun; gloo on CPU), 0 workers each (skipped on a machine with one GPU)

The cases are interleaved over --repeat rounds and each keeps its best round, so a burst of load
from other users hits all cases alike. It prints video segments embedded per second in the video
stage (from the results' timings), the ratios against A, and the load average before and after.
It then times the model alone on random frames of the same size (no decoding): the pipeline's
items/s divided by that is the share of time the model is busy, i.e. whether decoding keeps the
accelerator fed. `--model clip-b32` builds a random-weight CLIP with the ViT-B/32 architecture,
`--model qwen2vl-2b` a random-weight GME-style embedder with the Qwen2-VL-2B architecture (run
them on a GPU machine); `--quick` is a smoke run of the script itself (numbers meaningless).

    python benchmarks/bench_eval.py [--work DIR] [--videos 12] [--frames 8] [--repeat 2]
    python benchmarks/bench_eval.py --model clip-b32 --batch-size 32     # on a GPU machine
    python benchmarks/bench_eval.py --model qwen2vl-2b --batch-size 8    # on a GPU machine
    python benchmarks/bench_eval.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE = (640, 360)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_data(work: Path, videos: int) -> Path:
    """A LoVR sample repo with `videos` test videos at 640x360 30 fps (built once)."""
    from vidret.builders import build
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release

    repo = work / f"lovr-{videos}"
    if not (repo / "manifest.json").exists():
        raw = work / f"raw-{videos}"
        print(f"building a decode-bound LoVR sample ({videos} videos, {SIZE[0]}x{SIZE[1]} 30 fps) ...", flush=True)
        make_lovr_release(raw, videos_per_split={"train": 1, "test": videos}, clips_per_video=(4, 6),
                          fps=30, size=SIZE, seed=1)
        build("lovr", raw, repo, videos="copy")  # evaluated from the repo itself
    return repo


def build_clip_b32(path: Path) -> Path:
    """A random-weight CLIP with the ViT-B/32 architecture (224 px, patch 32, 12+12 layers).

    The tokenizer (byte-level, no merges) and processor come from the tiny build; only the
    towers are full size, which is what decides the model's speed.
    """
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPConfig, CLIPModel

    from vidret.adapters.loading import RANDOM_WEIGHTS_KEY
    from vidret.testing.tiny import build_tiny_clip

    if (path / "model.safetensors").exists() and (path / ".clip-b32").exists():
        return path
    build_tiny_clip(path)
    tok = AutoTokenizer.from_pretrained(path)
    tok.model_max_length = 77
    text = dict(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id)  # every other size: CLIPTextConfig's ViT-B/32 defaults
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=dict(image_size=224, patch_size=32), projection_dim=512))
    setattr(model.config, RANDOM_WEIGHTS_KEY, True)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    processor = AutoImageProcessor.from_pretrained(path)
    processor.size = {"shortest_edge": 224}
    processor.crop_size = {"height": 224, "width": 224}
    processor.save_pretrained(path)
    (path / ".clip-b32").write_text("random-weight ViT-B/32 CLIP\n")
    return path


def build_qwen2vl_2b(path: Path) -> Path:
    """A random-weight GME-style embedder (preset gme) with the Qwen2-VL-2B architecture, in bf16.

    The tokenizer (a small byte-level BPE) and video processor config come from the tiny build;
    the vision tower (32 blocks of width 1280) and the language model (28 layers of width 1536)
    are full size, which is what decides the speed.
    """
    import torch
    from transformers import AutoTokenizer, Qwen2VLConfig, Qwen2VLForConditionalGeneration

    from vidret.adapters.loading import PRESET_KEY, RANDOM_WEIGHTS_KEY
    from vidret.testing.tiny import build_tiny_mllm_embedder

    if (path / ".qwen2vl-2b").exists():
        return path
    build_tiny_mllm_embedder(path, preset="gme")
    tiny = json.loads((path / "config.json").read_text())
    tok = AutoTokenizer.from_pretrained(path)
    text = dict(vocab_size=len(tok), hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768,
                eos_token_id=tiny["text_config"]["eos_token_id"], pad_token_id=tiny["text_config"]["pad_token_id"],
                rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]})
    vision = dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16, patch_size=14, spatial_merge_size=2,
                  temporal_patch_size=2)
    tokens = {k: tiny[k] for k in ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")}
    model = Qwen2VLForConditionalGeneration(Qwen2VLConfig(text_config=text, vision_config=vision, **tokens))
    model = model.to(torch.bfloat16)
    setattr(model.config, RANDOM_WEIGHTS_KEY, True)
    setattr(model.config, PRESET_KEY, "gme")
    model.save_pretrained(path)
    (path / ".qwen2vl-2b").write_text("random-weight Qwen2-VL-2B-size GME-style embedder\n")
    return path


def prepare_model(work: Path, name: str | None) -> str:
    """The model to evaluate: a tiny random CLIP (default), 'clip-b32', 'qwen2vl-2b', or any id/folder given."""
    if name == "clip-b32":
        return str(build_clip_b32(work / "clip-b32-random"))
    if name == "qwen2vl-2b":
        return str(build_qwen2vl_2b(work / "qwen2vl-2b-random"))
    if name:
        return name
    from vidret.testing.tiny import build_tiny_clip

    model = work / "tiny-clip"
    if not (model / "config.json").exists():
        build_tiny_clip(model)
    return str(model)


def run_case(launcher: list[str], repo: Path, model: str, frames: int, batch: int, workers: int, out: Path) -> dict:
    """One `vidret evaluate` run (t2c + c2t: every clip decoded once); its video-stage throughput."""
    args = ["evaluate", "--benchmark", "lovr", "--data", str(repo), "--model", model, "--frames", str(frames),
            "--tasks", "t2c,c2t", "--batch-size", str(batch), "--no-cache", "--num-workers", str(workers),
            "--output", str(out)]
    cmd = [sys.executable, "-m", *launcher, "-m", "vidret", *args] if launcher else [sys.executable, "-m", "vidret", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    record = json.loads(out.read_text())
    segments = record["tasks"]["t2c"]["gallery_size"]
    seconds = record["timings"]["videos_s"]
    return {"segments": segments, "videos_s": seconds, "items_per_s": segments / seconds,
            "num_processes": record["num_processes"], "metrics": record["tasks"]["t2c"]["metrics"]}


def model_only(model: str, frames: int, batch: int, rounds: int = 3) -> float:
    """Clips/s of the adapter alone on random 640x360 frames (no decoding), best of `rounds`."""
    import numpy as np
    import torch

    from vidret.adapters import load_adapter

    torch.set_num_threads(1)  # as in the runs above (OMP_NUM_THREADS=1)
    adapter = load_adapter(model, frames=frames, batch_size=batch)
    rng = np.random.default_rng(0)
    size = adapter.frame_size or SIZE
    clips = [rng.integers(0, 256, (frames, size[1], size[0], 3), dtype=np.uint8) for _ in range(batch)]
    adapter.encode_video(clips)  # warm-up
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        adapter.encode_video(clips)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = max(best, batch / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "vidret-bench-eval"))
    parser.add_argument("--videos", type=int, default=12, help="test videos of 4-6 clips each (default 12)")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--model", default=None, help="model id/folder, 'clip-b32' or 'qwen2vl-2b' (default: a tiny random CLIP)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds; each case keeps its best")
    parser.add_argument("--quick", action="store_true", help="2 videos, 1 round: checks the script, not the speed")
    args = parser.parse_args()
    if args.quick:
        args.videos, args.repeat = 2, 1
    import torch

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    repo = prepare_data(work, args.videos)
    model = prepare_model(work, args.model)
    cases = [("1 process, 0 workers", [], 0), ("1 process, 2 workers", [], 2)]
    if not torch.cuda.is_available() or torch.cuda.device_count() >= 2:
        cases.append(("2 processes, 0 workers", ["torch.distributed.run", "--nproc_per_node", "2"], 0))
    load_before = os.getloadavg()[0]
    best: dict[str, dict] = {}
    for round_ in range(args.repeat):
        for name, launcher, workers in cases:
            extra = ["--master_port", str(_free_port())] if launcher else []
            r = run_case(launcher + extra, repo, model, args.frames, args.batch_size, workers, work / "results.json")
            print(f"round {round_ + 1}: {name:24s} {r['items_per_s']:6.1f} items/s", flush=True)
            if name not in best or r["items_per_s"] > best[name]["items_per_s"]:
                best[name] = r
    print(f"\nbest of {args.repeat} round(s), model {model}, {args.frames} frames, batch {args.batch_size}:")
    for name, _, _ in cases:
        r = best[name]
        print(f"  {name:24s} {r['segments']} segments in {r['videos_s']:.2f} s = {r['items_per_s']:.1f} items/s "
              f"(world size {r['num_processes']})")
    base = best[cases[0][0]]["items_per_s"]
    print("ratios against '1 process, 0 workers' (same run):")
    for name, _, _ in cases[1:]:
        print(f"  {name:24s} x{best[name]['items_per_s'] / base:.2f}")
    same = all(r["metrics"] == best[cases[0][0]]["metrics"] for r in best.values())
    print(f"identical metrics across the cases: {same}")
    capacity = model_only(model, args.frames, args.batch_size)
    fastest = max(r["items_per_s"] for r in best.values())
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU, 1 thread"
    print(f"model alone ({device}): {capacity:.1f} clips/s; the fastest pipeline keeps it busy "
          f"{min(1.0, fastest / capacity):.0%} of the time (the rest is waiting for decoded frames)")
    print(f"cpu_count={os.cpu_count()}, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"(a load above the core count means other users' work: read the ratios, not the absolute numbers)")


if __name__ == "__main__":
    main()
