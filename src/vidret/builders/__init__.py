"""Dataset builders: each benchmark's raw public release -> a versioned Hub dataset repo folder.

Public API:
    build(benchmark, raw, out, **options) -> BuildReport
    BuildConfig, BuildReport, BuildError, UnsafeArchiveError
    get_builder(benchmark): the benchmark's `DatasetBuilder` subclass, which lives in its package
    (`vidret.benchmarks.<name>.builder`); ``vidret.builders.<ClassName>`` finds it by name too.

The repo folder holds Parquet shards under ``data/<config>/``, a dataset card (``README.md``
with the YAML ``configs:``), ``eval.yaml``, ``manifest.json`` (checksums of every input and
output file, build options, whether and which videos are included, build report), ``videos/``
only with ``videos="copy"`` or ``"link"`` (the default, ``"none"``, builds annotations only: the
benchmarks' videos may not be re-hosted freely), and ``missing.json`` when a build with
``allow_missing`` found absent or unreadable videos.

The ``video`` column is a plain string, the video's path relative to the repo root (e.g.
``"videos/<id>.mp4"``), not a `datasets.Video` feature: loading (also streaming) then needs no
torchcodec, and `vidret.datasets.with_frames` decodes only the frames it needs with PyAV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidret.builders.config import BuildConfig, BuildError, BuildReport, UnsafeArchiveError

__all__ = [
    "BuildConfig",
    "BuildError",
    "BuildReport",
    "UnsafeArchiveError",
    "build",
    "get_builder",
]


def get_builder(benchmark: str) -> type:
    """The builder class of a registered benchmark (any name `vidret.benchmarks.get_benchmark` accepts).

    Raises:
        ValueError: unknown benchmark, or one that declares no builder.
    """
    from vidret.benchmarks import get_benchmark

    return get_benchmark(benchmark).builder_class()


def build(benchmark: str, raw: str | Path, out: str | Path, **options: Any) -> BuildReport:
    """Build a benchmark's Hub dataset repo folder from its raw release.

    Args:
        benchmark: a registered benchmark's id or alias (see `vidret benchmarks`).
        raw: the raw release folder.
        out: the repo folder to write.
        **options: `BuildConfig` fields (version, videos, allow_missing, ...).

    Returns:
        The build report.

    Raises:
        BuildError: bad raw input, naming the file and row.
        ValueError: unknown benchmark or option value.
    """
    return get_builder(benchmark)(raw, out, BuildConfig(**options)).build()


def __getattr__(name: str) -> Any:
    """A registered benchmark's builder class by its class name (``vidret.builders.<Class>``)."""
    if name.endswith("Builder"):  # anything else (e.g. a submodule being imported) is not a builder
        from vidret.benchmarks import registered

        for benchmark in registered().values():
            if benchmark.builder.rpartition(":")[2] == name:
                return benchmark.builder_class()
    raise AttributeError(f"module 'vidret.builders' has no attribute {name!r}")
