"""What a benchmark is, as data: its tasks, metrics, headline scores and protocols.

The generic shapes every benchmark package fills in (`vidret.benchmarks.<name>.spec`). One
source of truth for task ids: the builders write them into each dataset repo's `eval.yaml`, the
runner scores them, and `vidret submit` reports them. Nothing here imports the rest of vidret but
the metric declarations (`vidret.scoring.metrics`, a leaf).

A protocol is data too. Each benchmark declares, per protocol, its tasks with their `TaskRules`:
which rows form the queries and the gallery, whether the gallery is deduplicated, how a query's
own video is kept out of its ranking, which metrics and cut-offs apply, and how query texts are
normalised. `vidret.evaluation.planning.tasks` derives the tasks from these rules; the runner and the
scoring kernels never branch on a protocol's name. Two protocols exist:

- ``vidret`` (the default): fixes what the official evaluation code gets wrong.
- ``official``: what each paper's evaluation code computes, to compare with the papers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from vidret.scoring.metrics import KERNELS, cutoffs  # the metric declarations: a leaf that imports nothing

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
        count_repeats: the composed kernel counts repeats: every copy of a gallery entry in the
            top K is a hit and a target list counts as written (`vidret.scoring.composed_map`).
        decimals: the kernel rounds each reported value to this many decimals (None = unrounded).
        recall: "any" (R@K counts a valid target in the top K) or "designated" (it counts the
            row's own `target_video`).
        text_normalization: name of a text normalisation (`vidret.benchmarks.get_normalizer`) applied to
            query texts before encoding; None = texts as written.
    """

    rows: str = "split"
    caption_queries: str | None = None
    identical_texts_relevant: bool = True
    themes: str = "distinct"
    gallery: str = "distinct"
    own_video: str = "exclude"
    count_repeats: bool = False
    decimals: int | None = None
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
        kernel: the `vidret.scoring` kernel that scores it (`vidret.scoring.metrics.KERNELS`):
            "retrieval" (first relevant ranks) or "composed" (AP@K and hits over valid targets).
        cluster: what its queries cluster on, named as the cluster ids are (e.g. "video_id": the
            clips of one long video share its difficulty, so they are not independent draws).
            The planner gives each query its cluster id (`Task.clusters`); intervals and paired
            tests then resample whole clusters (`vidret.scoring.bootstrap`). None = the queries
            are independent (each its own cluster).
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
    kernel: str = "retrieval"
    cluster: str | None = None

    def cutoffs(self, family: str) -> tuple[int, ...]:
        """The K of every ``<family>@K`` metric, in display order ("R" → (1, 5, 10, 50))."""
        return cutoffs(self.metrics, family)


RETRIEVAL_METRICS = KERNELS["retrieval"].default_metrics  # ("R@1", "R@5", "R@10", "R@50", "MdR", "MnR")
COMPOSED_METRICS = KERNELS["composed"].default_metrics  # mAP@5/10/25/50, R@1/5/10/50


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
        full_video: how that code embeds a full video, as a ``--long-video`` mode ("concat": all
            its clips' frames as one input); None = no construction of its own. It is an option,
            not forced: a run that embeds full videos otherwise is told so, and its results
            record the mode it used (``settings.long_video``).
    """

    name: str
    summary: str
    tasks: dict[str, TaskSpec]
    hub_suffix: str = ""
    bounded: bool = True
    reference: str | None = None
    full_video: str | None = None

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
        benchmark: the benchmark's id ("lovr", "tf-covr", a plug-in's own).
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

    @property
    def short_title(self) -> str:
        """The title before its colon ("LoVR"): for headings and messages."""
        return self.title.split(":")[0]

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


def official_variant(
    tasks: dict[str, TaskSpec], metrics: tuple[str, ...], main_score: str, rules: TaskRules, **per_task: TaskRules
) -> dict[str, TaskSpec]:
    """Another protocol's variant of `tasks`: same ids and names, that protocol's metrics and rules.

    Args:
        tasks: the tasks under the default protocol.
        metrics: the metrics every task reports under the other protocol.
        main_score: its headline metric.
        rules: the rules of every task not named in `per_task`.
        **per_task: task id -> its own rules.
    """
    return {
        task_id: replace(task, metrics=metrics, main_score=main_score, rules=per_task.get(task_id, rules))
        for task_id, task in tasks.items()
    }


#: The summary of the default protocol, the same for every benchmark.
VIDRET_SUMMARY = "vidret's protocol: the official code's defects fixed (the default)"


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
