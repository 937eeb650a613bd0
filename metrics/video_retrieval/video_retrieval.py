"""video_retrieval: Recall@K, median rank and mean rank for text-video retrieval (LoVR).

The math is `vidret.scoring.retrieval_metrics`; this module only adapts it to `evaluate`. Its
default cut-offs are LoVR's declaration (`vidret.benchmarks`) under the chosen protocol, the ones
`vidret evaluate` reports.
"""

import datasets
import evaluate
from vidret.benchmarks import get_protocol
from vidret.scoring import retrieval_metrics

#: The benchmark task this module is the published metric of (every LoVR task declares the same
#: metrics): its declaration gives the defaults.
DECLARED_BY = ("lovr", "t2v")


def declared_task(protocol="vidret"):
    """The `TaskSpec` of `DECLARED_BY` under `protocol` (its metrics and cut-offs).

    Raises:
        ValueError: a protocol the benchmark does not declare (the choices are listed).
    """
    benchmark, task_id = DECLARED_BY
    return get_protocol(benchmark, protocol).tasks[task_id]

_DESCRIPTION = """
Recall@K, median rank (MdR) and mean rank (MnR) for text-to-video, video-to-text, text-to-clip
and clip-to-text retrieval (LoVR), where a query may have several relevant gallery items.

A query's rank is the 1-based position of its best-ranked relevant item. R@K is the share of
queries with rank <= K (x100). MdR/MnR are the median/mean rank: they need complete rankings
(every gallery item ranked); with truncated rankings they are returned as None unless every
query has a hit in its list. An empty ranking is a query that failed upstream: a miss, counted
in `num_failed`, and ranked `gallery_size + 1` in MdR/MnR (so `gallery_size` is then required).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `str`): ranked gallery ids per query, best first, each id
        at most once; the complete ranking for exact MdR/MnR. `[]` marks a failed query.
    references (`list` of `list` of `str`): the relevant gallery ids of each query (non-empty).
    k_values (`tuple` of `int`, optional): cut-offs for R@K; defaults to the protocol's declared
        ones: `(1, 5, 10, 50)` (vidret) or `(1, 5, 10)` (official, as LoVR's scripts report).
    protocol (`str`, defaults to `"vidret"`): whose cut-offs are the default: `"vidret"` or
        `"official"` (LoVR's official rules change which queries and gallery items a run ranks,
        not this arithmetic).
    gallery_size (`int`, optional): number of rankable gallery items; required when a query
        failed, and marks a ranking of that length as complete.
    intervals (`bool`, defaults to `False`): also return a percentile bootstrap interval of every
        metric, resampling the queries (`vidret.scoring.bootstrap`); MdR/MnR get none when some
        rank is unknown.
    num_resamples (`int`, defaults to `1000`): bootstrap resamples (with `intervals`).
    level (`float`, defaults to `0.95`): confidence level (with `intervals`).
    seed (`int`, defaults to `0`): bootstrap seed; the same inputs and seed give the same intervals.

Returns:
    `dict`: "R@K" for each cut-off (floats, 0-100), "MdR" and "MnR" (floats, or None when some
    rank is unknown), "num_queries" and "num_failed"; with `intervals=True` also "ci_low" and
    "ci_high" (metric name → bound) and "ci" (method, level, num_resamples, seed).

Examples:
    Three queries over a gallery of three videos; the relevant video is ranked 1st, 3rd and 2nd:
    R@1 = 1/3, R@2 = 2/3, MdR = 2, MnR = (1 + 3 + 2) / 3 = 2.

    >>> metric = evaluate.load("metrics/video_retrieval")
    >>> results = metric.compute(
    ...     predictions=[["v1", "v2", "v3"], ["v1", "v3", "v2"], ["v1", "v3", "v2"]],
    ...     references=[["v1"], ["v2"], ["v3"]],
    ...     k_values=(1, 2),
    ...     gallery_size=3,
    ... )
    >>> print(results)
    {'R@1': 33.33333333333333, 'R@2': 66.66666666666666, 'MdR': 2.0, 'MnR': 2.0, 'num_queries': 3, 'num_failed': 0}

    The same with intervals (wide: three queries tell little):

    >>> results = metric.compute(
    ...     predictions=[["v1", "v2", "v3"], ["v1", "v3", "v2"], ["v1", "v3", "v2"]],
    ...     references=[["v1"], ["v2"], ["v3"]],
    ...     k_values=(1, 2),
    ...     gallery_size=3,
    ...     intervals=True,
    ... )
    >>> sorted(results["ci_low"]) == ["MdR", "MnR", "R@1", "R@2"]
    True
    >>> results["ci_low"]["MnR"] <= results["MnR"] <= results["ci_high"]["MnR"]
    True
"""

_CITATION = """
@article{lovr2025,
  title = {LoVR: A Benchmark for Long Video Retrieval in Multimodal Contexts},
  journal = {arXiv preprint arXiv:2505.13928},
  year = {2025},
  eprint = {2505.13928},
  archivePrefix = {arXiv}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class VideoRetrieval(evaluate.Metric):
    """Recall@K, MdR and MnR over ranked id lists with several relevant items per query."""

    def _info(self):
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
            reference_urls=["https://arxiv.org/abs/2505.13928"],
        )

    def _compute(
        self,
        predictions,
        references,
        k_values=None,
        gallery_size=None,
        protocol="vidret",
        intervals=False,
        num_resamples=1000,
        level=0.95,
        seed=0,
    ):
        return retrieval_metrics(
            rankings=predictions,
            relevant=references,
            k_values=declared_task(protocol).cutoffs("R") if k_values is None else k_values,
            gallery_size=gallery_size,
            intervals=intervals,
            num_resamples=num_resamples,
            level=level,
            seed=seed,
        )
