"""The dataset card (README.md) of an export: the YAML header the Hub and `datasets` read, then the
facts of the run that made the embeddings (benchmark, dataset and model revisions, every setting)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vidret.evaluation.embeddings.export_read import DATA_DIR


def render_card(
    metadata: Mapping[str, Any], features: list[dict[str, Any]], num_rows: int, num_bytes: int, failed: Sequence[str]
) -> str:
    """The dataset card of an export: YAML header the Hub and `datasets` read, then the run's facts."""
    import yaml

    from vidret.benchmarks import get_benchmark

    split = metadata["split"]
    model = metadata.get("model") or {}
    dataset = metadata.get("dataset") or {}
    settings = metadata.get("settings") or {}
    title = get_benchmark(metadata["benchmark"]).title
    header = {
        "pretty_name": f"{model.get('id')} embeddings of {title} ({split})",
        "tags": ["embeddings", "vidret", "video-text-retrieval"],
        "version": metadata["version"],
        "configs": [{"config_name": "default", "data_files": [{"split": split, "path": f"{DATA_DIR}/{split}-*.parquet"}]}],
        "dataset_info": [
            {
                "config_name": "default",
                "features": features,
                "splits": [{"name": split, "num_bytes": int(num_bytes), "num_examples": int(num_rows)}],
            }
        ],
    }
    counts = ", ".join(f"{n} {kind}" for kind, n in (metadata.get("num_rows") or {}).items() if n)
    facts = [
        ("benchmark", f"{metadata['benchmark']} ({metadata.get('config')}), split {split}"),
        ("dataset", f"{dataset.get('repo')} at revision {dataset.get('revision')} (commit {dataset.get('commit')})"),
        ("model", f"{model.get('id')} at revision {model.get('revision')} (commit {model.get('commit')}, fingerprint {model.get('fingerprint')})"),
        ("adapter preset", f"{model.get('adapter')} ({model.get('adapter_class')})"),
        ("embeddings", f"{counts}; {metadata['dim']}-d {metadata['dtype']}"),
    ]
    for side, origin in (metadata.get("not_included") or {}).items():
        where = origin.get("repo") or origin.get("path")
        facts.append((f"{side} (not included)", f"the run read them from {origin.get('source')} {where} (sha256 {origin.get('sha256') or origin.get('manifest_sha256')})"))
    if model.get("random_weights"):
        facts.append(("note", "a locally built random-weight model: these embeddings are meaningless"))
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120).rstrip("\n"),
        "---",
        "",
        f"# Embeddings: {model.get('id')} on {title}",
        "",
        "Written by `vidret embeddings export` from the embedding cache of one `vidret evaluate` run.",
        "Score them without a model or a single video:",
        "",
        "```bash",
        f"vidret evaluate --benchmark {metadata['benchmark']} --data {dataset.get('repo')} --split {split} --embeddings <this repo or folder>",
        "```",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts],
        "",
        "Every setting of the run (those that change embeddings: frames, resolution, preprocessing,",
        "pooling, text length, dtype, decoding) as recorded in its results:",
        "",
        "```json",
        json.dumps(settings, indent=2, sort_keys=True),
        "```",
        "",
        "Columns: `id` (as the dataset names the item; texts by content id `text:<sha1>`), `kind`",
        "(text, video, segment, composed), `embedding`, `text` (text rows), `truncated` (text rows: the",
        "model cut the text to its maximum length). `embeddings.json` holds these facts machine-readably.",
    ]
    if failed:
        lines += ["", f"{len(failed)} item(s) failed in the run and have no embedding: " + ", ".join(f"`{f}`" for f in failed[:20])]
    return "\n".join(lines) + "\n"
