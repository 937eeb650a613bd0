"""Planning: a built dataset's rows → the `TaskPlan` (what to embed, what to rank, what is relevant).

- `tasks`: `TaskPlan`, `Task`, `Segment`, `EmbeddingRef` and the shared planning helpers.
- `dataset`: `load_plan` — load the configs a benchmark needs and ask its planner for the plan.
- `data_location`: where `--data` lives (a local folder or a Hub dataset repo).
- `composed_units`: native composed queries as embedding units.
- `video_check`: before a run, are the videos where the dataset says?
"""
