"""Scoring kernels: rankings from scores/embeddings, composed mAP/recall, retrieval recall/ranks.

The math of both benchmarks lives here once; the evaluate modules (`metrics/`) and the
evaluation runner call these functions.
"""

from vidret.scoring.composed import composed_map
from vidret.scoring.ranking import first_relevant_ranks, rank_from_embeddings, rank_from_scores
from vidret.scoring.retrieval import retrieval_metrics

__all__ = [
    "composed_map",
    "first_relevant_ranks",
    "rank_from_embeddings",
    "rank_from_scores",
    "retrieval_metrics",
]
