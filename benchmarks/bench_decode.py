"""Decode benchmark for `vidret.video`: seeking vs sequential decode, dense requests, HTTP bytes.

Generates a 640x360 30 fps H.264 video (GOP 250, 30 minutes by default) once, cached under
benchmarks/.cache/, then prints, all measured in this run:

  1. 32 uniform exact frames with `sample_frames` vs a naive sequential decode of the whole
     file keeping those 32 frames (ratio; target >= 8x faster),
  2. keyframe mode vs exact mode for the same 32 frames (ratio),
  3. a dense request (one frame per second over 10 minutes, as 600 one-frame segments through
     `sample_segments`) vs sequential decode of those 10 minutes (ratio; goal <= 1.1),
  4. bytes read over HTTP from a local Range-capable server for 32 exact / keyframe frames,
     as a fraction of the file size (target <= 10% for exact).

Every sampled frame is checked against its encoded index, so a fast wrong answer fails.

    python benchmarks/bench_decode.py               # full run (first run encodes ~54K frames)
    python benchmarks/bench_decode.py --minutes 3   # quick check that it runs (~1 min); the
                                                    # targets are for the 30-minute video
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np

from vidret.video import probe, sample_frames, sample_segments
from vidret.testing.rangeserver import serve_directory
from vidret.testing.synthetic import decode_frame_index, make_test_video
from vidret.video.timeline import uniform_timestamps

CACHE = Path(__file__).resolve().parent / ".cache"
FPS, SIZE, GOP = 30, (640, 360), 250
CHECK_SIZE = (64, 64)


def cached_video(minutes: float) -> Path:
    # "b3": the synthetic videos have 3 B-frames per mini-GOP (older cached files had none)
    path = CACHE / f"decode_{minutes:g}min_{SIZE[0]}x{SIZE[1]}_{FPS}fps_gop{GOP}_b3.mp4"
    if not path.exists():
        partial = path.with_suffix(".partial.mp4")
        print(f"generating {path.name} (once; cached) ...", flush=True)
        make_test_video(partial, minutes * 60, fps=FPS, size=SIZE, gop=GOP, progress=True)
        partial.rename(path)
    return path


def sequential(path: Path, times: list[float], stop: float | None = None) -> list[int]:
    """Naive baseline: decode every frame in order and keep the one shown at each time."""
    wanted = sorted(round(t * FPS, 6) // 1 for t in times)
    kept, k = [], 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for i, frame in enumerate(container.decode(stream)):
            while k < len(wanted) and wanted[k] == i:
                kept.append(decode_frame_index(frame.to_ndarray(format="rgb24", width=64, height=64)))
                k += 1
            if k == len(wanted) or (stop is not None and i / FPS >= stop):
                break
    return kept


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def check(frames, times, exact: bool = True) -> None:
    got = [decode_frame_index(f) for f in frames]
    want = [int(t * FPS + 1e-6) for t in times]
    if exact:
        assert got == want, f"wrong frames: {got[:8]} ... expected {want[:8]} ..."
    else:
        assert all(0 <= w - g < GOP for g, w in zip(got, want)), "keyframe mode returned a frame after its target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="video length (default 30)")
    parser.add_argument("--frames", type=int, default=32, help="uniform frames to sample (default 32)")
    args = parser.parse_args()

    path = cached_video(args.minutes)
    info = probe(path)
    size_mb = path.stat().st_size / 1e6
    print(f"video: {path.name}  {info.duration / 60:.1f} min, {info.num_frames} frames, {size_mb:.1f} MB")
    times = uniform_timestamps(0.0, info.duration, args.frames)

    t_seq, seq = timed(sequential, path, times)
    assert seq == [int(t * FPS + 1e-6) for t in times], "sequential baseline read the wrong frames"
    t_exact, frames = timed(sample_frames, path, args.frames, size=CHECK_SIZE)
    check(frames, times)
    t_key, frames = timed(sample_frames, path, args.frames, size=CHECK_SIZE, mode="keyframe")
    check(frames, times, exact=False)
    print(f"{args.frames} uniform frames: sequential {t_seq:.2f} s | exact {t_exact:.2f} s "
          f"({t_seq / t_exact:.1f}x faster; target >= 8x) | keyframe {t_key:.2f} s "
          f"({t_exact / t_key:.1f}x faster than exact)")

    dense_s = min(600.0, info.duration)
    segments = [(float(s), float(s) + 1.0) for s in range(int(dense_s))]
    dense_times = [s + 0.5 for s, _ in segments]
    t_dense_seq, seq = timed(sequential, path, dense_times, stop=dense_s)
    t_dense, clips = timed(sample_segments, path, segments, 1, size=CHECK_SIZE)
    check([c[0] for c in clips], dense_times)
    print(f"dense: 1 frame/s over {dense_s / 60:.0f} min ({len(segments)} segments): sequential "
          f"{t_dense_seq:.2f} s | sample_segments {t_dense:.2f} s (ratio {t_dense / t_dense_seq:.2f}; goal <= 1.1)")

    with serve_directory(path.parent) as server:
        url = server.url(path.name)
        for mode in ("exact", "keyframe"):
            server.reset()
            t_http, frames = timed(sample_frames, url, args.frames, size=CHECK_SIZE, mode=mode)
            check(frames, times, exact=mode == "exact")
            print(f"HTTP {mode}: {args.frames} frames read {server.bytes_sent / 1e6:.1f} MB of {size_mb:.1f} MB "
                  f"({100 * server.bytes_sent / path.stat().st_size:.1f}%"
                  f"{'; target <= 10%' if mode == 'exact' else ''}) in {server.requests} requests, {t_http:.2f} s")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
