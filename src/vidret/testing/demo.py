"""The end-to-end demo behind `vidret demo`: sample data → dataset repos → evaluations → table.

For each registered benchmark (or those asked for), writes its sample release
(`Benchmark.make_sample`), builds it into a dataset repo (`vidret.builders`), builds a tiny
random-weight CLIP locally (`vidret.testing.tiny`), and evaluates it and the oracle on every one
with the real runner. The CLIP's scores are meaningless (random weights, and labelled so); the
oracle's 100s show the pipeline is right.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidret.evaluation.results.report import format_table
from vidret.evaluation.running.runner import EvalSettings, evaluate

if TYPE_CHECKING:
    from vidret.benchmarks import Benchmark

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


def demo_benchmarks(names: Sequence[str] | None = None) -> list["Benchmark"]:
    """The benchmarks the demo covers: those named (ids or aliases, repeats dropped) or every registered one.

    Raises:
        ValueError: an unknown name (the registered ids are listed).
    """
    from vidret.benchmarks import get_benchmark, registered

    if not names:
        return list(registered().values())
    chosen: dict[str, Benchmark] = {}
    for name in names:
        benchmark = get_benchmark(name)
        chosen.setdefault(benchmark.benchmark, benchmark)
    return list(chosen.values())


def prepare_data(out: Path, benchmarks: Sequence[str] | None = None) -> dict[str, Path]:
    """Write each benchmark's sample release to ``raw/<id>`` and build it into ``data/<id>`` under `out`.

    A benchmark whose repo is already built is skipped.

    Args:
        out: the demo folder.
        benchmarks: ids or aliases (None: every registered benchmark).

    Returns:
        Benchmark id → its built dataset repo, in the order named (registry order by default).

    Raises:
        ValueError: an unknown benchmark.
    """
    from vidret.builders import build

    repos = {}
    for benchmark in demo_benchmarks(benchmarks):
        name = benchmark.benchmark
        raw, repo = out / "raw" / name, out / "data" / name
        if not (repo / "manifest.json").exists():
            benchmark.make_sample(raw)
            build(name, raw, repo, videos="copy")  # sample videos: ours to copy
        repos[name] = repo
    return repos


def prepare_model(out: Path) -> Path:
    """Build the tiny random-weight CLIP under `out` (skipped if present)."""
    from vidret.testing.tiny import build_tiny_clip

    path = out / "models" / "tiny-clip-random"
    if not (path / "config.json").exists():
        build_tiny_clip(path)
    return path


def next_commands(out: Path, benchmarks: Sequence[str] | None = None) -> list[str]:
    """Commands to try by hand on what the demo made under `out` (the README's "Trying things by hand").

    The oracle runs on the first benchmark, the tiny CLIP on the second (the first when there is
    one); frames are sampled from the first built repo that holds videos.

    Args:
        out: the demo folder, as the user named it (relative paths stay relative).
        benchmarks: the benchmarks the demo set up (None: every registered benchmark).

    Returns:
        Shell command lines: evaluate the oracle and the tiny CLIP, validate, build a leaderboard, look at frames.
    """
    import shlex

    def q(path: Path) -> str:
        return shlex.quote(path.as_posix())

    ids = [b.benchmark for b in demo_benchmarks(benchmarks)]
    first, second = ids[0], ids[1 if len(ids) > 1 else 0]
    tried = out / "try"
    oracle, tiny = tried / f"{first}-oracle.json", tried / f"{second}-tiny-clip.json"
    commands = [
        f"vidret evaluate --benchmark {first} --data {q(out / 'data' / first)} --model oracle --output {q(oracle)}",
        f"vidret evaluate --benchmark {second} --data {q(out / 'data' / second)} --model {q(out / 'models' / 'tiny-clip-random')} "
        f"--frames 4 --output {q(tiny)}",
        f"vidret validate {q(oracle)} {q(tiny)}",
        f"vidret leaderboard {q(tried)} --out {q(out / 'site')}",
    ]
    videos = next((found for found in (sorted((out / "data" / i / "videos").glob("*.mp4")) for i in ids) if found), [])
    if videos:
        commands.append(f"vidret sample {q(videos[0])} --frames 8 --out {q(tried / 'frames.png')}")
    return commands


def _listing(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def describe(out: Path, evaluated: bool, benchmarks: Sequence[str] | None = None) -> str:
    """What the demo made under `out` and what to try next, as printed by `vidret demo`.

    Args:
        out: the demo folder.
        evaluated: whether the evaluations ran (their results are then listed too).
        benchmarks: the benchmarks the demo set up (None: every registered benchmark).

    Returns:
        The text to print.
    """
    chosen = demo_benchmarks(benchmarks)
    made = [
        (out / "raw", f"sample {_listing([b.short_title for b in chosen])} releases, as published"),
        (out / "data", f"the built dataset repos {_listing([b.benchmark + '/' for b in chosen])}"),
        (out / "models" / "tiny-clip-random", "a random-weight CLIP (plumbing only)"),
    ]
    if evaluated:
        made.append((out / "results", "a results file per benchmark and model, table.txt"))
    width = max(len(path.as_posix()) for path, _ in made) + 1
    lines = [f"Made under {out.as_posix()}/:"]
    lines += [f"  {(path.as_posix() + '/').ljust(width)}  {what}" for path, what in made]
    lines.append("Try next:")
    lines += [f"  {command}" for command in next_commands(out, benchmarks)]
    return "\n".join(lines)


def run_demo(
    out: str | Path = "vidret-demo", num_workers: int = 0, frames: int = 4, benchmarks: Sequence[str] | None = None
) -> DemoResult:
    """Run the demo.

    Args:
        out: folder for the data, model, embedding cache and results files.
        num_workers: DataLoader decode workers per evaluation.
        frames: frames per clip for the tiny CLIP.
        benchmarks: ids or aliases of the benchmarks to cover (None: every registered benchmark).

    Returns:
        The records and the table (also written to ``<out>/results/``).

    Raises:
        ValueError: `frames` < 1, `num_workers` < 0 or an unknown benchmark.
    """
    if frames < 1:
        raise ValueError(f"--frames must be >= 1, got {frames}")
    if num_workers < 0:
        raise ValueError(f"--num-workers must be >= 0, got {num_workers}")
    start = time.perf_counter()
    root = Path(out)
    repos = prepare_data(root, benchmarks)
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
