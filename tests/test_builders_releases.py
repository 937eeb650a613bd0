"""Releases as published: every LoVR and TF-CoVR layout/variant builds, loads and scores 100 with the oracle.

Variants (vidret.testing.samples): LoVR Hub layout, official evaluation layout (all_clip.jsonl / all_video.jsonl)
and both; absolute clip paths; clip rows of only `path, cap`; several video rows per vid (caption-merger
clusters); archive parts; no video folder at all. TF-CoVR plain-text and dict modifications, a train dict
holding several labels, a pandas index column, CSVs under annotations/, no video folder.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from builders_helpers import read_parquet
from runner_helpers import run

from vidret.builders import build
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

datasets = pytest.importorskip("datasets")


def _rows(repo: Path, config: str, split: str) -> list[dict]:
    return [r for p in sorted((repo / "data" / config).glob(f"{split}-*.parquet")) for r in read_parquet(p)]


def _all_100(record: dict) -> None:
    assert record["num_failed"] == 0, record["failures"][:3]
    for task_id, task in record["tasks"].items():
        headline = "mAP@50" if "mAP@50" in task["metrics"] else "R@1"
        assert task["metrics"][headline] == 100.0, (task_id, task["metrics"])


@pytest.fixture(scope="module")
def official(tmp_path_factory) -> tuple[Path, Path]:
    """Official layout only, every second clip listed, absolute paths, cluster rows; built annotations-only."""
    base = tmp_path_factory.mktemp("lovr_official")
    raw = make_lovr_release(base / "LoVR-benchmark", layout="official", query_every=2, absolute_paths=True, cluster_rows=True, clips_per_video=(3, 4))
    build("lovr", raw, base / "repo", progress=False)
    return raw, base / "repo"


def test_official_layout_is_one_test_split_with_clip_queries(official):
    raw, repo = official
    listed = [json.loads(line) for line in (raw / "caption_data/all_clip.jsonl").read_text().splitlines()]
    manifest = json.loads((repo / "manifest.json").read_text())
    assert manifest["report"]["layout"] == "official"
    assert manifest["report"]["num_rows"] == {
        "videos": {"test": 5},
        "clips": {"test": len(listed)},
        "clip_queries": {"test": len(listed)},
    }
    queries = _rows(repo, "clip_queries", "test")
    assert [q["clip_id"] for q in queries] == [Path(r["path"]).stem for r in listed]  # file order kept
    assert [q["caption"] for q in queries] == [r["cap"] for r in listed]
    clips = _rows(repo, "clips", "test")
    for clip in clips:  # vid and slice_num come from the file name; only <vid>/<clip>.mp4 of the path is used
        vid, n = clip["clip_id"].rsplit("-Scene-", 1)
        assert (clip["video_id"], clip["slice_num"]) == (vid, int(n))
        assert clip["clip_video"] == f"long_video_clip/{vid}/{clip['clip_id']}.mp4"
        # Only slices 1, 3, ... are listed: slice 1 is timed, the rest follow a gap (decoded from their own file).
        assert (clip["start"] is None) == (clip["slice_num"] > 1)
    warnings = manifest["report"]["warnings"]
    assert any(w.startswith(f"{len(listed)} clip path(s) are absolute (e.g. '/mnt/public/") for w in warnings)
    assert any(w.startswith("5 video(s) had several rows (caption-merger clusters)") for w in warnings)
    card = (repo / "README.md").read_text()
    assert "this build has one split, `test`" in card and "joined by a line break" in card


def test_cluster_rows_are_merged_in_slice_order(official):
    raw, repo = official
    rows = [json.loads(line) for line in (raw / "caption_data/all_video.jsonl").read_text().splitlines()]
    videos = {v["video_id"]: v for v in _rows(repo, "videos", "test")}
    for vid, video in videos.items():
        parts = sorted((r for r in rows if r["vid"] == vid), key=lambda r: r["start_slice_num"])
        assert len(parts) >= 2 and video["caption"] == "\n".join(p["cap"] for p in parts)


def test_official_layout_evaluates_from_the_release_video_folder(official):
    raw, repo = official
    record = run("lovr", repo, "oracle", video_root=str(raw / "video_data"))  # merged/ + long_video_clip/
    _all_100(record)
    again = run("lovr", repo, "oracle", video_root=str(raw), tasks="t2c")  # the release folder itself
    _all_100(again)


def test_hub_plus_official_from_archive_parts_with_minimal_columns(tmp_path):
    raw = make_lovr_release(tmp_path / "raw", layout="both", query_every=2, minimal_columns=True, archive=True)
    repo = tmp_path / "repo"
    report = build("lovr", raw, repo, videos="copy", progress=False, work_dir=tmp_path / "work")
    listed = (raw / "caption_data/all_clip.jsonl").read_text().splitlines()
    assert report.layout == "hub+official" and report.num_rows["clip_queries"] == {"test": len(listed)}
    num_clips = sum(len(read_parquet(raw / f"caption_data/clip_{s}.parquet")) for s in ("train", "test"))
    assert report.video_coverage == {"folder": "video_data (archive parts)", "referenced": num_clips + 5, "present": num_clips + 5, "absent": 0, "unreadable": 0}
    clips = _rows(repo, "clips", "test")
    assert clips and all(c["end"] > c["start"] for c in clips)  # slice order from the file names
    assert not list(repo.rglob("long_video_clip"))  # every clip timed: only the full videos are shipped
    loaded = datasets.load_dataset(str(repo), "clip_queries", split="test", cache_dir=str(tmp_path / "cache"))
    assert loaded.column_names == ["clip_id", "video_id", "caption"] and len(loaded) == len(listed)
    _all_100(run("lovr", repo, "oracle"))


def test_release_without_videos_builds_and_evaluates_with_video_root(tmp_path, capsys):
    from vidret.cli.main import main

    raw = make_lovr_release(tmp_path / "raw", videos=False, seed=5)
    assert main(["build", "lovr", "--raw", str(raw), "--out", str(tmp_path / "repo"), "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    num_clips = sum(len(read_parquet(raw / f"caption_data/clip_{s}.parquet")) for s in ("train", "test"))
    assert err == [f"warning: no video folder (video_data/): annotations only, {num_clips + 5} referenced video(s) not probed; "
                   "evaluate with --video-root pointing at your copy of the videos"]
    videos = _rows(tmp_path / "repo", "videos", "test")
    assert all(v["duration"] is None and v["video"] == f"videos/{v['video_id']}.mp4" for v in videos)
    elsewhere = make_lovr_release(tmp_path / "mine", seed=5)  # the user's own copy of the same videos
    _all_100(run("lovr", tmp_path / "repo", "oracle", video_root=str(elsewhere / "video_data")))


@pytest.fixture(scope="module")
def tfcovr_text(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("tfcovr_text")
    kwargs = dict(text_splits=("val", "test"), multi_label_train=True, index_column=True, annotations_folder=True)
    raw = make_tfcovr_release(base / "TF-CoVR", videos=False, **kwargs)
    build("tf-covr", raw, base / "repo", progress=False)
    return raw, base / "repo"


def test_tfcovr_official_forms_parse(tfcovr_text):
    raw, repo = tfcovr_text
    test = _rows(repo, "triplets", "test")
    release = (raw / "annotations/test_finegd.csv").read_text().splitlines()
    assert release[0].startswith(",query_id,")  # the pandas index column is ignored
    assert all(not t["modification"].startswith("{") and t["target_label"] in t["modification"] for t in test)
    assert all(t["query_label"] is not None and t["query_label"] != t["target_label"] for t in test)
    train = _rows(repo, "triplets", "train")
    assert all(not t["modification"].startswith(("Not this one", "{")) for t in train)  # the str(label2) entry
    videos = _rows(repo, "videos", "test")
    assert all(v["duration"] is None and v["video"] == f"videos/{v['video_id']}.mp4" for v in videos)
    manifest = json.loads((repo / "manifest.json").read_text())
    assert manifest["report"]["video_coverage"] is None and not (repo / "missing.json").exists()
    assert manifest["videos"] == {"included": False, "mode": "none", "files": {}}


def test_tfcovr_annotations_only_evaluates_with_a_flat_video_root(tfcovr_text, tmp_path):
    _, repo = tfcovr_text
    clips = make_tfcovr_release(tmp_path / "clips") / "FineGD_videos"  # same seed: the same stems
    _all_100(run("tf-covr", repo, "oracle", video_root=str(clips)))
    _all_100(run("tf-covr", repo, "oracle", video_root=str(clips.parent), split="val"))  # the release folder


def test_tfcovr_partial_video_folder_reports_coverage(tmp_path, capsys):
    import csv

    from vidret.cli.main import main

    raw = make_tfcovr_release(tmp_path / "raw", videos_per_label=1)
    stems = sorted(p.stem for p in (raw / "FineGD_videos").iterdir())
    with open(raw / "test_finegd.csv", newline="") as f:
        test_queries = [r["query_video"] for r in csv.DictReader(f)]
    test_stems = sorted(set(test_queries))
    victims = test_stems[:3] + [s for s in stems if s not in test_stems][:2]
    for stem in victims[1:]:
        (raw / f"FineGD_videos/{stem}.mp4").unlink()
    (raw / f"FineGD_videos/{victims[0]}.mp4").write_bytes(b"not a video")
    assert main(["build", "tf-covr", "--raw", str(raw), "--out", str(tmp_path / "repo"), "--allow-missing", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"warning: 5 of {len(stems)} referenced video(s) absent (4) or unreadable (1), e.g. ")
    assert err[0].endswith("and 2 more; full list in missing.json")
    manifest = json.loads((tmp_path / "repo/manifest.json").read_text())
    assert manifest["report"]["video_coverage"] == {
        "folder": "FineGD_videos", "referenced": len(stems), "present": len(stems) - 5, "absent": 4, "unreadable": 1
    }
    assert sorted(m["video_id"] for m in json.loads((tmp_path / "repo/missing.json").read_text())) == sorted(victims)
    card = (tmp_path / "repo/README.md").read_text()
    assert f"| {len(stems)} | {len(stems) - 5} | 4 | 1 |" in card and not any(v in card for v in victims)
    record = run("tf-covr", tmp_path / "repo", "oracle", video_root=str(raw / "FineGD_videos"))
    assert {f["item_id"] for f in record["failures"]} == set(test_stems[:3])  # counted and listed, no crash
    assert record["tasks"]["cvr"]["num_failed"] == sum(q in test_stems[:3] for q in test_queries)


def test_official_layout_with_a_video_without_listed_clips(official, tmp_path):
    raw, _ = official
    copy = tmp_path / "raw"
    shutil.copytree(raw / "caption_data", copy / "caption_data")
    lines = (copy / "caption_data/all_clip.jsonl").read_text().splitlines()
    lonely = json.loads(lines[0])["path"].split("/")[-2]
    (copy / "caption_data/all_clip.jsonl").write_text("\n".join(l for l in lines if f"/{lonely}/" not in l) + "\n")
    build("lovr", copy, tmp_path / "repo", progress=False)
    videos = {v["video_id"]: v for v in _rows(tmp_path / "repo", "videos", "test")}
    assert videos[lonely]["num_clips"] == 0
    card = (tmp_path / "repo/README.md").read_text()
    assert "--model openai/clip-vit-base-patch32 --tasks t2c,c2t" in card  # t2v would have nothing to aggregate
    with pytest.raises(ValueError, match=rf"video '{re.escape(lonely)}' has no clips to aggregate \(use --long-video window:<seconds>, or only the clip tasks: --tasks t2c,c2t\)"):
        run("lovr", tmp_path / "repo", "oracle", tasks="t2v")
