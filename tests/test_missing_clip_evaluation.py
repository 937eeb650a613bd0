"""A LoVR build with missing clip files evaluates: decodable items score, missing ones are counted failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from builders_helpers import read_parquet
from runner_helpers import run

from vidret.builders import build
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return make_lovr_release(tmp_path_factory.mktemp("lovr_missing") / "raw", videos_per_split={"train": 1, "test": 3}, clips_per_video=(3, 4))


def test_one_deleted_clip_fails_alone_and_evaluate_does_not_crash(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    clips = sorted(read_parquet(copy / "caption_data/clip_test.parquet"), key=lambda c: (c["vid"], c["slice_num"]))
    victim = next(c for c in clips if c["slice_num"] == 1)  # the first clip: every later clip loses its offset
    (copy / "video_data" / victim["path"]).unlink()
    repo = tmp_path / "repo"
    build("lovr", copy, repo, videos="copy", allow_missing=True, progress=False)
    later = [c for c in clips if c["vid"] == victim["vid"] and c["slice_num"] > 1]
    built = {c["clip_id"]: c for c in read_parquet(repo / "data/clips/test-00000-of-00001.parquet")}
    for c in later:  # unknown offsets: each keeps its own file, shipped with the repo
        row = built[Path(c["path"]).stem]
        assert row["start"] is None and row["clip_video"] == f"long_video_clip/{c['vid']}/{Path(c['path']).name}"
        assert (repo / "videos" / row["clip_video"]).is_file()
    import json

    files = json.loads((repo / "manifest.json").read_text())["videos"]["files"]
    assert {f"videos/long_video_clip/{c['vid']}/{Path(c['path']).name}" for c in later} <= set(files)
    record = run("lovr", repo, "oracle")
    victim_id = Path(victim["path"]).stem
    # The deleted clip is the only clip that fails; its video (aggregated from its clips) fails too.
    failed = {f["item_id"] for f in record["failures"]}
    assert victim_id in failed
    t2c = record["tasks"]["t2c"]  # text queries never fail; the victim's caption finds no clip
    assert t2c["num_failed"] == 0 and t2c["metrics"]["R@1"] == pytest.approx(100.0 * (t2c["num_queries"] - 1) / t2c["num_queries"])
    c2t = record["tasks"]["c2t"]
    assert c2t["failed_queries"] == [victim_id] and c2t["num_failed"] == 1
    n = c2t["num_queries"]
    assert c2t["metrics"]["R@1"] == pytest.approx(100.0 * (n - 1) / n)
