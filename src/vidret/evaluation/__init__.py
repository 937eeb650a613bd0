"""Evaluation, by concern (import what you need; nothing heavy is imported here):

- `vidret.evaluation.planning`: a built dataset's rows → `TaskPlan` (tasks, dataset loading,
  data location, text normalisation, native composed units, video checks).
- `vidret.evaluation.embeddings`: where embeddings come from (`EmbeddingSource`: the cache, the
  model, stored files) and `vidret embeddings export`.
- `vidret.evaluation.running`: `EvalSettings`, `evaluate(settings)`, scoring, processes, workers.
- `vidret.evaluation.results`: the results record, validation, intervals and comparisons, tables,
  provenance.
"""
