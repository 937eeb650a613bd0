"""Records name the exact data and model read: Hub commits, local fingerprints."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from vidret.evaluation.planning import dataset as dataset_mod
from vidret.evaluation.running import runner, sources_setup
from vidret.evaluation.results.provenance import folder_fingerprint, hub_commit

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_hub_commit_asks_the_hub_and_survives_offline(monkeypatch, caplog):
    import huggingface_hub

    seen = {}

    def repo_info(self, repo_id, *, revision=None, repo_type=None, **_):
        seen.update(repo_id=repo_id, revision=revision, repo_type=repo_type)
        return SimpleNamespace(sha=SHA)

    monkeypatch.setattr(huggingface_hub.HfApi, "repo_info", repo_info)
    assert hub_commit("org/data", "v1.0.0", "dataset") == SHA
    assert seen == {"repo_id": "org/data", "revision": "v1.0.0", "repo_type": "dataset"}

    def offline(self, *args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub.HfApi, "repo_info", offline)
    with caplog.at_level(logging.WARNING):
        assert hub_commit("org/model", None, "model") is None
    assert "cannot resolve the commit of model org/model@main (no network)" in caplog.text


def test_folder_fingerprint_changes_with_the_files(tmp_path):
    assert folder_fingerprint(str(tmp_path / "absent")) is None
    (tmp_path / "config.json").write_text("{}")
    first = folder_fingerprint(str(tmp_path))
    assert first == folder_fingerprint(str(tmp_path))
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    assert folder_fingerprint(str(tmp_path)) != first


def test_hub_dataset_is_read_and_recorded_at_its_commit(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(dataset_mod, "hub_dataset_commit", lambda repo, rev: SHA)

    def fake_rows(data, config, split, revision):
        calls.append((config, revision))
        if config == "triplets":
            row = {"query_id": "q", "query_video": "a", "modification": "m", "target_video": "b"}
            return [row], "fp-t"
        return [{"video_id": v, "video": f"videos/{v}.mp4"} for v in "ab"], "fp-v"

    monkeypatch.setattr(dataset_mod, "_load_rows", fake_rows)
    plan, record = dataset_mod.load_plan("tf-covr", "org/tf-covr")
    assert calls == [("triplets", SHA), ("videos", SHA)]
    assert record["revision"] == SHA and record["commit"] == SHA and record["fingerprint"]
    assert plan.segments[0].source == f"hf://datasets/org/tf-covr@{SHA}/videos/a.mp4"
    # A revision asked for is recorded as asked, next to the commit it resolved to.
    _, tagged = dataset_mod.load_plan("tf-covr", "org/tf-covr", revision="v1.0.0")
    assert tagged["revision"] == "v1.0.0" and tagged["commit"] == SHA


def test_model_source_hub_commit_or_local_fingerprint(monkeypatch, tmp_path):
    monkeypatch.setattr(sources_setup, "hub_commit", lambda repo, rev, kind: SHA if kind == "model" else None)
    adapter = SimpleNamespace(revision=None)
    hub = runner.model_source(runner.EvalSettings("tf-covr", "d", "openai/clip-vit-base-patch32"), adapter)
    assert hub == {"revision": SHA, "commit": SHA, "fingerprint": None}
    pinned = runner.model_source(
        runner.EvalSettings("tf-covr", "d", "openai/clip-vit-base-patch32", model_revision="v2"), adapter
    )
    assert pinned == {"revision": "v2", "commit": SHA, "fingerprint": None}
    (tmp_path / "config.json").write_text("{}")
    local = runner.model_source(runner.EvalSettings("tf-covr", "d", str(tmp_path)), adapter)
    assert local == {"revision": None, "commit": None, "fingerprint": folder_fingerprint(str(tmp_path))}
    oracle = runner.model_source(runner.EvalSettings("tf-covr", "d", "oracle"), adapter)
    assert oracle == {"revision": None, "commit": None, "fingerprint": None}


def test_cache_key_follows_the_hub_commit():
    from vidret.evaluation.embeddings.cache import cache_namespace
    from vidret.evaluation.planning.tasks import TaskPlan

    adapter = SimpleNamespace(describe=lambda: {"frames": 8}, preset="clip")
    settings = runner.EvalSettings("tf-covr", "d", "openai/clip-vit-base-patch32")
    plan = TaskPlan(None, "triplets+videos", "test")  # type: ignore[arg-type]
    keys = [
        cache_namespace(runner.cache_key(settings, adapter, plan, {"revision": c, "commit": c, "fingerprint": None}))
        for c in (SHA, "f" * 40)
    ]
    assert keys[0] != keys[1]  # `main` moved on: the old embeddings are not reused
