"""Embedding cache in the runner: an interrupted run resumes to identical results; a re-run
embeds nothing."""

from __future__ import annotations

import pytest

from runner_helpers import build_sample_repos, build_tiny_model, metrics_of, run
from vidret.evaluation.running.runner import STOP_AFTER_ENV, RunInterrupted


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("resume")


def test_interrupted_run_resumes_identically(root, tmp_path, monkeypatch):
    repos = build_sample_repos(root)
    model = build_tiny_model("clip", root)
    kwargs = dict(frames=2, batch_size=2)
    fresh = run("lovr", repos["lovr"], model, **kwargs)  # no cache at all

    cache = tmp_path / "cache"
    monkeypatch.setenv(STOP_AFTER_ENV, "4")
    with pytest.raises(RunInterrupted) as stopped:
        run("lovr", repos["lovr"], model, cache_dir=str(cache), **kwargs)
    assert stopped.value.code == 75
    parts = list(cache.glob("*/parts/*.npz"))
    assert len(parts) == 4  # the batches done before the stop survived, whole

    monkeypatch.delenv(STOP_AFTER_ENV)
    resumed = run("lovr", repos["lovr"], model, cache_dir=str(cache), **kwargs)
    assert resumed["cache"]["hits"] == 8  # 4 batches of 2 items came from the cache
    assert resumed["cache"]["misses"] > 0
    assert metrics_of(resumed) == metrics_of(fresh)

    again = run("lovr", repos["lovr"], model, cache_dir=str(cache), **kwargs)
    assert again["cache"]["misses"] == 0 and again["cache"]["hits"] == resumed["cache"]["hits"] + resumed["cache"]["misses"]
    assert metrics_of(again) == metrics_of(fresh)
    # Fusion is applied after the cache: changing it re-embeds nothing.
    other = run("tf-covr", repos["tf-covr"], model, cache_dir=str(cache), fusion="avg", **kwargs)
    text_only = run("tf-covr", repos["tf-covr"], model, cache_dir=str(cache), fusion="text", **kwargs)
    assert other["cache"]["misses"] > 0 and text_only["cache"]["misses"] == 0


def test_cache_key_separates_frames(root, tmp_path):
    repos = build_sample_repos(root)
    model = build_tiny_model("clip", root)
    cache = tmp_path / "cache"
    run("tf-covr", repos["tf-covr"], model, frames=2, cache_dir=str(cache), limit=2)
    four = run("tf-covr", repos["tf-covr"], model, frames=3, cache_dir=str(cache), limit=2)
    assert four["cache"]["hits"] == 0  # other frames, other namespace
    assert len(list(cache.iterdir())) == 2


def test_bad_stop_hook_value(root, monkeypatch):
    repos = build_sample_repos(root)
    monkeypatch.setenv(STOP_AFTER_ENV, "soon")
    with pytest.raises(ValueError, match=STOP_AFTER_ENV):
        run("lovr", repos["lovr"], "oracle")
    monkeypatch.setenv(STOP_AFTER_ENV, "0")
    with pytest.raises(ValueError, match="positive integer"):
        run("lovr", repos["lovr"], "oracle")
