"""Scores pinned by golden results: the oracle and a tiny random-weight CLIP on both sample
benchmarks under both protocols, every metric and per-query value (tests/golden/regenerate.py).

A reshape of the code must leave every number here unchanged; a change that means to change a
number regenerates the files and says which numbers moved and why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

import regenerate  # noqa: E402  (tests/golden/regenerate.py)


def _differences(expected, actual, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}/{k}: missing" for k in expected if k not in actual]
        for key in expected:
            if key in actual:
                out += _differences(expected[key], actual[key], f"{path}/{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(actual)} entries, expected {len(expected)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in _differences(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path}: {actual!r}, expected {expected!r}"]


@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> dict[str, dict]:
    return regenerate.produce(tmp_path_factory.mktemp("golden"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [regenerate.golden_name(b, m, p) for b, _ in regenerate.BENCHMARK_TASKS for m in regenerate.MODELS for p in regenerate.PROTOCOLS],
)
def test_scores_match_golden(produced: dict[str, dict], name: str) -> None:
    expected = json.loads((GOLDEN / name).read_text())
    actual = json.loads(json.dumps(produced[name]))
    differences = _differences(expected, actual)
    assert not differences, f"{name}: {len(differences)} value(s) moved, e.g. " + "; ".join(differences[:8])


def test_golden_files_cover_every_task() -> None:
    lovr = json.loads((GOLDEN / "lovr-oracle-official.json").read_text())
    assert sorted(lovr["tasks"]) == ["c2t", "c2theme", "t2c", "t2v", "theme2c", "v2t"]
    assert all(t["metrics"] and t["per_query"] for t in lovr["tasks"].values())
    tfcovr = json.loads((GOLDEN / "tf-covr-oracle-official.json").read_text())
    assert tfcovr["tasks"]["cvr"]["metrics"]["mAP@50"] == 200.0  # duplicated gallery: see README "Protocols"
