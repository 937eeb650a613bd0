"""The dataset cards' evaluate command runs as printed (issue 14.6).

The card says: download the repo into `<name>/`, then run one `vidret evaluate` line from the folder
holding it (and, for an annotations-only build, the videos it names). The test builds each sample
into that folder name, lays the user's videos out where the card says, puts a tiny random CLIP into an
offline Hugging Face cache under the model id the card names, and runs the card's line verbatim.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vidret.builders import build
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

pytestmark = pytest.mark.slow


def _offline_hub_model(cache: Path, repo_id: str) -> None:
    """A tiny CLIP in the Hub cache layout, so `from_pretrained(repo_id)` works with HF_HUB_OFFLINE=1.

    It sits at the commit vidret's preset pins for that id (and `main`), where a download would put it.
    """
    from vidret.adapters.presets import find_preset
    from vidret.testing.tiny import build_tiny_clip

    commit = find_preset(repo_id).revisions.get(repo_id) or "0" * 40
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    build_tiny_clip(folder / "snapshots" / commit)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)


def _card_command(card: str) -> str:
    lines = [line for line in card.splitlines() if line.startswith("vidret evaluate ")]
    assert len(lines) == 1, lines
    return lines[0]


def _run_as_printed(command: str, cwd: Path, hub_cache: Path, monkeypatch) -> int:
    """The card's line, word for word, through the `vidret` entry point, from `cwd`, offline.

    In-process (a subprocess would import torch again: tens of seconds on a loaded machine); the
    Hub cache and offline mode are set where huggingface_hub reads them at call time.
    """
    import shlex

    import huggingface_hub.constants as hub_constants

    from vidret.cli.main import main

    words = shlex.split(command)
    assert words[0] == "vidret"
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("VIDRET_CACHE", str(cwd / ".vidret-cache"))
    return main(words[1:])


def test_card_evaluate_commands_run_as_printed(tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    _offline_hub_model(hub, "openai/clip-vit-base-patch32")
    users = tmp_path / "user"
    # LoVR, annotations only: the user has the release's video_data/ extracted under LoVR-benchmark/.
    raw = make_lovr_release(users / "LoVR-benchmark", videos_per_split={"train": 1, "test": 2}, clips_per_video=(2, 2))
    build("lovr", raw, users / "lovr", progress=False)
    # TF-CoVR, annotations only: the user has rebuilt the clips as a flat folder FineGD_videos/.
    raw = make_tfcovr_release(tmp_path / "TF-CoVR", videos_per_label=1)
    shutil.move(raw / "FineGD_videos", users / "FineGD_videos")
    build("tf-covr", raw, users / "tf-covr", progress=False)
    for name, expected in (
        ("lovr", "vidret evaluate --benchmark lovr --data lovr --video-root LoVR-benchmark/video_data --model openai/clip-vit-base-patch32"),
        ("tf-covr", "vidret evaluate --benchmark tf-covr --data tf-covr --video-root FineGD_videos --model openai/clip-vit-base-patch32"),
    ):
        card = (users / name / "README.md").read_text()
        command = _card_command(card)
        assert command == expected
        assert f"hf download vidret/{name} --repo-type dataset --revision v1.0.0 --local-dir {name}" in card
        assert _run_as_printed(command, users, hub, monkeypatch) == 0
        record = json.loads((users / "results.json").read_text())
        assert record["benchmark"] == name and record["num_failed"] == 0
        assert record["model"]["id"] == "openai/clip-vit-base-patch32"
        (users / "results.json").unlink()
