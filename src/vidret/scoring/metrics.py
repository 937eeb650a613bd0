"""Every metric vidret reports, declared once: family, cut-off, direction, bounds, scale, and the
per-query value it is a statistic of.

Validation's consistency checks, the leaderboard's sorting and plots, intervals, `vidret compare`
and the evaluate modules' default cut-offs read these declarations; nothing else parses a
metric's name. A metric name is ``<family>@<K>`` for cut-off families (``R@5``, ``mAP@50``) or
the family itself (``MdR``, ``MnR``).
"""

from __future__ import annotations

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
            protocol counts repeated hits); False = a rank (>= 1, at most the gallery size).
        per_query: the per-query value it is a statistic of: "hit" (0/1: a relevant item in the
            top K), "AP" (average precision at K) or "rank" (first relevant rank).
        statistic: "mean" or "median" of the per-query values.
    """

    family: str
    title: str
    has_cutoff: bool
    higher_is_better: bool
    percentage: bool
    per_query: str
    statistic: str


FAMILIES: dict[str, MetricFamily] = {
    f.family: f
    for f in (
        MetricFamily("R", "Recall", True, True, True, "hit", "mean"),
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
    def lower_bound(self) -> float:
        """Smallest possible value: 0 for a percentage, rank 1 for a rank."""
        return 0.0 if self.family.percentage else 1.0

    def upper_bound(self, gallery_size: int | None = None, bounded: bool = True) -> float | None:
        """Largest possible value: 100 for a bounded percentage, the gallery size for a rank.

        Args:
            gallery_size: entries ranked (ranks only; None = unknown).
            bounded: the protocol keeps percentages in [0, 100] (`ProtocolSpec.bounded`).
        """
        if self.family.percentage:
            return 100.0 if bounded else None
        return None if gallery_size is None else float(gallery_size)

    @property
    def per_query_column(self) -> str:
        """The per-query column it comes from: "hit@K", "AP@K" or "rank"."""
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
