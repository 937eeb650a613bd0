"""Embedding cache: round trip, resume across instances, key checks, corrupt parts."""

from __future__ import annotations

import numpy as np
import pytest

from vidret.evaluation.cache import EmbeddingCache, cache_namespace, text_item_id

KEY = {"model": "m", "model_revision": None, "frames": 4, "resolution": [64, 64]}


def test_put_get_and_missing(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    emb = np.arange(6, dtype=np.float32).reshape(3, 2)
    cache.put(["a", "b", "c"], emb)
    assert len(cache) == 3
    np.testing.assert_array_equal(cache.get("b"), emb[1])
    assert cache.get("zzz") is None
    assert cache.missing(["c", "x", "a", "y"]) == ["x", "y"]
    assert "a" in cache and "x" not in cache


def test_second_instance_sees_parts_and_refresh(tmp_path):
    first = EmbeddingCache(tmp_path, KEY)
    first.put(["a"], np.ones((1, 4), dtype=np.float32))
    second = EmbeddingCache(tmp_path, KEY)  # a resumed run
    assert second.missing(["a", "b"]) == ["b"]
    first.put(["b"], np.zeros((1, 4), dtype=np.float32))  # another process writes later
    assert "b" not in second
    second.refresh()
    assert "b" in second
    # No temporary files are left behind by atomic writes.
    assert not [p for p in (tmp_path / first.namespace / "parts").iterdir() if p.suffix != ".npz"]


def test_namespace_depends_on_every_setting_but_not_order():
    assert cache_namespace({"a": 1, "b": 2}) == cache_namespace({"b": 2, "a": 1})
    assert cache_namespace(KEY) != cache_namespace({**KEY, "frames": 8})
    assert cache_namespace(KEY) != cache_namespace({**KEY, "model_revision": "abc"})


def test_namespace_rejects_non_json_values():
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        cache_namespace({"model": object()})


def test_key_mismatch_is_refused(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    (cache.path / "key.json").write_text('{"model": "other"}')
    with pytest.raises(ValueError, match="written for other settings"):
        EmbeddingCache(tmp_path, KEY)


def test_put_checks_shapes(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    with pytest.raises(ValueError, match="2 ids but embeddings of shape"):
        cache.put(["a", "b"], np.zeros((3, 2), dtype=np.float32))
    cache.put([], np.zeros((0, 2), dtype=np.float32))  # an empty batch writes nothing
    assert list((cache.path / "parts").glob("*.npz")) == []


def test_corrupt_part_is_named(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    bad = cache.path / "parts" / "broken.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.npz"):
        EmbeddingCache(tmp_path, KEY)


def test_malformed_part_is_named(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    np.savez(
        cache.path / "parts" / "odd.npz",
        ids=np.array(["a", "b"]),
        embeddings=np.zeros((3, 2), np.float32),
        truncated=np.zeros(2, bool),
    )
    with pytest.raises(ValueError, match="odd.npz holds 2 ids"):
        EmbeddingCache(tmp_path, KEY)


def test_part_without_truncation_flags_is_named(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    np.savez(cache.path / "parts" / "old.npz", ids=np.array(["a"]), embeddings=np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="corrupt embedding cache part .*old.npz"):
        EmbeddingCache(tmp_path, KEY)


def test_truncation_flags_survive_a_reopen(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    cache.put(["long", "short"], np.ones((2, 2), np.float32), truncated=[True, False])
    cache.put(["video"], np.ones((1, 2), np.float32))  # no flags: nothing was cut
    reopened = EmbeddingCache(tmp_path, KEY)
    assert [reopened.is_truncated(i) for i in ("long", "short", "video", "absent")] == [True, False, False, False]
    with pytest.raises(ValueError, match="2 ids but embeddings of shape .* and 1 truncation flags"):
        cache.put(["a", "b"], np.ones((2, 2), np.float32), truncated=[True])


def test_text_ids_are_content_hashes():
    assert text_item_id("a caption") == text_item_id("a caption")
    assert text_item_id("a caption") != text_item_id("a caption.")
    assert text_item_id("x").startswith("text:")


def test_write_only_handle_writes_parts_but_reads_none(tmp_path):
    EmbeddingCache(tmp_path, KEY).put(["old"], np.ones((1, 2), dtype=np.float32))
    writer = EmbeddingCache(tmp_path, KEY, read=False)
    assert len(writer) == 0 and "old" not in writer  # existing parts were not loaded
    writer.put(["new"], np.zeros((1, 2), dtype=np.float32))
    assert len(writer) == 0  # nor its own batches indexed
    assert EmbeddingCache(tmp_path, KEY).missing(["old", "new", "x"]) == ["x"]
