"""Scoring kernels: rankings from scores/embeddings, composed mAP/recall, retrieval recall/ranks.

The math of both kernels lives here once; the evaluate modules (`metrics/`) and the evaluation
runner call these functions. `vidret.scoring.metrics` declares every metric and kernel; it
imports nothing, so the declarations are cheap to read (the kernels below load numpy when first
used).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "composed_map",
    "first_relevant_ranks",
    "rank_from_embeddings",
    "rank_from_scores",
    "retrieval_metrics",
]

_HOMES = {
    "composed_map": "vidret.scoring.composed",
    "first_relevant_ranks": "vidret.scoring.ranking",
    "rank_from_embeddings": "vidret.scoring.ranking",
    "rank_from_scores": "vidret.scoring.ranking",
    "retrieval_metrics": "vidret.scoring.retrieval",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'vidret.scoring' has no attribute {name!r}")
