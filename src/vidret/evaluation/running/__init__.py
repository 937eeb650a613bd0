"""Running an evaluation: the pipeline and its processes.

- `runner`: `evaluate(settings)` — dataset → plan → embeddings → scores → record.
- `settings`: `EvalSettings` (everything `vidret evaluate` accepts) and its checks.
- `sources_setup`: the model's source chain (adapter, cache, model) and the stored sources.
- `run_record`: the model and settings a results record names.
- `score`: segments → videos, fused composed queries, rankings, metrics (main process).
- `distributed`: sharding, id-carrying gathers and the same-plan check across processes.
- `workers`: DataLoader decode workers that exit with their parent.
"""
