"""composed_map: CIRCO-style mAP@K and Recall@K for composed video retrieval (TF-CoVR).

The math is `vidret.scoring.composed_map`; this module only adapts it to `evaluate`. Its defaults
are TF-CoVR's declaration (`vidret.benchmarks`), the one `vidret evaluate` scores with: per
protocol, the task's cut-offs and its rules' kernel behaviour (repeats counted, rounding).
"""

import warnings

import datasets
import evaluate
from vidret.benchmarks import get_protocol
from vidret.scoring import composed_map

#: The benchmark task this module is the published metric of: its declaration gives the defaults.
DECLARED_BY = ("tf-covr", "cvr")


def declared_task(protocol="vidret"):
    """The `TaskSpec` of `DECLARED_BY` under `protocol` (its metrics, cut-offs and rules).

    Raises:
        ValueError: a protocol the benchmark does not declare (the choices are listed).
    """
    benchmark, task_id = DECLARED_BY
    return get_protocol(benchmark, protocol).tasks[task_id]


def _designated_targets(designated_targets, designated):
    """`designated_targets`, or the value given under its old name `designated` (with a warning).

    Raises:
        TypeError: both names given.
    """
    if designated is None:
        return designated_targets
    if designated_targets is not None:
        raise TypeError("pass designated_targets only: designated is its deprecated old name")
    warnings.warn(
        "composed_map: `designated` is deprecated, pass `designated_targets` (the same list)", DeprecationWarning, stacklevel=4
    )
    return designated

_DESCRIPTION = """
Mean average precision at K (mAP@K) and Recall@K for retrieval with several valid targets per
query, as used by the composed video retrieval benchmark TF-CoVR (and CIRCO before it):

    AP@K = (1 / min(|G|, K)) * sum_{i<=K} P(i) * rel(i)

G is the set of valid target ids of a query, rel(i) = 1 when the i-th ranked id is in G, P(i)
is the precision at rank i. mAP@K is the mean over queries; R@K is the share of queries with
at least one valid target in the top K. All values are percentages (x100). A target missing
from the ranking still counts in |G|; an empty ranking (a query that failed upstream) is a miss
and is counted in `num_failed`. An id may appear at most once per ranking, so AP <= 1.

`protocol="official"` computes what the TF-CoVR evaluation code computes instead: its gallery
holds one entry per annotation row, so a ranking may repeat an id and each copy is a hit; |G| is
the target list as written; R@K is the mean number of copies of each row's designated target
(`designated_targets`) in the top K. AP and R@K can then exceed 100. Values are rounded to 2 decimals.

The default cut-offs are the ones `vidret evaluate` reports for TF-CoVR under the protocol:
mAP@5/10/25/50 and R@1/5/10/50 (vidret), mAP@5/10/25/50 and R@5/10/25/50 (official).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `str`): ranked gallery ids per query, best first (at least
        max(K) ids, or all of them when the gallery is smaller). `[]` marks a failed query.
    references (`list` of `list` of `str`): the valid target ids of each query (non-empty).
    k_values (`tuple` of `int`, optional): cut-offs for mAP@K; defaults to the protocol's
        declared ones, `(5, 10, 25, 50)`.
    recall_k_values (`tuple` of `int`, optional): cut-offs for R@K; defaults to the protocol's
        declared ones: `(1, 5, 10, 50)` (vidret) or `(5, 10, 25, 50)` (official).
    protocol (`str`, defaults to `"vidret"`): `"vidret"` (targets form a set, each id at most once
        per ranking) or `"official"` (the TF-CoVR code: repeated ids counted, rounded to 2 decimals);
        the behaviour is what the protocol's rules declare for TF-CoVR.
    designated_targets (`list` of `str`, optional): one id per query (TF-CoVR's `target_video`),
        given to `compute` for all queries at once (also after `add_batch`). R@K is then about
        that id only. Required with `protocol="official"`. (`designated`, its old name, still
        works and warns.)
    intervals (`bool`, defaults to `False`): also return a percentile bootstrap interval of every
        metric, resampling the queries (`vidret.scoring.bootstrap`).
    num_resamples (`int`, defaults to `1000`): bootstrap resamples (with `intervals`).
    level (`float`, defaults to `0.95`): confidence level (with `intervals`).
    seed (`int`, defaults to `0`): bootstrap seed; the same inputs and seed give the same intervals.

Returns:
    `dict`: "mAP@K" and "R@K" for each cut-off (floats, 0-100; `"official"` may exceed 100),
    "num_queries" and "num_failed"; with `intervals=True` also "ci_low" and "ci_high" (metric
    name → bound) and "ci" (method, level, num_resamples, seed).

Examples:
    Valid targets a, b and c; a is ranked 2nd, b 5th, c is not retrieved:
    AP@5 = (1/2 + 2/5) / min(3, 5) = 0.30.

    >>> metric = evaluate.load("metrics/composed_map")
    >>> results = metric.compute(
    ...     predictions=[["x", "a", "y", "z", "b"]],
    ...     references=[["a", "b", "c"]],
    ...     k_values=(5,),
    ...     recall_k_values=(1, 5),
    ... )
    >>> print(results)
    {'mAP@5': 30.0, 'R@1': 0.0, 'R@5': 100.0, 'num_queries': 1, 'num_failed': 0}

    The official protocol: two annotation rows name target a, so the gallery holds it twice and
    both copies are hits: AP@5 = (1/1 + 2/2) / min(1, 5) = 2.0; the designated a is counted twice.

    >>> results = metric.compute(
    ...     predictions=[["a", "a", "x"]],
    ...     references=[["a"]],
    ...     k_values=(5,),
    ...     recall_k_values=(5,),
    ...     protocol="official",
    ...     designated_targets=["a"],
    ... )
    >>> print(results)
    {'mAP@5': 200.0, 'R@5': 200.0, 'num_queries': 1, 'num_failed': 0}

    Without cut-offs, the protocol's declared ones (official: R@5/10/25/50, as `vidret evaluate`):

    >>> results = metric.compute(predictions=[["a", "x"]], references=[["a"]], protocol="official", designated_targets=["a"])
    >>> [name for name in results if name.startswith("R@")]
    ['R@5', 'R@10', 'R@25', 'R@50']

    With intervals (here over three queries: wide, as three queries tell little):

    >>> results = metric.compute(
    ...     predictions=[["a", "x"], ["x", "b"], ["y", "x"]],
    ...     references=[["a"], ["b"], ["c"]],
    ...     k_values=(5,),
    ...     recall_k_values=(1,),
    ...     intervals=True,
    ...     seed=0,
    ... )
    >>> round(results["R@1"], 2), results["ci_low"]["R@1"] <= results["R@1"] <= results["ci_high"]["R@1"]
    (33.33, True)
    >>> results["ci"]["method"], results["ci"]["num_resamples"]
    ('percentile bootstrap over queries', 1000)
"""

_CITATION = """
@inproceedings{gupta2025tfcovr,
  title = {From Play to Replay: Composed Video Retrieval for Temporally Fine-Grained Videos},
  author = {Gupta, Animesh and Parmar, Jay and Dave, Ishan Rajendrakumar and Shah, Mubarak},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2025},
  eprint = {2506.05274},
  archivePrefix = {arXiv}
}
@inproceedings{baldrati2023circo,
  title = {Zero-Shot Composed Image Retrieval with Textual Inversion},
  author = {Baldrati, Alberto and Agnolucci, Lorenzo and Bertini, Marco and Del Bimbo, Alberto},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
  year = {2023},
  eprint = {2303.15247},
  archivePrefix = {arXiv}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ComposedMAP(evaluate.Metric):
    """mAP@K (CIRCO / TF-CoVR definition) and Recall@K over ranked id lists."""

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
            reference_urls=["https://arxiv.org/abs/2506.05274", "https://arxiv.org/abs/2303.15247"],
        )

    def _compute(
        self,
        predictions,
        references,
        k_values=None,
        recall_k_values=None,
        protocol="vidret",
        designated_targets=None,
        intervals=False,
        num_resamples=1000,
        level=0.95,
        seed=0,
        designated=None,
    ):
        designated_targets = _designated_targets(designated_targets, designated)
        # The protocol reaches the kernel as the behaviour its rules declare, never as a name.
        task = declared_task(protocol)
        if task.rules.count_repeats and designated_targets is None:
            raise ValueError(
                f"protocol={protocol!r} needs designated_targets: one id per query (TF-CoVR's target_video), "
                "passed to compute(); R@K counts the copies of that id in the top K"
            )
        return composed_map(
            predictions,
            references,
            k_values=task.cutoffs("mAP") if k_values is None else k_values,
            recall_k_values=task.cutoffs("R") if recall_k_values is None else recall_k_values,
            count_repeats=task.rules.count_repeats,
            decimals=task.rules.decimals,
            designated_targets=designated_targets,
            intervals=intervals,
            num_resamples=num_resamples,
            level=level,
            seed=seed,
        )
