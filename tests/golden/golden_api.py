"""The one place the golden results call vidret's API (update these imports when modules move)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_samples(work: Path) -> tuple[dict[str, str], str]:
    """Both sample releases built into repos (videos copied) and a tiny random-weight CLIP."""
    from vidret.testing.tiny import build_tiny_clip
    from vidret.builders import build
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
    from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

    # The Hub layout plus the official all_clip.jsonl (every other clip listed), so both
    # protocols can score every LoVR task.
    make_lovr_release(work / "raw-lovr", layout="both", query_every=2)
    build("lovr", work / "raw-lovr", work / "lovr", videos="copy")
    make_tfcovr_release(work / "raw-tfcovr")
    build("tf-covr", work / "raw-tfcovr", work / "tf-covr", videos="copy")
    tiny = build_tiny_clip(work / "tiny-clip")
    return {"lovr": str(work / "lovr"), "tf-covr": str(work / "tf-covr")}, str(tiny)


def evaluate_one(*, benchmark: str, data: str, model: str, tasks: str | None, protocol: str, cache_dir: Path) -> dict[str, Any]:
    """One `vidret evaluate` run in this process; returns the results record."""
    from vidret.evaluation.running.runner import EvalSettings, evaluate

    record = evaluate(EvalSettings(
        benchmark=benchmark, data=data, model=model, tasks=tasks, frames=None if model == "oracle" else 4,
        protocol=protocol, cache_dir=str(cache_dir), num_workers=0, random_weights=model != "oracle",
    ))
    assert record is not None
    return record
