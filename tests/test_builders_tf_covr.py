"""TF-CoVR builder: CSVs with dict/list literals + flat clip folder -> triplets/videos Parquet repo."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml
from builders_helpers import read_parquet, tree_bytes

from vidret.benchmarks import BENCHMARKS
from vidret.builders import BuildError, build
from vidret.benchmarks.tf_covr.builder import video_source
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return make_tfcovr_release(tmp_path_factory.mktemp("tfcovr") / "raw")


@pytest.fixture(scope="module")
def built(raw, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tfcovr_out") / "repo"
    build("tf-covr", raw, out, videos="copy", progress=False)
    return out


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict], header: list[str] | None = None) -> None:
    header = header or list(rows[0])
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def test_triplets_parse_the_literals(raw, built):
    release = _rows(raw / "val_finegd.csv")
    triplets = read_parquet(built / "data/triplets/val-00000-of-00001.parquet")
    assert [t["query_id"] for t in triplets] == [r["query_id"] for r in release]  # release order kept
    first, row = triplets[0], release[0]
    assert first["modification"] in row["modification"] and first["target_label"] in first["modification"]
    assert first["target_videos"] == sorted(eval_free_list(row["target_videos_ids"]))
    assert first["target_videos_as_written"] == eval_free_list(row["target_videos_ids"])  # release order
    assert first["target_video"] in first["target_videos"]
    assert first["query_label"] is not None and first["query_label"] != first["target_label"]
    train = read_parquet(built / "data/triplets/train-00000-of-00001.parquet")
    train_release = _rows(raw / "train_finegd.csv")
    assert [(t["query_label"], t["target_label"], t["target_videos"], t["target_videos_as_written"]) for t in train] == [
        (r["label1"], r["label2"], [r["target_video"]], [r["target_video"]]) for r in train_release
    ]
    assert train[0]["query_id"] == "train-0000001"


def eval_free_list(text: str) -> list[str]:
    import ast

    return ast.literal_eval(text)


def test_videos_config_flags_the_gallery(raw, built):
    for split in ("val", "test"):
        videos = read_parquet(built / f"data/videos/{split}-00000-of-00001.parquet")
        triplets = read_parquet(built / f"data/triplets/{split}-00000-of-00001.parquet")
        gallery = {t["target_video"] for t in triplets}
        assert {v["video_id"] for v in videos if v["in_gallery"]} == gallery
        assert all(v["duration"] > 0 and v["video"] == f"videos/{v['video_id']}.mp4" for v in videos)
        assert all((built / v["video"]).is_file() for v in videos)
        assert {v["source"] for v in videos} == {"finegym", "finediving"}
        assert all(v["label"] is not None for v in videos)
    card = (built / "README.md").read_text()
    assert "distinct" in card and "deduplicated" in card and "2506.05274" in card
    header = yaml.safe_load(card.split("---")[1])
    assert {"name": "target_videos", "list": "string"} in header["dataset_info"][0]["features"]
    assert [t["id"] for t in yaml.safe_load((built / "eval.yaml").read_text())["tasks"]] == ["cvr", "cvr_official"]


def test_source_from_stem():
    assert video_source("0LtLS9wROrk_E_002407_002435_A_0003_0005") == "finegym"
    assert video_source("FINADivingWorldCup2021_Men3m_final_r1_3") == "finediving"


def test_rebuild_is_byte_identical(raw, built, tmp_path):
    build("tf-covr", raw, tmp_path / "again", videos="copy", progress=False)
    assert tree_bytes(tmp_path / "again") == tree_bytes(built)


def test_targets_absent_from_gallery_are_counted(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    rows = _rows(copy / "test_finegd.csv")
    stray = "FINADiving_TEST_00_99"
    shutil.copyfile(next((copy / "FineGD_videos").iterdir()), copy / f"FineGD_videos/{stray}.mp4")
    rows[0]["target_videos_ids"] = str(eval_free_list(rows[0]["target_videos_ids"]) + [stray + ".mp4"])
    _write(copy / "test_finegd.csv", rows)
    report = build("tf-covr", copy, tmp_path / "out", progress=False)
    assert report.targets_absent_from_gallery == {"train": 0, "val": 0, "test": 1}
    videos = read_parquet(tmp_path / "out/data/videos/test-00000-of-00001.parquet")
    assert [v["in_gallery"] for v in videos if v["video_id"] == stray] == [False]
    assert "test 1" in (tmp_path / "out/README.md").read_text()


def test_repeated_target_ids_are_kept_as_written_beside_the_distinct_list(tmp_path):
    raw = make_tfcovr_release(tmp_path / "raw", videos=False, repeated_targets=3)
    build("tf-covr", raw, tmp_path / "out", progress=False)
    for split in ("val", "test"):
        release = _rows(raw / f"{split}_finegd.csv")
        triplets = read_parquet(tmp_path / f"out/data/triplets/{split}-00000-of-00001.parquet")
        written = [[i.removesuffix(".mp4") for i in eval_free_list(r["target_videos_ids"])] for r in release]
        assert sum(len(w) != len(set(w)) for w in written) == 3
        assert [t["target_videos_as_written"] for t in triplets] == written  # order and repeats kept
        assert [t["target_videos"] for t in triplets] == [sorted(set(w)) for w in written]


def test_missing_clip_fails_or_is_listed(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    victim = _rows(copy / "val_finegd.csv")[0]["query_video"]
    (copy / f"FineGD_videos/{victim}.mp4").unlink()
    with pytest.raises(BuildError, match=f"FineGD_videos/{victim}.mp4 \\(absent"):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    build("tf-covr", copy, tmp_path / "out", progress=False, allow_missing=True, videos="none")
    assert [m["video_id"] for m in json.loads((tmp_path / "out/missing.json").read_text())] == [victim]


@pytest.mark.parametrize(
    "split, column, value, message",
    [
        ("val", "modification", "{'407c': {'modification': 'x'}, '107b': {'modification': 'y'}}", "val_finegd.csv, row 2: 'modification' must hold exactly one target label"),
        ("val", "modification", "{'407c': {'text': 'x'}}", "val_finegd.csv, row 2: 'modification' entry for '407c' has no non-empty 'modification' text"),
        ("val", "modification", "{__import__('os').system('echo hi'): 1}", "val_finegd.csv, row 2: 'modification' is not a Python literal"),
        ("val", "modification", "['407c']", "val_finegd.csv, row 2: 'modification' must be a dict literal, got list"),
        ("test", "target_videos_ids", "[]", "test_finegd.csv, row 2: 'target_videos_ids' must be a non-empty list"),
        ("test", "target_videos_ids", "'a_1'", "test_finegd.csv, row 2: 'target_videos_ids' must be a list literal"),
        ("test", "query_video", "", "test_finegd.csv, row 2: empty 'query_video'"),
        ("train", "label2", "zzz", "train_finegd.csv, row 2: 'modification' is keyed by '.*' but label2 is 'zzz'"),
        ("train", "modification", "plain text", None),  # plain text with a label2: accepted
        ("test", "query_video", "../../evil", r"test_finegd.csv, row 2: 'query_video' value '../../evil' is not a safe file name"),
        ("test", "target_videos_ids", "['ok_1', 'a/b.mp4']", r"test_finegd.csv, row 2: 'target_videos_ids' value 'a/b' is not a safe file name"),
        ("val", "modification", "{'x': 1}", "val_finegd.csv, row 2: 'modification' entry for 'x' has no"),
        ("train", "modification", "{'x': {'modification': 'y'}}", "train_finegd.csv, row 2: 'modification' is keyed by 'x' but label2 is"),
    ],
)
def test_validation_errors_name_file_and_row(raw, tmp_path, split, column, value, message):
    copy = tmp_path / "raw"
    copy.mkdir()
    for name in ("train", "val", "test"):
        shutil.copyfile(raw / f"{name}_finegd.csv", copy / f"{name}_finegd.csv")
    rows = _rows(copy / f"{split}_finegd.csv")
    rows[1][column] = value
    _write(copy / f"{split}_finegd.csv", rows)
    if message is None:
        build("tf-covr", copy, tmp_path / "out", progress=False)
        return
    with pytest.raises(BuildError, match=message):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_file_level_errors(raw, tmp_path):
    copy = tmp_path / "raw"
    copy.mkdir()
    for name in ("train", "val", "test"):
        shutil.copyfile(raw / f"{name}_finegd.csv", copy / f"{name}_finegd.csv")
    rows = _rows(copy / "val_finegd.csv")
    _write(copy / "val_finegd.csv", rows + [rows[0]])
    with pytest.raises(BuildError, match=rf"val_finegd.csv, row {len(rows) + 1}: duplicate query_id 'val_00000' \(first seen in row 1\)"):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    _write(copy / "val_finegd.csv", rows, header=["query_id", "query_video", "target_video", "modification"])
    with pytest.raises(BuildError, match=r"val_finegd.csv: missing column\(s\) \['target_videos_ids'\]"):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    (copy / "val_finegd.csv").write_bytes((copy / "test_finegd.csv").read_bytes() + "x,caf\xe9,\n".encode("latin-1"))
    with pytest.raises(BuildError, match=rf"val_finegd.csv, row {len(rows) + 1}: not UTF-8 text \(invalid continuation byte"):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    (copy / "val_finegd.csv").write_text((copy / "test_finegd.csv").read_text() + "x," + "y" * 200_000 + ",c,d,e\n")
    with pytest.raises(BuildError, match=rf"val_finegd.csv, row {len(rows) + 1}: not valid CSV \(field larger than field limit"):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    (copy / "val_finegd.csv").write_text("")
    with pytest.raises(BuildError, match="val_finegd.csv: empty file"):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    (copy / "val_finegd.csv").unlink()
    with pytest.raises(BuildError, match=r"val_finegd.csv: file not found \(expected train_finegd.csv, .*; found \['train_finegd.csv', 'test_finegd.csv'\]\)"):
        build("tf-covr", copy, tmp_path / "out", progress=False)
    _write(copy / "val_finegd.csv", rows)
    with pytest.raises(BuildError, match=r"--videos copy needs the release's videos, but there is no video folder \(FineGD_videos/\)"):
        build("tf-covr", copy, tmp_path / "out", videos="copy", progress=False)


def test_conflicting_labels_warn(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    rows = _rows(copy / "train_finegd.csv")
    rows[0]["label1"] = "999z"
    _write(copy / "train_finegd.csv", rows)
    report = build("tf-covr", copy, tmp_path / "out", progress=False, videos="none")
    assert [w for w in report.warnings if "several labels" in w] == [
        f"1 video(s) carry several labels (the first in sorted order is used), e.g. {rows[0]['query_video']} ['107b', '999z']"
    ]


def test_cli_and_entry_point(raw, tmp_path, capsys):
    from vidret.cli.main import main
    from vidret.dataset_repos.tf_covr.build import main as entry_point

    assert main(["build", "tf-covr", "--raw", str(raw), "--out", str(tmp_path / "a"), "--videos", "none", "--no-progress", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "triplets: train 40, val 20, test 20" in out and f"wrote {tmp_path / 'a'}" in out
    assert entry_point(["--raw", str(raw), "--out", str(tmp_path / "b"), "--videos", "none", "--no-progress"]) == 0
    assert (tmp_path / "b/data/triplets/test-00000-of-00001.parquet").read_bytes() == (
        tmp_path / "a/data/triplets/test-00000-of-00001.parquet"
    ).read_bytes()
    assert main(["build", "tf-covr", "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "c")]) == 1
    assert "vidret build: nope: raw release folder not found" in capsys.readouterr().err
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    (copy / "FineGD_videos" / f"{_rows(copy / 'test_finegd.csv')[0]['query_video']}.mp4").unlink()
    assert main(["build", "tf-covr", "--raw", str(copy), "--out", str(tmp_path / "d"), "--allow-missing", "--videos", "none", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "absent" in line] == [
        f"warning: 1 of 30 referenced video(s) absent (1) or unreadable (0), e.g. FineGD_videos/{_rows(copy / 'test_finegd.csv')[0]['query_video']}.mp4; full list in missing.json"
    ]
