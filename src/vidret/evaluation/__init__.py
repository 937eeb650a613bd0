"""Evaluation: benchmark tasks from the built datasets, embedding cache, runner, results.

Modules (import what you need; nothing heavy is imported here):

- `vidret.evaluation.tasks`: `TaskPlan` — queries, galleries, relevance, exclusions, segments.
- `vidret.evaluation.dataset`: `load_plan` — a built dataset repo's configs → `TaskPlan`.
- `vidret.evaluation.cache`: `EmbeddingCache` — resumable on-disk embeddings per settings.
- `vidret.evaluation.distributed`: sharding and id-carrying gathers across processes.
- `vidret.evaluation.sources`: `EmbeddingSource`, the one interface the runner asks for the
  embeddings of units (texts, videos, segments, composed queries), and `CacheSource`.
- `vidret.evaluation.embedding`: `ModelSource` — the model as a source: sharded, cached, decoding
  in DataLoader workers.
- `vidret.evaluation.stored`: `StoredSource` — exported embeddings and released files (`--embeddings`).
- `vidret.evaluation.export`: `export_embeddings` — a run's embeddings as a Hub dataset repo folder.
- `vidret.evaluation.score`: segments → videos, fused composed queries, rankings, metrics.
- `vidret.evaluation.provenance`: Hub commits and local fingerprints recorded in results.
- `vidret.evaluation.runner`: `EvalSettings`, `evaluate(settings)` — the pipeline.
- `vidret.evaluation.oracle`: the oracle adapter for the sample benchmarks.
- `vidret.evaluation.results`: `build_record`, `write_results` (checked by `validation`).
- `vidret.evaluation.validation`: schema + consistency checks of results files.
- `vidret.evaluation.report`: text tables; `vidret.evaluation.demo`: `run_demo`.
"""
