"""Every metric vidret reports, declared once: family, cut-off, direction, bounds, scale, and the
per-query value it is a statistic of; and the two scoring kernels that compute them.

Validation's consistency checks, the leaderboard's sorting and plots, intervals, `vidret compare`
and the evaluate modules' default cut-offs read these declarations; nothing else parses a
metric's name. A metric name is ``<family>@<K>`` for cut-off families (``R@5``, ``mAP@50``) or
the family itself (``MdR``, ``MnR``). A per-query column of a results file is named the same
way after its per-query value (``AP@50``, ``hit@5``, ``rank``).

A new family is one `MetricFamily` entry in `FAMILIES`; validation and sorting follow its
declaration (direction, bounds, what it is a statistic of) without other edits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricFamily:
    """What every metric of one family shares.

    Attributes:
        family: the name's prefix ("R", "mAP", "MdR", "MnR").
        title: for people ("Recall", "mean Average Precision", ...).
        has_cutoff: named ``<family>@<K>``.
        higher_is_better: the direction of "better".
        percentage: reported x100 of a per-query value in [0, 1] (bounded by 100 unless a
            protocol counts repeated hits); False = a rank (>= 1, at most the gallery size + 1,
            the rank given to a miss).
        per_query: the per-query value it is a statistic of: "hit" (0/1: a relevant item in the
            top K), "AP" (average precision at K) or "rank" (first relevant rank).
        statistic: "mean" or "median" of the per-query values.
        grows_with_k: a larger cut-off can only raise it (Recall@K counts hits within the top K).
    """

    family: str
    title: str
    has_cutoff: bool
    higher_is_better: bool
    percentage: bool
    per_query: str
    statistic: str
    grows_with_k: bool = False


FAMILIES: dict[str, MetricFamily] = {
    f.family: f
    for f in (
        MetricFamily("R", "Recall", True, True, True, "hit", "mean", grows_with_k=True),
        MetricFamily("mAP", "mean Average Precision", True, True, True, "AP", "mean"),
        MetricFamily("MdR", "median rank", False, False, False, "rank", "median"),
        MetricFamily("MnR", "mean rank", False, False, False, "rank", "mean"),
    )
}

_NAME = re.compile(r"^([A-Za-z]+)(?:@(\d+))?$")


@dataclass(frozen=True)
class MetricSpec:
    """One reported metric (e.g. ``R@5``).

    Attributes:
        name: as reported ("R@5", "mAP@50", "MdR").
        family: its `MetricFamily`.
        k: the cut-off (None for families without one).
    """

    name: str
    family: MetricFamily
    k: int | None

    @property
    def higher_is_better(self) -> bool:
        return self.family.higher_is_better

    @property
    def percentage(self) -> bool:
        return self.family.percentage

    @property
    def scale(self) -> float:
        """Factor from the statistic of the per-query values to the reported number (100 or 1)."""
        return 100.0 if self.family.percentage else 1.0

    @property
    def is_share(self) -> bool:
        """A share of queries (x100): the mean of a 0/1 value per query, e.g. Recall@K."""
        return self.family.per_query == "hit" and self.family.statistic == "mean"

    @property
    def is_rank(self) -> bool:
        """A statistic of the queries' first relevant ranks (MdR, MnR)."""
        return self.family.per_query == "rank"

    @property
    def lower_bound(self) -> float:
        """Smallest possible value: 0 for a percentage, rank 1 for a rank."""
        return 0.0 if self.family.percentage else 1.0

    def upper_bound(self, gallery_size: int | None = None, bounded: bool = True) -> float | None:
        """Largest possible value: 100 for a bounded percentage; for a rank, gallery_size + 1
        (the rank a miss enters MdR/MnR with, see `vidret.scoring.retrieval`).

        Args:
            gallery_size: entries ranked (ranks only; None = unknown).
            bounded: the protocol keeps percentages in [0, 100] (`ProtocolSpec.bounded`).

        Returns:
            The bound, or None when there is none (an unbounded percentage, an unknown gallery).
        """
        if self.family.percentage:
            return 100.0 if bounded else None
        return None if gallery_size is None or gallery_size < 1 else float(gallery_size + 1)

    @property
    def per_query_column(self) -> str:
        """The composed kernel's per-query column it comes from: "hit@K", "AP@K" ("rank" for
        ranks). The retrieval kernel stores only "rank" and derives hit@K = rank <= K."""
        return self.family.per_query if self.k is None else f"{self.family.per_query}@{self.k}"

    @property
    def label(self) -> str:
        """For people: "Recall@5", "mean Average Precision@50", "median rank"."""
        return self.family.title if self.k is None else f"{self.family.title}@{self.k}"


def metric_spec(name: str) -> MetricSpec:
    """The declaration of the metric called `name`.

    Raises:
        ValueError: a name of no declared family, or a cut-off where the family has none (or
            the reverse), naming the families.
    """
    match = _NAME.match(name) if isinstance(name, str) else None
    family = FAMILIES.get(match.group(1)) if match else None
    k = int(match.group(2)) if match and match.group(2) is not None else None
    if family is None or family.has_cutoff != (k is not None) or (k is not None and k < 1):
        forms = ", ".join(f"{f.family}@K" if f.has_cutoff else f.family for f in FAMILIES.values())
        raise ValueError(f"unknown metric {name!r}; metrics are {forms} (K >= 1)")
    return MetricSpec(name, family, k)


def is_metric(name: str) -> bool:
    """Whether `name` is a declared metric."""
    try:
        metric_spec(name)
    except ValueError:
        return False
    return True


def cutoffs(names: Iterable[str], family: str) -> tuple[int, ...]:
    """The K of every metric of `family` among `names`, in their order (("R@1", "MdR", "R@5"), "R" → (1, 5))."""
    specs = (metric_spec(n) for n in names)
    return tuple(s.k for s in specs if s.family.family == family and s.k is not None)


def higher_is_better(name: str) -> bool:
    """`metric_spec(name).higher_is_better`."""
    return metric_spec(name).higher_is_better


# --------------------------------------------------------------------------- per-query columns


@dataclass(frozen=True)
class ColumnKind:
    """One kind of per-query value a results file stores (a column of ``per_query``).

    Attributes:
        kind: "rank", "AP" or "hit" (a `MetricFamily.per_query`).
        has_cutoff: stored once per cut-off, as ``<kind>@<K>``.
        integer: entries are whole numbers.
        nullable: an entry may be null ("rank": a miss).
        minimum: smallest entry.
        bounded_maximum: largest entry where the protocol keeps percentages bounded (None = none);
            where it does not (repeats counted), only `minimum` holds.
        meaning: for people, and the schema's description.
    """

    kind: str
    has_cutoff: bool
    integer: bool
    nullable: bool
    minimum: float
    bounded_maximum: float | None
    meaning: str

    def accepts(self, value: object, bounded: bool = True) -> bool:
        """Whether `value` is a valid entry of a column of this kind."""
        if value is None:
            return self.nullable
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if (self.integer and type(value) is not int) or (isinstance(value, float) and not math.isfinite(value)):
            return False
        if value < self.minimum:  # type: ignore[operator]
            return False
        return not (bounded and self.bounded_maximum is not None and value > self.bounded_maximum)  # type: ignore[operator]

    def describe(self, bounded: bool = True) -> str:
        """What an entry must be, e.g. "an integer >= 1 or null", "0 or 1"."""
        if self.integer and bounded and self.bounded_maximum == self.minimum + 1:
            return f"{self.minimum:g} or {self.bounded_maximum:g}"
        what = "an integer" if self.integer else "a finite number"
        if bounded and self.bounded_maximum is not None:
            return f"{what} from {self.minimum:g} to {self.bounded_maximum:g}" + (" or null" if self.nullable else "")
        return f"{what} >= {self.minimum:g}" + (" or null" if self.nullable else "")


COLUMN_KINDS: dict[str, ColumnKind] = {
    c.kind: c
    for c in (
        ColumnKind("rank", False, True, True, 1, None, "1-based rank of the first relevant item; null = a miss"),
        ColumnKind(
            "AP", True, False, False, 0, 1,
            "average precision at K, as a fraction (where repeats are counted it can pass 1)",
        ),
        ColumnKind(
            "hit", True, True, False, 0, 1,
            "1 when a valid target is in the top K, else 0 (where repeats are counted: copies of the target)",
        ),
    )
}
#: The per-query column naming the queries (not a value column).
QUERY_ID_COLUMN = "query_id"
#: The per-query column of each query's cluster id (not a value column), where the task declares
#: what its queries cluster on (`TaskSpec.cluster`, e.g. LoVR clips: their long video).
CLUSTER_COLUMN = "cluster"


def column_kind(key: str) -> tuple[ColumnKind, int | None] | None:
    """The kind and cut-off of the per-query column `key` ("AP@5" → (AP, 5), "rank" → (rank, None));
    None for a key that is no value column (e.g. "query_id")."""
    match = _NAME.match(key) if isinstance(key, str) else None
    kind = COLUMN_KINDS.get(match.group(1)) if match else None
    k = int(match.group(2)) if match and match.group(2) is not None else None
    if kind is None or kind.has_cutoff != (k is not None) or (k is not None and k < 1):
        return None
    return kind, k


def column_metric(key: str) -> str | None:
    """The metric a per-query column of the composed kernel feeds ("AP@5" → "mAP@5", "hit@5" →
    "R@5"); None for a column that feeds no cut-off metric."""
    found = column_kind(key)
    if found is None or found[1] is None:
        return None
    kind, k = found
    family = next((f for f in FAMILIES.values() if f.has_cutoff and f.per_query == kind.kind), None)
    return None if family is None else f"{family.family}@{k}"


# --------------------------------------------------------------------------- kernels


@dataclass(frozen=True)
class KernelSpec:
    """A scoring kernel of `vidret.scoring`: which metrics it reports and how it stores per-query data.

    Attributes:
        name: "retrieval" or "composed" (what a task declares as its `kernel`).
        title: for people.
        families: the metric families it reports.
        default_metrics: what it reports unless told otherwise (vidret's protocol); its default
            cut-offs are these metrics' K.
        stores_ranks: True: one "rank" column per task, every metric follows from it; False:
            one column per metric (``<per_query>@K``).
    """

    name: str
    title: str
    families: tuple[str, ...]
    default_metrics: tuple[str, ...]
    stores_ranks: bool

    def default_cutoffs(self, family: str) -> tuple[int, ...]:
        """The K of the default metrics of `family` ("R" → (1, 5, 10, 50))."""
        return cutoffs(self.default_metrics, family)

    def columns(self, metrics: Iterable[str]) -> tuple[str, ...]:
        """The per-query columns (besides "query_id") that hold `metrics`' per-query values."""
        if self.stores_ranks:
            return ("rank",)
        return tuple(dict.fromkeys(metric_spec(m).per_query_column for m in metrics))


KERNELS: dict[str, KernelSpec] = {
    k.name: k
    for k in (
        KernelSpec(
            "retrieval",
            "text-video retrieval: each query's first relevant rank",
            ("R", "MdR", "MnR"),
            ("R@1", "R@5", "R@10", "R@50", "MdR", "MnR"),
            stores_ranks=True,
        ),
        KernelSpec(
            "composed",
            "composed retrieval: AP@K and hits over each query's valid targets",
            ("mAP", "R"),
            ("mAP@5", "mAP@10", "mAP@25", "mAP@50", "R@1", "R@5", "R@10", "R@50"),
            stores_ranks=False,
        ),
    )
}


def kernel_spec(name: str) -> KernelSpec:
    """The declaration of the kernel called `name`.

    Raises:
        ValueError: an unknown kernel (the kernels are listed).
    """
    if name not in KERNELS:
        raise ValueError(f"unknown scoring kernel {name!r}; kernels are {sorted(KERNELS)}")
    return KERNELS[name]
