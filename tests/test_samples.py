"""Sample releases: exact published formats and the properties an oracle adapter relies on."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import pytest
from builders_helpers import read_parquet

from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release
from vidret.testing.samples import (
    FRAME_BLOCK,
    frame_index_offset,
    unique_block_ids,
    video_id_for_frame,
    write_split_archive,
)
from vidret.video import probe, sample_frames
from vidret.testing.synthetic import decode_frame_index

SIZE = (64, 64)


@pytest.fixture(scope="module")
def lovr(tmp_path_factory) -> Path:
    return make_lovr_release(tmp_path_factory.mktemp("s") / "lovr", seed=3)


@pytest.fixture(scope="module")
def tfcovr(tmp_path_factory) -> Path:
    return make_tfcovr_release(tmp_path_factory.mktemp("s") / "tfcovr", seed=3)


def test_frame_index_offset_is_a_deterministic_block():
    assert frame_index_offset("-7wwfGJXEZg") == frame_index_offset("-7wwfGJXEZg")
    assert frame_index_offset("-7wwfGJXEZg") % FRAME_BLOCK == 0
    assert 0 <= frame_index_offset("x") <= 2**24 - FRAME_BLOCK
    vid = "-7wwfGJXEZg"
    assert video_id_for_frame(frame_index_offset(vid) + 17, ["other", vid]) in {("other", 17), (vid, 17)}
    with pytest.raises(KeyError, match="belongs to none"):
        video_id_for_frame(frame_index_offset(vid) + 17, [])


def test_lovr_layout_and_oracle_properties(lovr):
    assert sorted(p.name for p in (lovr / "caption_data").iterdir()) == [
        "clip_test.parquet", "clip_train.parquet", "video_test.parquet", "video_train.parquet"
    ]
    vids = []
    for split in ("train", "test"):
        clips = read_parquet(lovr / f"caption_data/clip_{split}.parquet")
        videos = read_parquet(lovr / f"caption_data/video_{split}.parquet")
        assert set(clips[0]) == {"path", "vid", "slice_num", "cap", "theme_info"}
        assert set(videos[0]) == {"vid", "cap", "theme_info", "start_slice_num", "end_slice_num"}
        for video in videos:
            vid = video["vid"]
            vids.append(vid)
            assert len(vid) == 11 and vid in video["cap"]
            mine = sorted((c for c in clips if c["vid"] == vid), key=lambda c: c["slice_num"])
            assert [c["slice_num"] for c in mine] == list(range(video["start_slice_num"], video["end_slice_num"] + 1))
            frame = 0
            for clip in mine:
                clip_id = Path(clip["path"]).stem
                assert clip["path"] == f"long_video_clip/{vid}/{clip_id}.mp4" and clip_id in clip["cap"]
                info = probe(lovr / "video_data" / clip["path"])
                assert 1.0 <= info.duration <= 3.0
                first = decode_frame_index(sample_frames(lovr / "video_data" / clip["path"], 1, 0, 0.1, size=SIZE)[0])
                assert first == frame_index_offset(vid) + frame  # clips continue the merged video's codes
                frame += info.num_frames
            merged = lovr / f"video_data/merged/{vid}.mp4"
            assert probe(merged).num_frames == frame
            last = sample_frames(merged, 1, start=(frame - 1) / 10, size=SIZE)[0]
            assert decode_frame_index(last) == frame_index_offset(vid) + frame - 1
    assert vids[0].startswith("-")
    assert len({frame_index_offset(v) for v in vids}) == len(vids)  # no shared blocks


def test_lovr_clip_rows_are_not_in_temporal_order(lovr):
    rows = read_parquet(lovr / "caption_data/clip_test.parquet")
    assert [(r["vid"], r["slice_num"]) for r in rows] != sorted((r["vid"], r["slice_num"]) for r in rows)


def test_lovr_archive_parts(tmp_path):
    root = make_lovr_release(tmp_path / "lovr", archive=True, num_parts=2, videos_per_split={"train": 1, "test": 1})
    assert sorted(p.name for p in (root / "video_data").iterdir()) == ["part_aa", "part_ab"]
    assert not (root / ".staging").exists()
    import io
    import tarfile

    data = b"".join(p.read_bytes() for p in sorted((root / "video_data").iterdir()))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
        assert all(m.mtime == 0 for m in tar.getmembers())
    vids = [r["vid"] for split in ("train", "test") for r in read_parquet(root / f"caption_data/video_{split}.parquet")]
    assert names == sorted(names) and {f"merged/{v}.mp4" for v in vids} <= set(names)
    assert all(n.startswith(("merged/", "long_video_clip/")) for n in names)


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tfcovr_layout_and_oracle_properties(tfcovr):
    labels = {}
    train = _csv(tfcovr / "train_finegd.csv")
    assert list(train[0]) == ["query_video", "target_video", "label1", "label2", "modification"]
    for row in train:
        labels[row["query_video"]] = row["label1"]
        labels[row["target_video"]] = row["label2"]
        assert ast.literal_eval(row["modification"]) == {row["label2"]: {"modification": ast.literal_eval(row["modification"])[row["label2"]]["modification"]}}
    all_labels = set(labels.values())
    for split in ("val", "test"):
        rows = _csv(tfcovr / f"{split}_finegd.csv")
        assert list(rows[0]) == ["query_id", "query_video", "target_video", "target_videos_ids", "modification"]
        assert rows[0]["target_videos_ids"].startswith("['") and rows[0]["modification"].startswith("{'")
        split_labels: dict[str, str] = {}
        for row in rows:
            (label, entry), = ast.literal_eval(row["modification"]).items()
            split_labels[row["target_video"]] = label
            for target in ast.literal_eval(row["target_videos_ids"]):
                split_labels[target] = label
        gallery = {r["target_video"] for r in rows}
        for row in rows:
            (label, entry), = ast.literal_eval(row["modification"]).items()
            assert label in entry["modification"] and not any(o in entry["modification"] for o in all_labels - {label})
            targets = ast.literal_eval(row["target_videos_ids"])
            assert sorted(targets) == sorted(v for v, lab in split_labels.items() if lab == label)
            assert row["query_video"] not in targets and split_labels.get(row["query_video"]) != label
            assert set(targets) <= gallery
        assert len({r["query_id"] for r in rows}) == len(rows)
    stems = [p.stem for p in (tfcovr / "FineGD_videos").iterdir()]
    assert len({frame_index_offset(s) for s in stems}) == len(stems)
    stem = stems[0]
    code = decode_frame_index(sample_frames(tfcovr / f"FineGD_videos/{stem}.mp4", 1, 0, 0.1, size=SIZE)[0])
    assert code == frame_index_offset(stem)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="substring"):
        make_tfcovr_release(tmp_path, labels=("107b", "5107b", "x"))
    with pytest.raises(ValueError, match="targets_per_query"):
        make_tfcovr_release(tmp_path, labels=("a1", "b2"), targets_per_query=2)
    with pytest.raises(ValueError, match="num_parts"):
        write_split_archive([], tmp_path, 0)
    with pytest.raises(ValueError, match="distinct frame blocks"):
        unique_block_ids(["same", "same"], 2, set())
