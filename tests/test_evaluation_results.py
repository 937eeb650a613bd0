"""Results record: stamped facts, schema + consistency validation before an atomic write."""

from __future__ import annotations

import json

import pytest

from vidret.evaluation.results.report import format_record
from vidret.evaluation.results.record import build_record, write_results
from vidret.evaluation.results.validation import ResultsValidationError, validate_results


def _record(**overrides):
    metrics = {"mAP@5": 10.0, "mAP@10": 11.0, "mAP@25": 12.0, "mAP@50": 13.0, "R@1": 5.0, "R@5": 20.0, "R@10": 30.0, "R@50": 60.0}
    kwargs = dict(
        benchmark="tf-covr",
        config="triplets+videos",
        split="test",
        dataset={"repo": "data/tf-covr", "revision": "1.0.0", "fingerprint": None},
        model={"id": "m", "revision": None, "adapter": "clip", "random_weights": True},
        settings={"frames": 4, "resolution": [224, 224], "fusion": "avg"},
        tasks={"cvr": {"metrics": metrics, "main_score": "mAP@50", "num_queries": 20, "num_failed": 1, "gallery_size": 60}},
        failures=[{"item_id": "v1", "kind": "video", "source": "videos/v1.mp4", "reason": "VideoDecodeError: bad"}],
        num_processes=2,
        wall_time_s=1.23456,
        cache={"dir": None, "namespace": None, "hits": 0, "misses": 30},
    )
    kwargs.update(overrides)
    return build_record(**kwargs)


def test_build_record_stamps_run_facts():
    record = _record()
    validate_results(record)
    assert record["schema_version"] == "1.0"
    assert record["num_failed"] == 1 and record["num_queries"] == 20
    assert record["num_processes"] == 2 and record["wall_time_s"] == 1.235
    assert record["versions"]["torch"] and "cpu_count" in record["hardware"]
    assert record["created_at"].endswith("+00:00")
    assert "cache" not in _record(cache=None)


def test_write_is_atomic_and_validated(tmp_path):
    out = tmp_path / "sub" / "results.json"
    write_results(_record(), out)
    assert json.loads(out.read_text())["benchmark"] == "tf-covr"
    assert [p.name for p in out.parent.iterdir()] == ["results.json"]  # no temporary file left

    bad = _record(failures=[])  # a failed query with no failed item listed is inconsistent
    with pytest.raises(ResultsValidationError, match="no failed item is listed"):
        write_results(bad, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()
    with pytest.raises(ResultsValidationError, match="num_processes"):
        write_results(_record(num_processes=0), tmp_path / "bad.json")


def test_format_record_lists_failures():
    record = _record()
    text = format_record(record)
    gallery = record["tasks"]["cvr"]["gallery_size"]
    assert text.startswith(f"tf-covr cvr [vidret protocol]: composed video retrieval\n  20 queries, gallery {gallery}, headline mAP@50\n")
    header, row = text.splitlines()[2:4]
    assert header.split() == ["model", "mAP@50*", "mAP@5", "mAP@10", "mAP@25", "R@1", "R@5", "R@10", "R@50", "failed"]
    assert row.split() == ["m", "(random", "weights)", "13.00", "10.00", "11.00", "12.00", "5.00", "20.00", "30.00", "60.00", "1"]
    assert "1 item(s) failed to decode" in text and "video v1: VideoDecodeError: bad" in text
    assert "2 process(es)" in text


def test_format_record_escapes_what_came_from_the_dataset_and_the_model_id():
    failure = {"item_id": "v1\x1b[2J", "kind": "video", "source": "videos/v1.mp4", "reason": "cannot open videos/\u202ev1.mp4\r\nOK"}
    record = _record(model={"id": "acme/\x1b]0;pwned\x07", "revision": None, "adapter": "clip"}, failures=[failure])
    text = format_record(record)
    assert not any(char in text for char in "\x1b\x07\u202e\r")
    assert "video v1\\x1b[2J: cannot open videos/\\u202ev1.mp4\\r\\nOK" in text
    assert "acme/\\x1b]0;pwned\\x07" in text
