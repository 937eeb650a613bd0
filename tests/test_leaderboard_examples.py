"""The examples run end to end on the sample data (build → ... → leaderboard) and say what they did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STEPS = ("01_build", "02_load", "03_evaluate", "04_validate", "05_submit_dry_run", "06_leaderboard")


@pytest.mark.slow
def test_examples_run_in_order(tmp_path):
    for module in ("vidret.samples", "vidret.evaluation.runner", "vidret.adapters.tiny"):
        pytest.importorskip(module, reason=f"the examples need {module}")
    env = {**os.environ, "VIDRET_EXAMPLES_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    outputs = {}
    for step in STEPS:
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / f"{step}.py")], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{step} failed:\n{done.stdout}\n{done.stderr}"
        outputs[step] = done.stdout

    assert "oracle on lovr: {'t2v': 100.0, 'v2t': 100.0, 't2c': 100.0, 'c2t': 100.0}" in outputs["03_evaluate"]
    assert "oracle on tf-covr: {'cvr': 100.0}" in outputs["03_evaluate"]
    assert outputs["04_validate"].count("OK ") == 4
    assert "refused as expected: model.random_weights is true" in outputs["05_submit_dry_run"]
    assert "+++ .eval_results/lovr.yaml" in outputs["05_submit_dry_run"]
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "lovr.html").is_file()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["oracle", "tiny-clip"]
