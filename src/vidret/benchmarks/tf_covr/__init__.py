"""TF-CoVR (temporally fine-grained composed video retrieval) as a vidret benchmark package.

- `spec`: the task and protocols; `columns`: the built configs' `datasets.Features`;
- `builder`: the raw release (``*_finegd.csv``; videos optional) -> a dataset repo;
- `planner`: built rows -> the task to score; `textnorm`: the official protocol's text
  preprocessing; `README.md.jinja`: the dataset card.

Upstream: https://huggingface.co/datasets/ucf-crcv/TF-CoVR (paper: arXiv 2506.05274; code:
github.com/UCF-CRCV/TF-CoVR).
"""

from __future__ import annotations

from vidret.benchmarks.base import Benchmark, Licence
from vidret.benchmarks.tf_covr.spec import OFFICIAL_TEXT_NORMALIZATION, PROTOCOLS, TASKS, TF_COVR, TFCOVR_OFFICIAL_METRICS

__all__ = ["BENCHMARK", "TF_COVR", "TFCOVR_OFFICIAL_METRICS"]

BENCHMARK = Benchmark(
    benchmark=TF_COVR,
    title="TF-CoVR: temporally fine-grained composed video retrieval",
    default_repo="tf-covr",
    upstream_repo="ucf-crcv/TF-CoVR",
    tasks=TASKS,
    protocols=PROTOCOLS,
    package=__name__,
    aliases=("tf_covr", "tfcovr"),
    licence=Licence(
        card_id="other",
        annotations="the terms of the upstream release",
        videos="TF-CoVR's videos come from FineGym and FineDiving, which the benchmark's authors may not redistribute",
    ),
    builder=f"{__name__}.builder:TFCoVRBuilder",
    planner=f"{__name__}.planner:plan",
    columns=f"{__name__}.columns:COLUMNS",
    text_normalizations={OFFICIAL_TEXT_NORMALIZATION: f"{__name__}.textnorm:tfcovr_official"},
)
