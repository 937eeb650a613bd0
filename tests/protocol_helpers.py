"""A LoVR build with the official clip-caption queries (config `clip_queries`, contract 1 of the
helpers' notes: split `test`, columns clip_id, video_id, caption), made from a built sample repo.

Imported by the protocol tests (no conftest: module-scoped fixtures call it).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml


def add_clip_queries(repo: Path, every: int = 2) -> list[dict]:
    """Give a built LoVR repo a `clip_queries` config listing every `every`-th clip of the release.

    Like the official `all_clip.jsonl`, the list spans every split and holds only some clips.

    Returns:
        The query rows written.
    """
    clips = []
    for split in ("train", "test"):
        for path in sorted((repo / "data" / "clips").glob(f"{split}-*.parquet")):
            clips += pq.read_table(path).to_pylist()
    rows = [{"clip_id": c["clip_id"], "video_id": c["video_id"], "caption": c["caption"]} for c in clips[::every]]
    out = repo / "data" / "clip_queries" / "test-00000-of-00001.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out)
    card = (repo / "README.md").read_text(encoding="utf-8")
    _, header, body = card.split("---", 2)
    meta = yaml.safe_load(header)
    meta["configs"].append(
        {"config_name": "clip_queries", "data_files": [{"split": "test", "path": "data/clip_queries/test-*.parquet"}]}
    )
    meta.pop("dataset_info", None)  # stale sizes would be checked against the new config
    (repo / "README.md").write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---" + body, encoding="utf-8")
    return rows
