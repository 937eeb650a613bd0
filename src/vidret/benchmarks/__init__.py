"""The benchmarks vidret knows: one package per benchmark, found through a registry.

Each benchmark is a `Benchmark` (spec, licence, builder, planner, column contract, card) declared
by its package: the built-ins `vidret.benchmarks.lovr` and `vidret.benchmarks.tf_covr`, and any
installed package registering one in the entry-point group `vidret.benchmarks`. Code outside the
benchmark packages asks `get_benchmark(name)` / `registered()` and never names a benchmark.

Public API:
    get_benchmark(name) -> Benchmark; get_protocol(benchmark, protocol) -> ProtocolSpec
    registered() -> {id: Benchmark}; get_normalizer(name)
    Benchmark, Licence, ColumnContract; BenchmarkSpec, ProtocolSpec, TaskSpec, TaskRules
    eval_yaml_tasks(spec, split); VIDRET_PROTOCOL, OFFICIAL_PROTOCOL, PROTOCOLS, RELEASE_SPLIT
    RETRIEVAL_METRICS, COMPOSED_METRICS

Importing this package imports no other part of vidret (it is a leaf every layer may use); a
benchmark's builder and planner are imported when first used.
"""

from __future__ import annotations

from typing import Any

from vidret.benchmarks.base import Benchmark, ColumnContract, Licence
from vidret.benchmarks.registry import get_benchmark, get_normalizer, get_protocol, registered
from vidret.benchmarks.spec import (
    COMPOSED_METRICS,
    OFFICIAL_PROTOCOL,
    PROTOCOLS,
    RELEASE_SPLIT,
    RETRIEVAL_METRICS,
    VIDRET_PROTOCOL,
    BenchmarkSpec,
    ProtocolSpec,
    TaskRules,
    TaskSpec,
    eval_yaml_tasks,
)

__all__ = [
    "Benchmark",
    "BenchmarkSpec",
    "COMPOSED_METRICS",
    "ColumnContract",
    "Licence",
    "OFFICIAL_PROTOCOL",
    "PROTOCOLS",
    "ProtocolSpec",
    "RELEASE_SPLIT",
    "RETRIEVAL_METRICS",
    "TaskRules",
    "TaskSpec",
    "VIDRET_PROTOCOL",
    "eval_yaml_tasks",
    "get_benchmark",
    "get_normalizer",
    "get_protocol",
    "registered",
]

def __getattr__(name: str) -> Any:
    if name == "BENCHMARKS":
        return registered()  # id -> Benchmark, built-ins first; read anew so plug-ins found later show
    raise AttributeError(f"module 'vidret.benchmarks' has no attribute {name!r}")
