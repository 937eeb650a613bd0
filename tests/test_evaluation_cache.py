"""Embedding cache: round trip, resume across instances, key checks, corrupt parts."""

from __future__ import annotations

import numpy as np
import pytest

from vidret.evaluation.embeddings.cache import EmbeddingCache, InvalidEmbeddingError, cache_namespace, invalid_rows, text_item_id

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
    first.put(["b"], np.full((1, 4), 2.0, dtype=np.float32))  # another process writes later
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


def quarantined(cache: EmbeddingCache) -> list[str]:
    return sorted(p.name for p in (cache.path / "quarantine").glob("*.npz"))


def test_unreadable_and_malformed_parts_are_quarantined_and_named(tmp_path, caplog):
    cache = EmbeddingCache(tmp_path, KEY)
    cache.put(["good"], np.ones((1, 2), np.float32))
    parts = cache.path / "parts"
    (parts / "broken.npz").write_bytes(b"not a zip")
    np.savez(parts / "odd.npz", ids=np.array(["a", "b"]), embeddings=np.ones((3, 2), np.float32), truncated=np.zeros(2, bool))
    np.savez(parts / "old.npz", ids=np.array(["c"]), embeddings=np.ones((1, 2), np.float32))  # no truncation flags
    with caplog.at_level("WARNING", logger="vidret.evaluation.embeddings.cache"):
        reopened = EmbeddingCache(tmp_path, KEY)
    assert reopened.missing(["good", "a", "b", "c"]) == ["a", "b", "c"]  # embedded again by the run
    assert quarantined(reopened) == ["broken.npz", "odd.npz", "old.npz"]
    assert len(list(parts.glob("*.npz"))) == 1  # only the good part is left in parts/
    text = caplog.text
    assert "broken.npz is unreadable" in text and "odd.npz holds 2 ids but embeddings of shape (3, 2)" in text
    assert "old.npz is unreadable" in text and text.count("moved to") == 3
    caplog.clear()
    EmbeddingCache(tmp_path, KEY)  # a later run finds nothing left to warn about
    assert caplog.text == ""


@pytest.mark.parametrize(
    "bad_row, problem",
    [([np.nan, 1.0], "holds a NaN"), ([np.inf, 1.0], "holds an infinite value"), ([0.0, 0.0], "is all zeros")],
)
def test_part_with_an_unusable_row_is_quarantined_naming_part_and_item(tmp_path, caplog, bad_row, problem):
    cache = EmbeddingCache(tmp_path, KEY)
    cache.put(["keep"], np.ones((1, 2), np.float32))
    part = cache.path / "parts" / "nan.npz"
    np.savez(part, ids=np.array(["clip:v1-2", "clip:v1-3"]), embeddings=np.array([[1.0, 2.0], bad_row], np.float32), truncated=np.zeros(2, bool))
    with caplog.at_level("WARNING", logger="vidret.evaluation.embeddings.cache"):
        reopened = EmbeddingCache(tmp_path, KEY)
    # Both items of the part are embedded again; the good one stays cached.
    assert reopened.missing(["keep", "clip:v1-2", "clip:v1-3"]) == ["clip:v1-2", "clip:v1-3"]
    assert quarantined(reopened) == ["nan.npz"]
    assert f"{part} item 'clip:v1-3' (row 1) {problem}" in caplog.text
    assert "its 2 item(s) will be embedded again" in caplog.text


def test_part_of_another_dimension_is_quarantined(tmp_path, caplog):
    cache = EmbeddingCache(tmp_path, KEY)
    cache.put(["a", "b"], np.ones((2, 4), np.float32))
    np.savez(cache.path / "parts" / "wide.npz", ids=np.array(["c"]), embeddings=np.ones((1, 3), np.float32), truncated=np.zeros(1, bool))
    with caplog.at_level("WARNING", logger="vidret.evaluation.embeddings.cache"):
        reopened = EmbeddingCache(tmp_path, KEY)
    assert reopened.missing(["a", "b", "c"]) == ["c"] and quarantined(reopened) == ["wide.npz"]
    assert "wide.npz item 'c' has 3 dimensions, but the namespace's embeddings have 4" in caplog.text
    with pytest.raises(InvalidEmbeddingError, match="embeddings of 3 dimensions .*item 'd'.* holds embeddings of 4"):
        reopened.put(["d"], np.ones((1, 3), np.float32))


def test_put_never_caches_an_unusable_row_and_names_the_item(tmp_path):
    cache = EmbeddingCache(tmp_path, KEY)
    emb = np.array([[1.0, 0.0], [np.nan, 1.0], [0.0, 0.0], [0.5, 0.5]], np.float32)
    with pytest.raises(InvalidEmbeddingError, match=r"item 'clip:b' holds a NaN; item 'clip:c' is all zeros; .*2 other item"):
        cache.put(["clip:a", "clip:b", "clip:c", "clip:d"], emb)
    # The good rows are kept (nothing is lost), the bad ones are asked for again by a re-run.
    rerun = EmbeddingCache(tmp_path, KEY)
    assert rerun.missing(["clip:a", "clip:b", "clip:c", "clip:d"]) == ["clip:b", "clip:c"]
    assert cache.missing(["clip:a", "clip:b", "clip:c", "clip:d"]) == ["clip:b", "clip:c"]
    assert not (cache.path / "quarantine").exists()
    with pytest.raises(InvalidEmbeddingError) as err:
        cache.put(["x"], np.full((1, 2), np.inf, np.float32))
    assert err.value.problems == {"x": "holds an infinite value"}
    assert invalid_rows(np.ones((3, 2))) == {} and invalid_rows(np.zeros((0, 2))) == {}


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
    writer.put(["new"], np.ones((1, 2), dtype=np.float32))
    assert len(writer) == 0  # nor its own batches indexed
    assert EmbeddingCache(tmp_path, KEY).missing(["old", "new", "x"]) == ["x"]


@pytest.mark.parametrize("damage", ["cut", "not utf-8", "nested"])
def test_an_unreadable_key_file_is_quarantined_named_and_written_anew(tmp_path, caplog, damage):
    """A key.json cut by a crash or a full disk used to end the run in a bare "Expecting value:
    line 19 column 14" naming no file: it is moved to quarantine/ with one warning naming it."""
    cache = EmbeddingCache(tmp_path, KEY)
    cache.put(["a"], np.ones((1, 2), np.float32))
    key_file = cache.path / "key.json"
    whole = key_file.read_bytes()
    broken = {"cut": whole[: len(whole) // 2], "not utf-8": b"\xff\xfe" + whole, "nested": b"[" * 100_000}[damage]
    key_file.write_bytes(broken)
    with caplog.at_level("WARNING", logger="vidret.evaluation.embeddings.cache"):
        reopened = EmbeddingCache(tmp_path, KEY)
    [moved] = (cache.path / "quarantine").glob("key-*.json")
    assert moved.read_bytes() == broken and key_file.read_bytes() == whole  # kept for a look; the key written anew
    [warning] = caplog.records
    assert f"embedding cache key file {key_file} is unreadable" in warning.getMessage() and str(moved) in warning.getMessage()
    assert "\n" not in warning.getMessage()
    assert "a" in reopened  # the namespace's parts were written for these settings (it is their hash)
    caplog.clear()
    EmbeddingCache(tmp_path, KEY)  # a later run finds nothing left to warn about
    assert caplog.text == ""
