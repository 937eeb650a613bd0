"""examples/plugin_benchmark: a third-party benchmark (MSR-VTT 1k-A) installed next to vidret, with
nothing changed in vidret, goes through the whole journey.

The example is installed with pip into a temporary folder (offline: this venv's setuptools builds
it) and put on PYTHONPATH of `python -m vidret ...` subprocesses only, so this test process's
registry (and every other test) never sees it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin_benchmark"
TITLE = "MSR-VTT 1k-A: text-video retrieval"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example installed with `pip install --target` (a copy is built, so the tree stays clean)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = root / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
               "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    points = next(target.glob("vidret_msrvtt-*.dist-info")) / "entry_points.txt"
    assert "[vidret.benchmarks]\nmsrvtt1k = vidret_msrvtt.benchmark:BENCHMARK" in points.read_text()
    assert (target / "vidret_msrvtt" / "README.md.jinja").is_file()  # package data ships
    return target


def vidret(site: Path, *args: str, cwd: Path, expect: int = 0) -> str:
    """Run `python -m vidret ARGS` with the plug-in on PYTHONPATH; its stdout (stderr too on failure)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "vidret", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == expect, f"vidret {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + ("" if expect == 0 else done.stderr)


def tasks_of(results: Path) -> dict[str, dict]:
    return json.loads(results.read_text(encoding="utf-8"))["tasks"]


def test_the_plugin_goes_through_the_whole_journey(site, tmp_path):
    start = time.perf_counter()

    # Listed, with the distribution that provides it.
    listed = vidret(site, "benchmarks", cwd=tmp_path)
    assert f"msrvtt1k: {TITLE} (also: msrvtt-1k-a)" in listed
    assert "provided by: vidret-msrvtt (vidret_msrvtt)" in listed
    assert "vidret does not re-host them" in listed
    (entry,) = [b for b in json.loads(vidret(site, "benchmarks", "--json", cwd=tmp_path)) if b["id"] == "msrvtt1k"]
    assert [t["id"] for t in entry["tasks"]] == ["t2v", "v2t"] and [p["name"] for p in entry["protocols"]] == ["vidret", "official"]

    # The demo writes its sample release and builds it (videos copied: they are ours).
    vidret(site, "demo", "--setup-only", "--benchmark", "msrvtt1k", "--out", "demo", cwd=tmp_path)
    raw, demo_data = tmp_path / "demo" / "raw" / "msrvtt1k", tmp_path / "demo" / "data" / "msrvtt1k"
    assert (raw / "MSRVTT_data.json").is_file() and (raw / "MSRVTT_JSFUSION_test.csv").is_file()
    assert len(list((demo_data / "videos").glob("video*.mp4"))) == 5

    # `vidret build` on the raw release: annotations only by default.
    built = tmp_path / "built"
    printed = vidret(site, "build", "msrvtt1k", "--raw", str(raw), "--out", str(built), "--no-progress", cwd=tmp_path)
    assert "videos: test 5" in printed and "captions: test 100" in printed and "jsfusion: test 5" in printed
    assert not (built / "videos").exists()
    card = (built / "README.md").read_text(encoding="utf-8")
    assert f"# {TITLE}" in card and "research use only" in card
    eval_ids = [line.split()[-1] for line in (built / "eval.yaml").read_text().splitlines() if line.startswith("- id:")]
    assert eval_ids == ["t2v", "v2t", "t2v_official", "v2t_official"]

    # Plain `datasets` loads every config (no vidret, no plug-in needed).
    import datasets

    captions = datasets.load_dataset(str(built), "captions", split="test")
    videos = datasets.load_dataset(str(built), "videos", split="test")
    assert captions.column_names == ["caption_id", "video_id", "sen_id", "caption"] and captions.num_rows == 100
    assert videos.column_names == ["video_id", "video", "duration", "category", "url"]
    assert all(v.startswith("video7") for v in videos["video_id"])
    assert {v: captions["video_id"].count(v) for v in videos["video_id"]} == dict.fromkeys(videos["video_id"], 20)
    assert all(d is not None and d > 0 for d in videos["duration"])  # probed from the raw videos
    assert datasets.load_dataset(str(built), "jsfusion", split="test").num_rows == 5

    # Evaluate: the oracle scores 100 on every R@K (and rank 1), the shuffled control does not.
    runs = tmp_path / "runs"
    video_root = str(raw / "videos" / "all")
    common = ["--benchmark", "msrvtt1k", "--data", str(built), "--video-root", video_root]
    vidret(site, "evaluate", *common, "--model", "oracle", "--output", str(runs / "oracle.json"), cwd=tmp_path)
    vidret(site, "evaluate", *common, "--model", "oracle-shuffled", "--output", str(runs / "shuffled.json"), cwd=tmp_path)
    vidret(site, "evaluate", "--benchmark", "msrvtt1k", "--data", str(demo_data), "--model", "oracle", "--protocol", "official",
           "--output", str(runs / "official" / "oracle.json"), cwd=tmp_path)
    oracle = tasks_of(runs / "oracle.json")
    assert (oracle["t2v"]["num_queries"], oracle["t2v"]["gallery_size"]) == (100, 5)  # every caption is a query
    assert (oracle["v2t"]["num_queries"], oracle["v2t"]["gallery_size"]) == (5, 100)
    official = tasks_of(runs / "official" / "oracle.json")
    assert (official["t2v"]["num_queries"], official["v2t"]["gallery_size"]) == (5, 5)  # one sentence per video
    for tasks in (oracle, official):
        for task in tasks.values():
            assert task["metrics"] == {"R@1": 100.0, "R@5": 100.0, "R@10": 100.0, "MdR": 1.0, "MnR": 1.0}
            assert task["num_failed"] == 0
    assert all(task["metrics"]["R@1"] < 100 for task in tasks_of(runs / "shuffled.json").values())

    # Validate, compare, submit (dry run), leaderboard.
    results = [str(runs / "oracle.json"), str(runs / "shuffled.json"), str(runs / "official" / "oracle.json")]
    checked = vidret(site, "validate", *results, cwd=tmp_path)
    assert checked.count("OK ") == 3 and "msrvtt1k/test [official protocol]" in checked
    compared = vidret(site, "compare", results[0], results[1], "--resamples", "200", cwd=tmp_path)
    assert "msrvtt1k/test, protocol vidret" in compared
    rows = [line.split() for line in compared.splitlines()]
    assert ["t2v", "100", "R@1", "100.00", "0.00", "+100.00"] in [r[:6] for r in rows]
    assert any(r[:3] == ["v2t", "5", "MnR"] for r in rows)
    # The dry run shows what would be filed; the oracle itself is refused whatever the flags.
    plan = vidret(site, "submit", results[0], "--model-repo", "your-org/oracle", "--dataset-id", "your-org/msrvtt-1k-a",
                  "--dry-run", "--allow-random-weights", cwd=tmp_path, expect=1)
    assert ".eval_results/msrvtt1k.yaml" in plan and "task_id: t2v" in plan and "task_id: v2t" in plan
    assert "id: your-org/msrvtt-1k-a" in plan and "model.adapter is 'oracle'" in plan
    vidret(site, "leaderboard", str(runs), "--out", str(tmp_path / "board"), cwd=tmp_path)
    page = (tmp_path / "board" / "msrvtt1k.html").read_text(encoding="utf-8")
    assert TITLE in page and "oracle" in page
    assert f"{TITLE} (official protocol)" in (tmp_path / "board" / "msrvtt1k_official.html").read_text(encoding="utf-8")
    assert TITLE in (tmp_path / "board" / "index.html").read_text(encoding="utf-8")

    # A bad raw release is refused with the file and row named.
    broken = tmp_path / "broken"
    shutil.copytree(raw, broken, ignore=shutil.ignore_patterns("videos"))
    listing = broken / "MSRVTT_JSFUSION_test.csv"
    listing.write_text(listing.read_text().replace("video7010", "video9999", 1), encoding="utf-8")
    refused = vidret(site, "build", "msrvtt1k", "--raw", str(broken), "--out", str(tmp_path / "nope"), cwd=tmp_path, expect=1)
    assert "MSRVTT_JSFUSION_test.csv, row 1: video 'video9999' is not a video of MSRVTT_data.json" in refused

    print(f"plug-in journey: {time.perf_counter() - start:.1f} s")
