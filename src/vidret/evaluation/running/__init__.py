"""Running an evaluation: the pipeline and its processes.

- `runner`: `EvalSettings`, `evaluate(settings)` — dataset → plan → embeddings → scores → record.
- `score`: segments → videos, fused composed queries, rankings, metrics (main process).
- `distributed`: sharding and id-carrying gathers across processes.
- `workers`: DataLoader decode workers that exit with their parent.
"""
