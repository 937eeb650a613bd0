"""Native composed queries as embedding units of their own (`--fusion native`).

With a late fusion, a composed query (TF-CoVR: query video + modification text) is combined
from the query video's and the text's embeddings at scoring time. With `native`, the model
embeds the pair as ONE input (`EmbeddingAdapter.encode_composed(..., fusion="native")`), so each
distinct pair is an `EmbeddingUnit` of kind "composed" whose key (the cache id) is made of its
video segment id and its text id. The sources answer it like any other unit: the cache, the
model (`ModelSource` decodes its video like a segment and embeds it with its text), or stored
embeddings (`--embeddings composed=...`). A query whose unit no source answered counts as a miss.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidret.evaluation.embeddings.sources import EmbeddingUnit, composed_name
from vidret.evaluation.planning.tasks import TaskPlan

COMPOSED_KIND = "composed"


def composed_unit_key(segment_id: str, text_id: str) -> str:
    """Cache / gather id of a native composed query: its video segment id and its text id."""
    return f"cmp:{segment_id}|{text_id}"


@dataclass(frozen=True)
class ComposedUnits:
    """The plan's native composed-query units.

    Attributes:
        units: one unit per distinct (query video, text) pair, in query order.
        by_pair: (visual id, text id) -> unit key, for scoring.
    """

    units: list[EmbeddingUnit]
    by_pair: dict[tuple[str, str], str]

    def rows(self, embeddings: dict[str, "object"]) -> dict[tuple[str, str], "object"]:
        """(visual id, text id) -> row, for the units that got one (see `score_task`'s `composed`)."""
        return {pair: embeddings[key] for pair, key in self.by_pair.items() if key in embeddings}


def composed_units(plan: TaskPlan) -> ComposedUnits:
    """The distinct (query video, text) pairs of the plan's composed queries, in query order.

    Raises:
        ValueError: a composed query whose video is made of several segments (a long video
            aggregated from windows or clips cannot be fed to the model as one input).
    """
    by_id = {s.item_id: s for s in plan.segments}
    units: list[EmbeddingUnit] = []
    by_pair: dict[tuple[str, str], str] = {}
    seen: set[str] = set()
    for task in plan.tasks:
        for query_id, ref in zip(task.query_ids, task.queries):
            if ref.kind != COMPOSED_KIND or (ref.visual, ref.text) in by_pair:
                continue
            seg_ids = plan.visuals[ref.visual]
            if len(seg_ids) != 1:
                raise ValueError(
                    f"query {query_id!r}: --fusion native needs its video {ref.visual!r} as one span, but it is made of "
                    f"{len(seg_ids)} segments; use a late fusion (e.g. --fusion avg)"
                )
            seg = by_id[seg_ids[0]]
            key = composed_unit_key(seg.item_id, ref.text)
            by_pair[(ref.visual, ref.text)] = key
            if key not in seen:
                seen.add(key)
                units.append(EmbeddingUnit(COMPOSED_KIND, key, composed_name(seg.name, ref.text), text=plan.texts[ref.text], segment=seg))
    return ComposedUnits(units, by_pair)
