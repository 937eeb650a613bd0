"""The declaration vidret's registry loads: MSR-VTT 1k-A as one `vidret.benchmarks.Benchmark`.

Everything vidret needs to know about the benchmark is data here: its tasks and metrics, its two
protocols (the rules that form the queries and the gallery), its licence, and where the builder,
planner, column contract, sample release, oracle reader and card template live. The entry point
in ``pyproject.toml`` (group ``vidret.benchmarks``) names `BENCHMARK`.

This module imports nothing heavy: the registry imports it in every `vidret` command.
"""

from __future__ import annotations

from vidret.benchmarks import (
    OFFICIAL_PROTOCOL,
    VIDRET_PROTOCOL,
    Benchmark,
    Licence,
    ProtocolSpec,
    TaskRules,
    TaskSpec,
)
from vidret.benchmarks.spec import official_variant

MSRVTT1K = "msrvtt1k"
#: What papers report on MSR-VTT (and what both protocols here report).
METRICS = ("R@1", "R@5", "R@10", "MdR", "MnR")
#: The dataset config holding the 1k-A caption list (one sentence per video) and its raw file.
JSFUSION_CONFIG = "jsfusion"
JSFUSION_FILE = "MSRVTT_JSFUSION_test.csv"

# vidret's protocol: every one of a video's 20 captions is a query (t2v), and any of them is a hit
# (v2t); a caption written identically for two videos counts for both (they embed identically).
TASKS = {
    "t2v": TaskSpec("t2v", "text-to-video", "captions", "text", "video", METRICS, "R@1"),
    "v2t": TaskSpec("v2t", "video-to-text", "captions", "video", "text", METRICS, "R@1"),
}

# The 1k-A protocol most papers report (JSFusion's list): one sentence per video, 1,000 pairs both
# ways, a sentence relevant to its own video only. `caption_queries` names the config it reads.
_ONE_SENTENCE = TaskRules(caption_queries=JSFUSION_CONFIG, identical_texts_relevant=False)
OFFICIAL_TASKS = official_variant(TASKS, METRICS, "R@1", _ONE_SENTENCE)

PROTOCOLS = {
    VIDRET_PROTOCOL: ProtocolSpec(
        VIDRET_PROTOCOL, "every caption of every video (20 per video); identical captions relevant to each other", TASKS
    ),
    OFFICIAL_PROTOCOL: ProtocolSpec(
        OFFICIAL_PROTOCOL,
        "the 1k-A protocol papers report: JSFusion's one sentence per video, relevant to its own video only",
        OFFICIAL_TASKS,
        hub_suffix="_official",  # its scores get their own task ids on the Hub
        reference="JSFusion (Yu et al., ECCV 2018): MSRVTT_JSFUSION_test.csv",
    ),
}

BENCHMARK = Benchmark(
    benchmark=MSRVTT1K,
    title="MSR-VTT 1k-A: text-video retrieval",
    default_repo="msrvtt-1k-a",
    upstream_repo="friedrichor/MSR-VTT",  # a community copy of the annotations on the Hub (config test_1k)
    tasks=TASKS,
    protocols=PROTOCOLS,
    query_configs={JSFUSION_CONFIG: JSFUSION_FILE},
    package="vidret_msrvtt",  # where vidret finds `sample`, `oracle` and README.md.jinja
    aliases=("msrvtt-1k-a",),
    licence=Licence(
        card_id="other",
        annotations="research use only, under Microsoft Research's MSR-VTT terms",
        videos="MSR-VTT's videos are YouTube clips that Microsoft Research distributes for research use only; "
        "vidret does not re-host them",
    ),
    builder="vidret_msrvtt.builder:MsrvttBuilder",
    planner="vidret_msrvtt.planner:plan",
    columns="vidret_msrvtt.columns:COLUMNS",
)
