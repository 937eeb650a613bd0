"""LoVR (long-video text retrieval) as a vidret benchmark package.

- `spec`: tasks and protocols; `columns`: the built configs' `datasets.Features`;
- `builder`: the raw release (Hub or official layout, videos optional) -> a dataset repo;
- `planner`: built rows -> the tasks to score; `README.md.jinja`: the dataset card.

Upstream: https://huggingface.co/datasets/debugger123/LoVR-benchmark (paper: arXiv 2505.13928).
"""

from __future__ import annotations

from vidret.benchmarks.base import Benchmark, Licence
from vidret.benchmarks.lovr.spec import LOVR, LOVR_OFFICIAL_METRICS, PROTOCOLS, QUERY_CONFIGS, TASKS

__all__ = ["BENCHMARK", "LOVR", "LOVR_OFFICIAL_METRICS"]

BENCHMARK = Benchmark(
    benchmark=LOVR,
    title="LoVR: long-video text retrieval",
    default_repo="lovr",
    upstream_repo="debugger123/LoVR-benchmark",
    tasks=TASKS,
    protocols=PROTOCOLS,
    query_configs=QUERY_CONFIGS,
    package=__name__,
    licence=Licence(
        card_id="other",
        annotations="CC BY-NC-SA 4.0, the terms of the upstream release",
        videos="LoVR's videos are YouTube videos collected by LongVideoBench, which publishes an index only "
        "(gated, non-commercial use)",
    ),
    builder=f"{__name__}.builder:LoVRBuilder",
    planner=f"{__name__}.planner:plan",
    columns=f"{__name__}.columns:COLUMNS",
)
