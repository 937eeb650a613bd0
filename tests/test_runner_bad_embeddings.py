"""A model that returns a NaN or all-zero embedding: the run names the item, and the row is never cached."""

from __future__ import annotations

import numpy as np
import pytest

from runner_helpers import build_sample_repos, metrics_of, run
from vidret.evaluation.embeddings.cache import InvalidEmbeddingError
from vidret.testing.oracle import OracleAdapter


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return build_sample_repos(tmp_path_factory.mktemp("bad_embeddings"))


def break_first_video_batch(monkeypatch, value: float) -> list[int]:
    """Make the oracle's first encode_video call return `value` in its first row."""
    calls: list[int] = []
    original = OracleAdapter.encode_video

    def encode_video(self, clips):
        out = original(self, clips)
        if not calls:
            out[0] = value
        calls.append(len(clips))
        return out

    monkeypatch.setattr(OracleAdapter, "encode_video", encode_video)
    return calls


@pytest.mark.parametrize("value, problem", [(float("nan"), "holds a NaN"), (0.0, "is all zeros")])
def test_unusable_model_output_is_named_and_not_cached(repos, tmp_path, monkeypatch, value, problem):
    cache = tmp_path / "cache"
    calls = break_first_video_batch(monkeypatch, value)
    with pytest.raises(InvalidEmbeddingError, match=rf"item '[^']+' {problem}; they were not cached") as info:
        run("lovr", repos["lovr"], "oracle", cache_dir=str(cache), batch_size=2)
    assert len(info.value.problems) == 1 and calls
    # Without a cache the same output is refused by name too (it used to fail as "gallery row N").
    calls.clear()
    with pytest.raises(InvalidEmbeddingError, match=rf"item '[^']+' {problem}; cosine similarity is undefined"):
        run("lovr", repos["lovr"], "oracle", batch_size=2)
    # A re-run with a working model embeds that item again (the batch's other row was kept).
    monkeypatch.undo()
    record = run("lovr", repos["lovr"], "oracle", cache_dir=str(cache), batch_size=2)
    assert record["cache"]["hits"] >= 1 and record["cache"]["misses"] >= 1
    assert all(value == 100.0 for metrics in metrics_of(record).values() for name, value in metrics.items() if name.startswith("R@"))
    assert not list(cache.glob("*/quarantine/*"))
    stored = [np.load(p)["embeddings"] for p in cache.glob("*/parts/*.npz")]
    assert all(np.isfinite(e).all() and (np.abs(e).sum(axis=1) > 0).all() for e in stored)
