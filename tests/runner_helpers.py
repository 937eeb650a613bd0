"""Shared set-up for the runner tests: sample releases built into dataset repos, tiny models.

Imported by tests/test_runner_*.py, tests/test_distributed.py and tests/test_demo.py (no conftest:
module-scoped fixtures in each test file call these).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from vidret.evaluation.running.runner import EvalSettings, evaluate

TINY_BUILDERS = ("clip", "siglip", "xclip")


def build_sample_repos(root: Path) -> dict[str, Path]:
    """Build the LoVR and TF-CoVR sample releases into dataset repo folders under `root`."""
    from vidret.builders import build
    from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
    from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release

    repos = {"lovr": root / "lovr", "tf-covr": root / "tf-covr"}
    if not repos["lovr"].exists():
        make_lovr_release(root / "raw_lovr")
        build("lovr", root / "raw_lovr", repos["lovr"], videos="copy")
    if not repos["tf-covr"].exists():
        make_tfcovr_release(root / "raw_tfcovr")
        build("tf-covr", root / "raw_tfcovr", repos["tf-covr"], videos="copy")
    return repos


def build_tiny_model(kind: str, root: Path) -> Path:
    """A tiny random-weight model folder ("clip", "siglip" or "xclip")."""
    from vidret.testing import tiny

    out = root / f"tiny-{kind}"
    if not out.exists():
        getattr(tiny, f"build_tiny_{kind}")(out)
    return out


def copy_repo(src: Path, dst: Path) -> Path:
    """A private copy of a built repo (for tests that damage a video)."""
    shutil.copytree(src, dst)
    return dst


def run(benchmark: str, data: Path, model: str | Path, **kwargs: Any) -> dict[str, Any]:
    """`evaluate` in this process with test-friendly defaults (no cache unless given, no workers)."""
    settings = EvalSettings(benchmark=benchmark, data=str(data), model=str(model), **{"num_workers": 0, **kwargs})
    record = evaluate(settings)
    assert record is not None
    return record


def metrics_of(record: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Task id → metrics (what must be identical across process counts and resumed runs)."""
    return {task_id: task["metrics"] for task_id, task in record["tasks"].items()}


def default_sigint() -> None:
    """`preexec_fn` for a child that a test interrupts as a terminal would: SIGINT back to its default.

    A shell starts background jobs with SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler; a test run launched that way must still see what Ctrl-C does.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
