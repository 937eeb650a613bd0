"""Repo-writing helpers and the dataset card / eval.yaml of built samples, as `datasets` and the Hub read them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

import vidret.builders
from vidret.builders import build, repo
from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

SPLITS = {"lovr": ("train", "test"), "tf-covr": ("train", "val", "test")}


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("repos")
    small = {"lovr": {"videos_per_split": {"train": 1, "test": 2}}, "tf-covr": {"videos_per_label": 1}}
    out = {}
    for benchmark, make in (("lovr", make_lovr_release), ("tf-covr", make_tfcovr_release)):
        raw = make(base / f"raw-{benchmark}", **small[benchmark])
        out[benchmark] = base / benchmark
        build(benchmark, raw, out[benchmark], videos="none", progress=False)
    return out


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


@pytest.mark.parametrize("benchmark", sorted(SPLITS))
def test_every_config_and_split_loads_without_warnings(repos, benchmark, tmp_path):
    # `datasets` ignores a malformed `dataset_info` in the card with only a warning; catch that here.
    import datasets

    handler = _Collect()
    root = logging.getLogger("datasets")  # datasets' loggers do not propagate to the root logger
    root.addHandler(handler)
    verbosity = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity_warning()
    try:
        for config in [c["config_name"] for c in _header(repos[benchmark])["configs"]]:
            loaded = datasets.load_dataset(str(repos[benchmark]), config, cache_dir=str(tmp_path))
            assert sorted(loaded) == sorted(SPLITS[benchmark])
            for split in SPLITS[benchmark]:
                streamed = datasets.load_dataset(str(repos[benchmark]), config, split=split, streaming=True)
                assert [row for row in streamed] == loaded[split].to_list()
    finally:
        root.removeHandler(handler)
        datasets.logging.set_verbosity(verbosity)
    assert handler.messages == []


def _header(folder: Path) -> dict:
    return yaml.safe_load((folder / "README.md").read_text().split("---")[1])


@pytest.mark.parametrize("benchmark", sorted(SPLITS))
def test_eval_yaml_has_the_hub_keys_and_the_card_explains_ours(repos, benchmark):
    doc = yaml.safe_load((repos[benchmark] / "eval.yaml").read_text())
    assert {"name", "description", "evaluation_framework", "tasks"} <= set(doc) and doc["evaluation_framework"] == "vidret"
    configs = {c["config_name"]: {f["split"] for f in c["data_files"]} for c in _header(repos[benchmark])["configs"]}
    for task in doc["tasks"]:
        assert task["split"] in configs[task["config"]]  # every task points at a real config/split
    card = (repos[benchmark] / "README.md").read_text()
    assert "## Benchmark file (`eval.yaml`)" in card and "`evaluation_framework: vidret`" in card
    assert "\n\n## Configs and features" in card  # a blank line before the heading (Jinja trims one newline)
    assert "{%" not in card and "{{" not in card


def test_render_card_errors_name_the_missing_template(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="card template 'nope.jinja' not found in package 'vidret.dataset_repos.lovr'"):
        repo.render_card("vidret.dataset_repos.lovr", "nope.jinja", {})
    # A section that a template includes is looked up in the shared package.
    package = tmp_path / "vidret_test_cards"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "card.jinja").write_text('# {{ title }}\n{% include "eval_yaml.md.jinja" %}{% include "absent.md.jinja" %}')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="card template 'absent.md.jinja' not found in package 'vidret.dataset_repos'"):
        repo.render_card("vidret_test_cards", "card.jinja", {"title": "t"})


def test_place_video_modes(tmp_path):
    source = tmp_path / "a.mp4"
    source.write_bytes(b"video")
    repo.place_video(source, tmp_path / "out/copy.mp4", "copy")
    repo.place_video(source, tmp_path / "out/link.mp4", "link")
    assert (tmp_path / "out/copy.mp4").read_bytes() == b"video" and not (tmp_path / "out/copy.mp4").is_symlink()
    assert (tmp_path / "out/link.mp4").resolve() == source.resolve()
    repo.place_video(source, tmp_path / "out/moved.mp4", "copy", move=True)
    assert not source.exists() and (tmp_path / "out/moved.mp4").read_bytes() == b"video"
    with pytest.raises(ValueError, match="cannot place a video with mode 'none'"):
        repo.place_video(tmp_path / "out/moved.mp4", tmp_path / "out/x.mp4", "none")


def test_builder_classes_are_lazy_attributes():
    assert vidret.builders.LoVRBuilder.BENCHMARK == "lovr" and vidret.builders.TFCoVRBuilder.BENCHMARK == "tf-covr"
    with pytest.raises(AttributeError, match="module 'vidret.builders' has no attribute 'MSRVTTBuilder'"):
        vidret.builders.MSRVTTBuilder
