"""The examples run end to end on the sample data (build → ... → leaderboard) and say what they did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
STEPS = ("01_build", "02_load", "03_evaluate", "04_validate", "05_submit_dry_run", "06_leaderboard")


def fresh_shell_env(work_dir: Path) -> dict[str, str]:
    """The environment of a new terminal: no virtualenv active, only the system PATH."""
    env = {"HOME": os.environ.get("HOME", str(work_dir)), "VIDRET_EXAMPLES_DIR": str(work_dir), "HF_HUB_OFFLINE": "1"}
    if (REPO_ROOT / ".venv" / "bin" / "python").exists():
        env["PATH"] = "/usr/bin:/bin"  # run_all.sh must find the project's .venv by itself
    else:  # an installation without the repo's .venv (e.g. CI's own interpreter): use the one running the tests
        env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    return env


@pytest.mark.slow
def test_run_all_from_a_fresh_shell(tmp_path):
    done = subprocess.run(
        ["bash", str(EXAMPLES / "run_all.sh")], cwd=tmp_path, env=fresh_shell_env(tmp_path),
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"run_all.sh failed:\n{done.stdout}\n{done.stderr}"
    sections = done.stdout.split("=== ")
    outputs = {section.split("\n", 1)[0]: section for section in sections if section}
    assert list(outputs)[: len(STEPS)] == list(STEPS)

    assert "oracle on lovr: {'t2v': 100.0, 'v2t': 100.0, 't2c': 100.0, 'c2t': 100.0}" in outputs["03_evaluate"]
    assert "oracle on tf-covr: {'cvr': 100.0}" in outputs["03_evaluate"]
    assert outputs["04_validate"].count("OK ") == 4
    assert "refused as expected: model.random_weights is true" in outputs["05_submit_dry_run"]
    assert "+++ .eval_results/lovr.yaml" in outputs["05_submit_dry_run"]
    assert str(tmp_path) not in outputs["05_submit_dry_run"]  # the dry run uploads no local path
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "lovr.html").is_file()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["oracle", "tiny-clip"]


def test_run_all_without_vidret_says_what_to_do(tmp_path):
    # A Python without vidret: a clear message, not a traceback from step 1.
    script = tmp_path / "examples" / "run_all.sh"
    script.parent.mkdir()
    script.write_text((EXAMPLES / "run_all.sh").read_text())
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VIDRET_EXAMPLES_DIR": str(tmp_path / "out")}
    done = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no Python with vidret installed; activate the project's virtualenv" in done.stderr
    assert "=== 01_build" not in done.stdout
