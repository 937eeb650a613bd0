"""The two benchmarks as data: their tasks, metrics, headline scores and protocols.

One source of truth for task ids: the builders write them into each dataset repo's
`eval.yaml`, the runner scores them, and `vidret submit` reports them. Nothing here imports
the rest of vidret.

A protocol is data too. Each benchmark declares, per protocol, its tasks with their `TaskRules`:
which rows form the queries and the gallery, whether the gallery is deduplicated, how a query's
own video is kept out of its ranking, which metrics and cut-offs apply, and how query texts are
normalised. `vidret.evaluation.planning.tasks` derives the tasks from these rules; the runner and the
scoring kernels never branch on a protocol's name. Two protocols exist:

- ``vidret`` (the default): fixes what the official evaluation code gets wrong.
- ``official``: what each paper's evaluation code computes, to compare with the papers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

LOVR = "lovr"
TF_COVR = "tf-covr"

VIDRET_PROTOCOL = "vidret"
OFFICIAL_PROTOCOL = "official"
PROTOCOLS = (VIDRET_PROTOCOL, OFFICIAL_PROTOCOL)
#: The split recorded for a run whose tasks read every split of the release.
RELEASE_SPLIT = "all"


@dataclass(frozen=True)
class TaskRules:
    """How one task forms its queries, gallery and relevance, and how its rankings are scored.

    Attributes:
        rows: "split" (the rows of the split asked for) or "release" (the rows of every split of
            the build, in the build's split order).
        caption_queries: dataset config whose rows are the caption queries (LoVR official
            t2c/c2t: "clip_queries", read at the split asked for); None = the captions of the
            task's own config.
        identical_texts_relevant: items whose captions are the same text count as relevant to
            each other (they embed identically, so they cannot be told apart); False = only the
            item's own caption counts.
        themes: "distinct" (one query per distinct theme text, relevant = every clip of that
            theme) or "per_clip" (one theme query per themed clip, relevant = that clip only).
        gallery: "distinct" (each gallery video once) or "per_row" (one entry per annotation
            row: a video named by n rows is ranked n times).
        own_video: what happens to a composed query's own video in its ranking: "exclude"
            (removed) or "push_down" (ranked after everything else, like a score − 100).
        kernel: the `vidret.scoring.composed_map` definition: "vidret" or "official".
        recall: "any" (R@K counts a valid target in the top K) or "designated" (it counts the
            row's own `target_video`).
        text_normalization: name of a `vidret.evaluation.planning.textnorm` normalisation applied to
            query texts before encoding; None = texts as written.
    """

    rows: str = "split"
    caption_queries: str | None = None
    identical_texts_relevant: bool = True
    themes: str = "distinct"
    gallery: str = "distinct"
    own_video: str = "exclude"
    kernel: str = VIDRET_PROTOCOL
    recall: str = "any"
    text_normalization: str | None = None

    def __post_init__(self) -> None:
        for name, allowed in _RULE_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TaskRules.{name} must be one of {allowed}, got {getattr(self, name)!r}")


_RULE_CHOICES: dict[str, tuple[object, ...]] = {
    "rows": ("split", "release"),
    "themes": ("distinct", "per_clip"),
    "gallery": ("distinct", "per_row"),
    "own_video": ("exclude", "push_down"),
    "kernel": PROTOCOLS,
    "recall": ("any", "designated"),
}


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
        rules: how the protocol forms and scores the task (see `TaskRules`).
    """

    task_id: str
    name: str
    config: str
    query: str
    gallery: str
    metrics: tuple[str, ...]
    main_score: str
    optional: bool = False
    rules: TaskRules = TaskRules()

    def cutoffs(self, family: str) -> tuple[int, ...]:
        """The K of every ``<family>@K`` metric, in display order ("R" → (1, 5, 10, 50))."""
        found = (re.fullmatch(rf"{re.escape(family)}@(\d+)", name) for name in self.metrics)
        return tuple(int(m.group(1)) for m in found if m)


RETRIEVAL_METRICS = ("R@1", "R@5", "R@10", "R@50", "MdR", "MnR")
COMPOSED_METRICS = ("mAP@5", "mAP@10", "mAP@25", "mAP@50", "R@1", "R@5", "R@10", "R@50")
# What the official scripts report: LoVR R@1/5/10 (pass@k); TF-CoVR mAP@K and R@K at 5/10/25/50.
LOVR_OFFICIAL_METRICS = ("R@1", "R@5", "R@10")
TFCOVR_OFFICIAL_METRICS = ("mAP@5", "mAP@10", "mAP@25", "mAP@50", "R@5", "R@10", "R@25", "R@50")


@dataclass(frozen=True)
class ProtocolSpec:
    """One way of scoring a benchmark.

    Attributes:
        name: "vidret" or "official" (recorded as ``settings.protocol`` in results).
        summary: one line saying what the protocol is.
        tasks: task id → its spec under this protocol (same ids in every protocol).
        hub_suffix: appended to task ids (and the `.eval_results` file name) on the Hub, so
            scores of different protocols are never mixed there ("" for the default).
        bounded: every percentage lies in [0, 100] (the official TF-CoVR numbers may exceed 100).
        reference: the code this protocol reproduces (None for ours).
    """

    name: str
    summary: str
    tasks: dict[str, TaskSpec]
    hub_suffix: str = ""
    bounded: bool = True
    reference: str | None = None

    def hub_task_id(self, task_id: str) -> str:
        """The task's id in `eval.yaml` and `.eval_results` (e.g. "t2v", "t2v_official")."""
        return f"{task_id}{self.hub_suffix}"

    def reads_release(self, task_ids: list[str] | tuple[str, ...]) -> bool:
        """True when one of `task_ids` ranks the rows of every split (`TaskRules.rows == "release"`)."""
        return any(self.tasks[t].rules.rows == "release" for t in task_ids)


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark: its tasks (under our protocol) and every protocol it can be scored with.

    Attributes:
        benchmark: "lovr" or "tf-covr".
        title: human-readable title.
        default_repo: our Hub dataset repo name under the configured org.
        upstream_repo: the official release on the Hub.
        tasks: task id → spec under the default ("vidret") protocol.
        protocols: protocol name → `ProtocolSpec` (the default one included).
        query_configs: optional dataset config → the raw release file it is built from (named
            in the error when a protocol needs the config and the build lacks it).
    """

    benchmark: str
    title: str
    default_repo: str  # our Hub dataset repo name under the configured org
    upstream_repo: str  # the official release on the Hub
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    protocols: dict[str, ProtocolSpec] = field(default_factory=dict)
    query_configs: dict[str, str] = field(default_factory=dict)

    def default_tasks(self) -> list[str]:
        return [t.task_id for t in self.tasks.values() if not t.optional]

    def protocol(self, name: str | None = None) -> ProtocolSpec:
        """The protocol called `name` (None = "vidret", as in results recorded before protocols).

        Raises:
            ValueError: an unknown protocol (the choices are listed).
        """
        key = VIDRET_PROTOCOL if name is None else name
        if key not in self.protocols:
            raise ValueError(f"unknown protocol {name!r} for {self.benchmark}; choose one of {list(self.protocols)}")
        return self.protocols[key]


def _official(
    tasks: dict[str, TaskSpec], metrics: tuple[str, ...], main_score: str, rules: TaskRules, **per_task: TaskRules
) -> dict[str, TaskSpec]:
    """The official variant of `tasks`: same ids and names, the official metrics and rules."""
    return {
        task_id: replace(task, metrics=metrics, main_score=main_score, rules=per_task.get(task_id, rules))
        for task_id, task in tasks.items()
    }


_LOVR_TASKS = {
    "t2v": TaskSpec("t2v", "text-to-video", "videos", "text", "video", RETRIEVAL_METRICS, "R@1"),
    "v2t": TaskSpec("v2t", "video-to-text", "videos", "video", "text", RETRIEVAL_METRICS, "R@1"),
    "t2c": TaskSpec("t2c", "text-to-clip", "clips", "text", "clip", RETRIEVAL_METRICS, "R@1"),
    "c2t": TaskSpec("c2t", "clip-to-text", "clips", "clip", "text", RETRIEVAL_METRICS, "R@1"),
    "theme2c": TaskSpec("theme2c", "theme-to-clip", "clips", "theme", "clip", RETRIEVAL_METRICS, "R@1", optional=True),
    "c2theme": TaskSpec("c2theme", "clip-to-theme", "clips", "clip", "theme", RETRIEVAL_METRICS, "R@1", optional=True),
}
_TFCOVR_TASKS = {
    "cvr": TaskSpec("cvr", "composed video retrieval", "triplets", "video+text", "video", COMPOSED_METRICS, "mAP@50"),
}

# LoVR official (TechNomad-ds/LoVR-benchmark, calc_pass): every full video and clip of the release;
# t2c/c2t use the clip-caption query list all_clip.jsonl; a caption is relevant to its own item only.
_LOVR_OFFICIAL_RULES = TaskRules(rows="release", identical_texts_relevant=False)
_LOVR_OFFICIAL = _official(
    _LOVR_TASKS,
    LOVR_OFFICIAL_METRICS,
    "R@1",
    _LOVR_OFFICIAL_RULES,
    t2c=replace(_LOVR_OFFICIAL_RULES, caption_queries="clip_queries"),
    c2t=replace(_LOVR_OFFICIAL_RULES, caption_queries="clip_queries"),
    theme2c=replace(_LOVR_OFFICIAL_RULES, themes="per_clip"),
    c2theme=replace(_LOVR_OFFICIAL_RULES, themes="per_clip"),
)
# TF-CoVR official (UCF-CRCV/TF-CoVR, test/*/circo.py + data/finegd_test.py).
_TFCOVR_OFFICIAL = _official(
    _TFCOVR_TASKS,
    TFCOVR_OFFICIAL_METRICS,
    "mAP@50",
    TaskRules(
        gallery="per_row",
        own_video="push_down",
        kernel=OFFICIAL_PROTOCOL,
        recall="designated",
        text_normalization="tf-covr-official",
    ),
)

_VIDRET_SUMMARY = "vidret's protocol: the official code's defects fixed (the default)"

BENCHMARKS: dict[str, BenchmarkSpec] = {
    LOVR: BenchmarkSpec(
        benchmark=LOVR,
        title="LoVR: long-video text retrieval",
        default_repo="lovr",
        upstream_repo="debugger123/LoVR-benchmark",
        tasks=_LOVR_TASKS,
        protocols={
            VIDRET_PROTOCOL: ProtocolSpec(VIDRET_PROTOCOL, _VIDRET_SUMMARY, _LOVR_TASKS),
            OFFICIAL_PROTOCOL: ProtocolSpec(
                OFFICIAL_PROTOCOL,
                "what LoVR's evaluation code computes: every video and clip of the release, "
                "the all_clip.jsonl caption queries, a caption relevant to its own item only",
                _LOVR_OFFICIAL,
                hub_suffix="_official",
                reference="https://github.com/TechNomad-ds/LoVR-benchmark (evaluate/, calc_pass)",
            ),
        },
        query_configs={"clip_queries": "caption_data/all_clip.jsonl"},
    ),
    TF_COVR: BenchmarkSpec(
        benchmark=TF_COVR,
        title="TF-CoVR: temporally fine-grained composed video retrieval",
        default_repo="tf-covr",
        upstream_repo="ucf-crcv/TF-CoVR",
        tasks=_TFCOVR_TASKS,
        protocols={
            VIDRET_PROTOCOL: ProtocolSpec(VIDRET_PROTOCOL, _VIDRET_SUMMARY, _TFCOVR_TASKS),
            OFFICIAL_PROTOCOL: ProtocolSpec(
                OFFICIAL_PROTOCOL,
                "what TF-CoVR's evaluation code computes: one gallery entry per test row, the query "
                "video pushed to the bottom, repeated hits counted, designated-target recall",
                _TFCOVR_OFFICIAL,
                hub_suffix="_official",
                bounded=False,
                reference="https://github.com/UCF-CRCV/TF-CoVR (src/test/*/circo.py, src/data/finegd_test.py)",
            ),
        },
    ),
}


def get_protocol(benchmark: str, protocol: str | None = None) -> ProtocolSpec:
    """`get_benchmark(benchmark).protocol(protocol)`; None = "vidret".

    Raises:
        ValueError: an unknown benchmark or protocol.
    """
    return get_benchmark(benchmark).protocol(protocol)


def eval_yaml_tasks(spec: BenchmarkSpec, split: str) -> list[dict[str, object]]:
    """The `eval.yaml` task entries of a benchmark: every task under every protocol.

    Each protocol's tasks get their own ids (`ProtocolSpec.hub_task_id`), so the Hub keeps the
    official scores apart from ours.

    Args:
        spec: the benchmark.
        split: the split the tasks are scored on (tasks whose rules read every split of the release
            name it too: it holds their queries, e.g. LoVR's clip_queries).

    Returns:
        One dict per (protocol, task), the default protocol first.
    """
    entries: list[dict[str, object]] = []
    for protocol in spec.protocols.values():
        for task in protocol.tasks.values():
            entries.append(
                {
                    "id": protocol.hub_task_id(task.task_id),
                    "name": task.name if not protocol.hub_suffix else f"{task.name} ({protocol.name} protocol)",
                    "config": task.config,
                    "split": split,
                    "query": task.query,
                    "gallery": task.gallery,
                    "metrics": list(task.metrics),
                    "main_score": task.main_score,
                    "optional": task.optional,
                    "protocol": protocol.name,
                }
            )
    return entries


def get_benchmark(name: str) -> BenchmarkSpec:
    """Look a benchmark up by name; accepts "tf-covr", "tf_covr" and "tfcovr"."""
    key = name.lower().replace("_", "-")
    if key == "tfcovr":
        key = TF_COVR
    if key not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}")
    return BENCHMARKS[key]
