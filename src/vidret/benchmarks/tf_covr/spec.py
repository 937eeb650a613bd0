"""TF-CoVR's task and protocols (composed video retrieval: query video + modification text -> video)."""

from __future__ import annotations

from vidret.benchmarks.spec import (
    COMPOSED_METRICS,
    OFFICIAL_PROTOCOL,
    VIDRET_PROTOCOL,
    VIDRET_SUMMARY,
    ProtocolSpec,
    TaskRules,
    TaskSpec,
    official_variant,
)

TF_COVR = "tf-covr"
# What the official scripts report: mAP@K and R@K at 5/10/25/50.
TFCOVR_OFFICIAL_METRICS = ("mAP@5", "mAP@10", "mAP@25", "mAP@50", "R@5", "R@10", "R@25", "R@50")
#: The name the official protocol gives its text normalisation (`vidret.benchmarks.tf_covr.textnorm`).
OFFICIAL_TEXT_NORMALIZATION = "tf-covr-official"

TASKS = {
    # Triplets that share a query video share its difficulty: they cluster on it.
    "cvr": TaskSpec(
        "cvr", "composed video retrieval", "triplets", "video+text", "video", COMPOSED_METRICS, "mAP@50",
        kernel="composed", cluster="query_video",
    ),
}

# Official (UCF-CRCV/TF-CoVR, test/*/circo.py + data/finegd_test.py).
OFFICIAL_TASKS = official_variant(
    TASKS,
    TFCOVR_OFFICIAL_METRICS,
    "mAP@50",
    TaskRules(
        gallery="per_row",
        own_video="push_down",
        count_repeats=True,  # every copy of a repeated entry is a hit; target lists count as written
        decimals=2,  # round(mean * 100, 2), as that code reports
        recall="designated",
        text_normalization=OFFICIAL_TEXT_NORMALIZATION,
    ),
)

PROTOCOLS = {
    VIDRET_PROTOCOL: ProtocolSpec(VIDRET_PROTOCOL, VIDRET_SUMMARY, TASKS),
    OFFICIAL_PROTOCOL: ProtocolSpec(
        OFFICIAL_PROTOCOL,
        "what TF-CoVR's evaluation code computes: one gallery entry per test row, the query "
        "video pushed to the bottom, repeated hits counted, designated-target recall",
        OFFICIAL_TASKS,
        hub_suffix="_official",
        bounded=False,
        reference="https://github.com/UCF-CRCV/TF-CoVR (src/test/*/circo.py, src/data/finegd_test.py)",
    ),
}
