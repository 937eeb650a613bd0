"""The end-to-end demo behind `vidret demo`: sample data → dataset repos → evaluations → table.

Builds the LoVR and TF-CoVR sample releases (`vidret.testing.samples`), turns them into dataset repos
(`vidret.builders`), builds a tiny random-weight CLIP locally (`vidret.testing.tiny`), and
evaluates it and the oracle on both benchmarks with the real runner. The CLIP's scores are
meaningless (random weights, and labelled so); the oracle's 100s show the pipeline is right.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidret.evaluation.results.report import format_table
from vidret.evaluation.running.runner import EvalSettings, evaluate

logger = logging.getLogger(__name__)


@dataclass
class DemoResult:
    """What the demo produced.

    Attributes:
        out: the demo folder.
        records: the results records, one per (benchmark, model).
        table: the printed metrics table.
        seconds: wall time of the whole demo.
    """

    out: Path
    records: list[dict[str, Any]]
    table: str
    seconds: float


def prepare_data(out: Path) -> dict[str, Path]:
    """Write the sample releases and build both dataset repos under `out` (skipped if present)."""
    from vidret.builders import build
    from vidret.testing.samples import make_lovr_release, make_tfcovr_release

    repos = {"lovr": out / "data" / "lovr", "tf-covr": out / "data" / "tf-covr"}
    if not (repos["lovr"] / "manifest.json").exists():
        make_lovr_release(out / "raw" / "lovr")
        build("lovr", out / "raw" / "lovr", repos["lovr"], videos="copy")  # sample videos: ours to copy
    if not (repos["tf-covr"] / "manifest.json").exists():
        make_tfcovr_release(out / "raw" / "tf-covr")
        build("tf-covr", out / "raw" / "tf-covr", repos["tf-covr"], videos="copy")
    return repos


def prepare_model(out: Path) -> Path:
    """Build the tiny random-weight CLIP under `out` (skipped if present)."""
    from vidret.testing.tiny import build_tiny_clip

    path = out / "models" / "tiny-clip-random"
    if not (path / "config.json").exists():
        build_tiny_clip(path)
    return path


def next_commands(out: Path) -> list[str]:
    """Commands to try by hand on what the demo made under `out` (the README's "Trying things by hand").

    Args:
        out: the demo folder, as the user named it (relative paths stay relative).

    Returns:
        Shell command lines: evaluate the oracle and the tiny CLIP, validate, build a leaderboard, look at frames.
    """
    import shlex

    def q(path: Path) -> str:
        return shlex.quote(path.as_posix())

    tried = out / "try"
    videos = sorted((out / "data" / "lovr" / "videos").glob("*.mp4"))
    commands = [
        f"vidret evaluate --benchmark lovr --data {q(out / 'data' / 'lovr')} --model oracle --output {q(tried / 'lovr-oracle.json')}",
        f"vidret evaluate --benchmark tf-covr --data {q(out / 'data' / 'tf-covr')} --model {q(out / 'models' / 'tiny-clip-random')} "
        f"--frames 4 --output {q(tried / 'tf-covr-tiny-clip.json')}",
        f"vidret validate {q(tried / 'lovr-oracle.json')} {q(tried / 'tf-covr-tiny-clip.json')}",
        f"vidret leaderboard {q(tried)} --out {q(out / 'site')}",
    ]
    if videos:
        commands.append(f"vidret sample {q(videos[0])} --frames 8 --out {q(tried / 'frames.png')}")
    return commands


def describe(out: Path, evaluated: bool) -> str:
    """What the demo made under `out` and what to try next, as printed by `vidret demo`.

    Args:
        out: the demo folder.
        evaluated: whether the evaluations ran (their results are then listed too).

    Returns:
        The text to print.
    """
    made = [
        (out / "raw", "sample LoVR and TF-CoVR releases, as published"),
        (out / "data", "the built dataset repos lovr/ and tf-covr/"),
        (out / "models" / "tiny-clip-random", "a random-weight CLIP (plumbing only)"),
    ]
    if evaluated:
        made.append((out / "results", "a results file per benchmark and model, table.txt"))
    width = max(len(path.as_posix()) for path, _ in made) + 1
    lines = [f"Made under {out.as_posix()}/:"]
    lines += [f"  {(path.as_posix() + '/').ljust(width)}  {what}" for path, what in made]
    lines.append("Try next:")
    lines += [f"  {command}" for command in next_commands(out)]
    return "\n".join(lines)


def run_demo(out: str | Path = "vidret-demo", num_workers: int = 0, frames: int = 4) -> DemoResult:
    """Run the demo.

    Args:
        out: folder for the data, model, embedding cache and results files.
        num_workers: DataLoader decode workers per evaluation.
        frames: frames per clip for the tiny CLIP.

    Returns:
        The records and the table (also written to ``<out>/results/``).

    Raises:
        ValueError: `frames` < 1 or `num_workers` < 0.
    """
    if frames < 1:
        raise ValueError(f"--frames must be >= 1, got {frames}")
    if num_workers < 0:
        raise ValueError(f"--num-workers must be >= 0, got {num_workers}")
    start = time.perf_counter()
    root = Path(out)
    repos = prepare_data(root)
    clip = prepare_model(root)
    records = []
    for benchmark, data in repos.items():
        for model in (str(clip), "oracle"):
            name = "tiny-clip" if model != "oracle" else "oracle"
            settings = EvalSettings(
                benchmark=benchmark,
                data=str(data),
                model=model,
                frames=frames if model != "oracle" else None,
                batch_size=16,
                cache_dir=str(root / "cache"),
                output=str(root / "results" / f"{benchmark}-{name}.json"),
                num_workers=num_workers,
            )
            record = evaluate(settings)
            assert record is not None  # the demo runs as one process
            records.append(record)
    table = format_table(records)
    (root / "results" / "table.txt").write_text(table + "\n", encoding="utf-8")
    return DemoResult(root, records, table, time.perf_counter() - start)
