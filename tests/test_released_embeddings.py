"""A TF-CoVR release with precomputed video embeddings next to its CSVs (issue 21.2).

`vidret build tf-covr` prints, for each ``Embeddings/<name>/`` folder, the `vidret evaluate`
command that scores it (texts from a model of the same dimension); the command runs as printed
once TEXT_MODEL is replaced. The cards of a local build say it was built from a release in the
upstream's format, not that it is the upstream release.
"""

from __future__ import annotations

import ast
import json
import shlex
from pathlib import Path

import pytest
import torch

from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release
from vidret.builders import build
from vidret.cli.main import main

pytestmark = pytest.mark.slow

TINY_CLIP_DIM = 16  # `vidret.testing.tiny.build_tiny_clip`'s projection dimension


def _stems(raw: Path) -> set[str]:
    import csv

    stems = set()
    for split in ("train", "val", "test"):
        with open(raw / f"{split}_finegd.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                stems |= {row["query_video"], row["target_video"]}
                if "target_videos_ids" in row:
                    stems |= set(ast.literal_eval(row["target_videos_ids"]))
    return stems


def _release_with_embeddings(root: Path) -> Path:
    """The sample release without videos, plus Embeddings/AIM (the tiny CLIP's dimension, per-frame
    vectors) and Embeddings/BLIP2 (another dimension)."""
    raw = make_tfcovr_release(root / "TF-CoVR", videos=False, text_splits=("val", "test"))
    generator = torch.Generator().manual_seed(0)
    for name, dim in (("AIM", TINY_CLIP_DIM), ("BLIP2", TINY_CLIP_DIM + 3)):
        folder = raw / "Embeddings" / name
        folder.mkdir(parents=True)
        for stem in sorted(_stems(raw)):
            torch.save(torch.randn(3, dim, generator=generator), folder / f"{stem}.pth")
    return raw


def test_build_prints_the_command_that_scores_the_released_embeddings(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _release_with_embeddings(tmp_path)
    assert main(["build", "tf-covr", "--raw", "TF-CoVR", "--out", "build/tf-covr", "--no-progress"]) == 0
    captured = capsys.readouterr()
    (warning,) = captured.err.splitlines()
    assert warning.startswith("warning: no video folder (FineGD_videos/): annotations only, ")
    assert warning.endswith(
        "evaluate with --video-root pointing at your copy of the clips, or score the release's precomputed video "
        "embeddings (Embeddings/AIM/, Embeddings/BLIP2/) with the command printed below"
    )
    out = captured.out.splitlines()
    start = out.index("wrote build/tf-covr") + 1
    assert out[start:] == [
        "To score the release's precomputed video embeddings instead of videos, replace TEXT_MODEL with a text model "
        "whose embeddings have the same dimension as those video embeddings (the same embedding space; a model of "
        "another dimension is refused):",
        "  vidret evaluate --benchmark tf-covr --data build/tf-covr --embeddings videos=TF-CoVR/Embeddings/AIM "
        "--embeddings-pool mean --model TEXT_MODEL",
        "  vidret evaluate --benchmark tf-covr --data build/tf-covr --embeddings videos=TF-CoVR/Embeddings/BLIP2 "
        "--embeddings-pool mean --model TEXT_MODEL",
    ]
    # The commands name local paths: printed, never written into what `vidret publish` uploads.
    manifest = (tmp_path / "build/tf-covr/manifest.json").read_text()
    assert "TF-CoVR/Embeddings" not in manifest and "TEXT_MODEL" not in manifest
    assert "Embeddings/AIM/, Embeddings/BLIP2/" in json.loads(manifest)["report"]["warnings"][0]

    # The printed command runs as printed once TEXT_MODEL names a text model of the same dimension.
    from vidret.testing.tiny import build_tiny_clip

    build_tiny_clip(tmp_path / "tiny-clip")
    monkeypatch.setenv("VIDRET_CACHE", str(tmp_path / ".vidret-cache"))
    aim, blip2 = (line.strip() for line in out[start + 1 :])
    words = shlex.split(aim.replace("TEXT_MODEL", "tiny-clip"))
    assert main([*words[1:], "--output", "aim.json"]) == 0
    record = json.loads((tmp_path / "aim.json").read_text())
    assert record["embeddings"]["videos"]["format"] == "pth-folder" and record["num_failed"] == 0
    assert record["tasks"]["cvr"]["num_queries"] > 0
    # The other folder has another dimension than the text model: refused, as the build said.
    words = shlex.split(blip2.replace("TEXT_MODEL", "tiny-clip"))
    with pytest.raises(SystemExit, match=f"texts embeddings from model tiny-clip are {TINY_CLIP_DIM}-d but videos embeddings "
                       f"from TF-CoVR/Embeddings/BLIP2 are {TINY_CLIP_DIM + 3}-d"):
        main([*words[1:], "--output", "blip2.json"])
    assert not (tmp_path / "blip2.json").exists()


def test_without_released_embeddings_the_advice_is_the_video_root(tmp_path):
    raw = make_tfcovr_release(tmp_path / "raw", videos=False)
    report = build("tf-covr", raw, tmp_path / "out", progress=False)
    assert report.next_steps == []
    assert report.warnings[-1].endswith("evaluate with --video-root pointing at your copy of the videos")


def test_cards_say_built_from_a_release_in_the_upstream_format(tmp_path):
    build("tf-covr", make_tfcovr_release(tmp_path / "tf", videos=False), tmp_path / "tf-out", progress=False)
    build("lovr", make_lovr_release(tmp_path / "lovr", videos=False), tmp_path / "lovr-out", progress=False)
    for folder, upstream in (("tf-out", "ucf-crcv/TF-CoVR"), ("lovr-out", "debugger123/LoVR-benchmark")):
        card = " ".join((tmp_path / folder / "README.md").read_text().split())  # lines joined
        assert "This repository is the release" not in card
        assert f"from a release in the format of `{upstream}` (the published" in card
        assert "`manifest.json` records the SHA-256 of each input file" in card
