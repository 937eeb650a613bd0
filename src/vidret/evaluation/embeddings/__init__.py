"""Embedding sources: everything the runner asks for embeddings.

- `sources`: `EmbeddingSource`, `EmbeddingUnit`, `fetch`, `CacheSource` — the one interface.
- `cache`: `EmbeddingCache` — resumable on-disk embeddings per settings.
- `model`: `ModelSource` — the model: sharded, cached, decoding in DataLoader workers.
- `stored`: `StoredSource` — exported embeddings and released files (`--embeddings`).
- `export`: `export_embeddings` — a run's embeddings as a Hub dataset repo folder.
"""
