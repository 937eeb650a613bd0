"""LoVR builder: raw release (extracted or split parts) -> Parquet repo; validation; determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from builders_helpers import edit_parquet, read_parquet, tree_bytes

from vidret.benchmarks import BENCHMARKS
from vidret.builders import BuildConfig, BuildError, build, get_builder
from vidret.benchmarks.lovr.builder import LoVRBuilder
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.video import probe


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return make_lovr_release(tmp_path_factory.mktemp("lovr") / "raw")


@pytest.fixture(scope="module")
def raw_parts(tmp_path_factory) -> Path:
    return make_lovr_release(tmp_path_factory.mktemp("lovr_parts") / "raw", archive=True)


@pytest.fixture(scope="module")
def built(raw, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lovr_out") / "repo"
    build("lovr", raw, out, videos="copy", progress=False)
    return out


def _captions_only(raw: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "raw"
    shutil.copytree(raw / "caption_data", copy / "caption_data")
    return copy


def test_builds_configs_with_cumulative_timestamps(raw, built):
    clips = read_parquet(built / "data/clips/test-00000-of-00001.parquet")
    release = read_parquet(raw / "caption_data/clip_test.parquet")
    assert len(clips) == len(release)
    for vid in {c["video_id"] for c in clips}:
        mine = [c for c in clips if c["video_id"] == vid]
        assert [c["slice_num"] for c in mine] == sorted(c["slice_num"] for c in mine)  # temporal order
        start = 0.0
        for clip in mine:
            length = probe(raw / f"video_data/long_video_clip/{vid}/{clip['clip_id']}.mp4").duration
            assert clip["start"] == pytest.approx(start) and clip["end"] == pytest.approx(start + length)
            assert clip["video"] == f"videos/{vid}.mp4" and clip["clip_id"] in clip["caption"]
            start += length
        assert start == pytest.approx(probe(built / f"videos/{vid}.mp4").duration, abs=0.11)
    videos = read_parquet(built / "data/videos/test-00000-of-00001.parquet")
    assert [v["video_id"] for v in videos] == sorted(v["video_id"] for v in videos)
    assert {v["video_id"]: v["num_clips"] for v in videos} == {
        vid: sum(c["video_id"] == vid for c in clips) for vid in {c["video_id"] for c in clips}
    }
    assert all(v["duration"] > 0 and v["video_id"] in v["caption"] for v in videos)
    assert all(v["clips_complete"] is True for v in videos)  # the Hub layout lists every clip
    assert sorted(p.name for p in (built / "videos").iterdir()) == sorted(
        f"{v['video_id']}.mp4" for split in ("train", "test") for v in read_parquet(built / f"data/videos/{split}-00000-of-00001.parquet")
    )


def test_card_eval_yaml_and_manifest(raw, built):
    card = (built / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert [c["config_name"] for c in header["configs"]] == ["videos", "clips"]
    assert header["version"] == "1.0.0"
    assert {"name": "start", "dtype": "float64"} in header["dataset_info"][1]["features"]
    for text in ("BGR", "temporal order", "Citation", "2505.13928", "License", "torchcodec", 'load_dataset("vidret/lovr", "clips"'):
        assert text in card
    tasks = yaml.safe_load((built / "eval.yaml").read_text())["tasks"]
    spec = BENCHMARKS["lovr"]
    assert [t["id"] for t in tasks] == [p.hub_task_id(t) for p in spec.protocols.values() for t in p.tasks]
    assert {t["protocol"] for t in tasks} == {"vidret", "official"}
    manifest = json.loads((built / "manifest.json").read_text())
    inputs = manifest["inputs"]
    assert "caption_data/clip_test.parquet" in inputs and any(k.startswith("video_data/merged/") for k in inputs)
    assert len([k for k in inputs if k.endswith(".mp4")]) == len(list((raw / "video_data").rglob("*.mp4")))
    assert set(manifest["outputs"]) >= {"README.md", "eval.yaml", "data/clips/test-00000-of-00001.parquet"}
    assert not (built / "missing.json").exists()


def test_split_parts_give_the_same_tables_as_extracted_folders(raw_parts, tmp_path):
    out = tmp_path / "repo"
    build("lovr", raw_parts, out, videos="copy", progress=False, work_dir=tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(k for k in manifest["inputs"] if "video_data" in k) == [
        "video_data/part_aa",
        "video_data/part_ab",
        "video_data/part_ac",
    ]
    clips = read_parquet(out / "data/clips/test-00000-of-00001.parquet")
    assert clips and all(c["end"] > c["start"] for c in clips)
    assert len(list((out / "videos").iterdir())) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["repo"]  # temporary extraction removed
    assert sorted(p.name for p in (raw_parts / "video_data").iterdir()) == ["part_aa", "part_ab", "part_ac"]


def test_rebuild_is_byte_identical(raw, built, tmp_path):
    again = tmp_path / "again"
    build("lovr", raw, again, videos="copy", progress=False)
    assert tree_bytes(again) == tree_bytes(built)


def test_videos_none_and_link(raw, tmp_path):
    build("lovr", raw, tmp_path / "none", progress=False)  # the default: annotations only
    assert not (tmp_path / "none/videos").exists()
    assert "not included (annotations only, the default" in (tmp_path / "none/README.md").read_text()
    videos = json.loads((tmp_path / "none/manifest.json").read_text())["videos"]
    assert videos == {"included": False, "mode": "none", "files": {}}
    build("lovr", raw, tmp_path / "link", videos="link", progress=False)
    link = next((tmp_path / "link/videos").iterdir())
    assert link.is_symlink() and link.resolve() == (raw / "video_data/merged" / link.name).resolve()


def test_link_mode_needs_extracted_videos(raw_parts, tmp_path):
    build("lovr", raw_parts, tmp_path / "out", videos="none", progress=False)
    before = tree_bytes(tmp_path / "out")
    with pytest.raises(BuildError, match="--videos link needs extracted videos"):
        build("lovr", raw_parts, tmp_path / "out", videos="link", progress=False)
    assert tree_bytes(tmp_path / "out") == before  # the earlier build is left whole


def test_missing_videos_fail_or_are_listed(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    vid = read_parquet(copy / "caption_data/video_test.parquet")[0]["vid"]
    (copy / f"video_data/merged/{vid}.mp4").unlink()
    clip = next((copy / "video_data/long_video_clip" / vid).iterdir())
    clip.write_bytes(b"not a video")
    with pytest.raises(BuildError, match=rf"2 referenced video\(s\) absent or unreadable: .*{vid}.*--allow-missing"):
        build("lovr", copy, tmp_path / "out", progress=False)
    report = build("lovr", copy, tmp_path / "out", allow_missing=True, progress=False)
    missing = json.loads((tmp_path / "out/missing.json").read_text())
    assert {m["path"] for m in missing} == {f"video_data/merged/{vid}.mp4", clip.relative_to(copy).as_posix()}
    assert {m["reason"].split(":")[0] for m in missing} == {"absent", "unreadable"}
    assert [m.to_dict() for m in report.missing] == missing
    card = (tmp_path / "out/README.md").read_text()
    assert "the 2 absent or unreadable videos are listed in\n`missing.json`" in card and vid not in card.split("## Videos in this build")[1]
    assert [w for w in report.warnings if "absent" in w] == [
        f"2 of {report.video_coverage['referenced']} referenced video(s) absent (1) or unreadable (1), e.g. "
        f"{', '.join(sorted(m['path'] for m in missing))}; full list in missing.json"
    ]
    clips = [c for c in read_parquet(tmp_path / "out/data/clips/test-00000-of-00001.parquet") if c["video_id"] == vid]
    bad = int(clip.stem.rsplit("-", 1)[1])
    assert all((c["start"] is None) == (c["slice_num"] >= bad) for c in clips)  # offsets unknown after the bad clip
    videos = read_parquet(tmp_path / "out/data/videos/test-00000-of-00001.parquet")
    assert [v["duration"] for v in videos if v["video_id"] == vid] == [None]
    assert not (tmp_path / f"out/videos/{vid}.mp4").exists()


def test_duration_mismatch_is_reported_not_fatal(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    vid = read_parquet(copy / "caption_data/video_test.parquet")[0]["vid"]
    shutil.copyfile(next((copy / "video_data/long_video_clip" / vid).iterdir()), copy / f"video_data/merged/{vid}.mp4")
    report = build("lovr", copy, tmp_path / "out", progress=False, duration_tolerance_s=0.2)
    assert [m["video_id"] for m in report.duration_mismatches] == [vid]
    assert "## Duration mismatches (1)" in (tmp_path / "out/README.md").read_text()


def _drop(column):
    return lambda rows: [{k: v for k, v in r.items() if k != column} for r in rows]


def _set(index, column, value):
    def edit(rows):
        rows[index][column] = value
        return rows

    return edit


@pytest.mark.parametrize(
    "file, edit, message",
    [
        ("clip_test.parquet", _drop("cap"), r"clip_test.parquet: missing column\(s\) \['cap'\]"),
        ("video_train.parquet", _drop("vid"), r"video_train.parquet: missing column\(s\) \['vid'\]"),
        ("clip_test.parquet", _set(2, "cap", "  "), "clip_test.parquet, row 3: empty 'cap'"),
        ("clip_test.parquet", _set(1, "cap", None), "clip_test.parquet, row 2: empty 'cap'"),
        ("video_test.parquet", _set(0, "cap", ""), "video_test.parquet, row 1: empty 'cap'"),
        ("clip_test.parquet", lambda rows: rows + [dict(rows[0])], r"clip_test.parquet, row \d+: duplicate clip id .* \(first seen in row 1\)"),
        ("clip_test.parquet", _set(1, "path", "/abs/x-Scene-001.mp4"), "clip_test.parquet, row 2: 'path' '/abs/x-Scene-001.mp4' is in folder 'abs' but 'vid' is"),
        ("clip_test.parquet", _set(1, "path", "long_video_clip/../../x.mp4"), r"clip_test.parquet, row 2: 'path' folder '..' is not a safe file name"),
        ("clip_test.parquet", _set(1, "path", "./"), "clip_test.parquet, row 2: empty 'path'"),
        ("video_test.parquet", lambda rows: rows + [dict(rows[0])], r"video_test.parquet: rows 1 and 4 both describe vid .* overlapping slices"),
        ("video_test.parquet", _set(0, "end_slice_num", 2.5), "video_test.parquet, row 1: 'end_slice_num' must be an integer"),
    ],
)
def test_validation_errors_name_file_and_row(raw, tmp_path, file, edit, message):
    copy = _captions_only(raw, tmp_path)
    edit_parquet(copy / "caption_data" / file, edit)
    with pytest.raises(BuildError, match=message):
        build("lovr", copy, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_duplicate_slice_and_fractional_slice(raw, tmp_path):
    copy = _captions_only(raw, tmp_path)
    path = copy / "caption_data/clip_train.parquet"
    rows = read_parquet(path)
    twin = dict(rows[0], path=rows[0]["path"].replace(".mp4", "b.mp4"))
    edit_parquet(path, lambda r: r + [twin])
    with pytest.raises(BuildError, match=r"duplicate \(vid, slice_num\)"):
        build("lovr", copy, tmp_path / "out", progress=False)
    edit_parquet(path, lambda r: [dict(x, slice_num=1.5) if i == 0 else x for i, x in enumerate(r[:-1])])
    with pytest.raises(BuildError, match="row 1: 'slice_num' must be an integer"):
        build("lovr", copy, tmp_path / "out", progress=False)


def test_raw_layout_errors(raw, tmp_path):
    with pytest.raises(BuildError, match="raw release folder not found"):
        build("lovr", tmp_path / "nope", tmp_path / "out")
    with pytest.raises(BuildError, match="must not be inside the raw release"):
        build("lovr", raw, raw / "out")
    copy = _captions_only(raw, tmp_path)
    (copy / "caption_data/clip_train.parquet").write_bytes(b"garbage")
    with pytest.raises(BuildError, match="clip_train.parquet: not a readable Parquet file"):
        build("lovr", copy, tmp_path / "out")
    (copy / "caption_data/clip_train.parquet").unlink()
    with pytest.raises(BuildError, match=r"caption_data: incomplete LoVR release: caption_data/ holds .* but not \['clip_train.parquet'\]"):
        build("lovr", copy, tmp_path / "out")
    copy = _captions_only(raw, tmp_path / "b")
    with pytest.raises(BuildError, match=r"--videos copy needs the release's videos, but there is no video folder \(video_data/\)"):
        build("lovr", copy, tmp_path / "out", videos="copy")
    (copy / "video_data").mkdir()
    with pytest.raises(BuildError, match="holds neither merged/ and long_video_clip/ folders nor archive parts"):
        build("lovr", copy, tmp_path / "out")
    from builders_helpers import file_member, split_bytes, tar_gz

    split_bytes(tar_gz([file_member("other/a.mp4")]), copy / "video_data", 2)
    with pytest.raises(BuildError, match="holds no merged/ or long_video_clip/ folder"):
        build("lovr", copy, tmp_path / "out", progress=False)


def test_raw_inside_out_is_refused_and_left_intact(raw, tmp_path):
    # OUT/data is both where the release sits and what a build clears: refusing keeps the release.
    nested = tmp_path / "repo" / "data"
    shutil.copytree(raw, nested)
    before = tree_bytes(nested)
    with pytest.raises(BuildError, match="data: the raw release folder must not be inside the output folder"):
        build("lovr", nested, tmp_path / "repo", progress=False)
    assert tree_bytes(nested) == before


def test_work_dir_is_created_and_removed(raw, tmp_path):
    work = tmp_path / "not" / "yet"
    build("lovr", raw, tmp_path / "out", progress=False, videos="none", work_dir=work)
    assert work.is_dir() and list(work.iterdir()) == []


def test_orphan_clips_are_warned(raw, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    edit_parquet(copy / "caption_data/video_test.parquet", lambda rows: rows[1:])
    report = build("lovr", copy, tmp_path / "out", progress=False)
    assert any("test: 1 video id(s) of clips without a video row" in w for w in report.warnings)
    assert report.num_rows["videos"]["test"] == 2 and report.num_rows["clips"]["test"] == len(
        read_parquet(raw / "caption_data/clip_test.parquet")
    )


def test_options_are_checked():
    with pytest.raises(ValueError, match="videos must be one of"):
        BuildConfig(videos="move")
    with pytest.raises(ValueError, match="max_rows_per_shard"):
        BuildConfig(max_rows_per_shard=0)
    with pytest.raises(ValueError, match="num_workers"):
        BuildConfig(num_workers=0)
    with pytest.raises(ValueError, match="version"):
        BuildConfig(version="1 0")
    with pytest.raises(ValueError, match="unknown benchmark"):
        get_builder("msrvtt")
    assert get_builder("lovr") is LoVRBuilder


def test_entry_point_builds_like_the_cli(raw, tmp_path, capsys):
    from vidret.dataset_repos.lovr.build import main as entry_point

    assert entry_point(["--raw", str(raw), "--out", str(tmp_path / "out"), "--videos", "none", "--no-progress"]) == 0
    assert "clips: train 6, test 11" in capsys.readouterr().out
    assert json.loads((tmp_path / "out/manifest.json").read_text())["benchmark"] == "lovr"


def test_shards_split_by_rows(raw, tmp_path):
    build("lovr", raw, tmp_path / "out", progress=False, max_rows_per_shard=4, videos="none")
    shards = sorted(p.name for p in (tmp_path / "out/data/clips").iterdir())
    n = len(read_parquet(raw / "caption_data/clip_test.parquet"))
    assert [s for s in shards if s.startswith("test")] == [f"test-{i:05d}-of-{-(-n // 4):05d}.parquet" for i in range(-(-n // 4))]
