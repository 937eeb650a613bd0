"""The two benchmarks as data: their tasks, metrics and headline scores.

One source of truth for task ids: the builders write them into each dataset repo's
`eval.yaml`, the runner scores them, and `vidret submit` reports them. Nothing here imports
the rest of vidret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOVR = "lovr"
TF_COVR = "tf-covr"


@dataclass(frozen=True)
class TaskSpec:
    """One scored task of a benchmark.

    Attributes:
        task_id: stable id used in results JSON, eval.yaml and .eval_results (e.g. "t2v").
        name: human-readable name.
        config: dataset config the queries come from ("videos", "clips", "triplets").
        query: what a query is ("text", "video", "clip", "theme", "video+text").
        gallery: what is ranked ("video", "text", "clip", "theme").
        metrics: metric names reported, in display order.
        main_score: the headline metric of the task.
        optional: scored only when asked for (or when the data has what it needs).
    """

    task_id: str
    name: str
    config: str
    query: str
    gallery: str
    metrics: tuple[str, ...]
    main_score: str
    optional: bool = False


RETRIEVAL_METRICS = ("R@1", "R@5", "R@10", "R@50", "MdR", "MnR")
COMPOSED_METRICS = ("mAP@5", "mAP@10", "mAP@25", "mAP@50", "R@1", "R@5", "R@10", "R@50")


@dataclass(frozen=True)
class BenchmarkSpec:
    benchmark: str
    title: str
    default_repo: str  # our Hub dataset repo name under the configured org
    upstream_repo: str  # the official release on the Hub
    tasks: dict[str, TaskSpec] = field(default_factory=dict)

    def default_tasks(self) -> list[str]:
        return [t.task_id for t in self.tasks.values() if not t.optional]


BENCHMARKS: dict[str, BenchmarkSpec] = {
    LOVR: BenchmarkSpec(
        benchmark=LOVR,
        title="LoVR: long-video text retrieval",
        default_repo="lovr",
        upstream_repo="debugger123/LoVR-benchmark",
        tasks={
            "t2v": TaskSpec("t2v", "text-to-video", "videos", "text", "video", RETRIEVAL_METRICS, "R@1"),
            "v2t": TaskSpec("v2t", "video-to-text", "videos", "video", "text", RETRIEVAL_METRICS, "R@1"),
            "t2c": TaskSpec("t2c", "text-to-clip", "clips", "text", "clip", RETRIEVAL_METRICS, "R@1"),
            "c2t": TaskSpec("c2t", "clip-to-text", "clips", "clip", "text", RETRIEVAL_METRICS, "R@1"),
            "theme2c": TaskSpec(
                "theme2c", "theme-to-clip", "clips", "theme", "clip", RETRIEVAL_METRICS, "R@1", optional=True
            ),
            "c2theme": TaskSpec(
                "c2theme", "clip-to-theme", "clips", "clip", "theme", RETRIEVAL_METRICS, "R@1", optional=True
            ),
        },
    ),
    TF_COVR: BenchmarkSpec(
        benchmark=TF_COVR,
        title="TF-CoVR: temporally fine-grained composed video retrieval",
        default_repo="tf-covr",
        upstream_repo="ucf-crcv/TF-CoVR",
        tasks={
            "cvr": TaskSpec("cvr", "composed video retrieval", "triplets", "video+text", "video", COMPOSED_METRICS, "mAP@50"),
        },
    ),
}


def get_benchmark(name: str) -> BenchmarkSpec:
    """Look a benchmark up by name; accepts "tf-covr", "tf_covr" and "tfcovr"."""
    key = name.lower().replace("_", "-")
    if key == "tfcovr":
        key = TF_COVR
    if key not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}")
    return BENCHMARKS[key]
