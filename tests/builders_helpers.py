"""Shared helpers for the builder, dataset, sample and publish tests (not a conftest: plain imports)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def read_parquet(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def write_parquet(path: Path, rows: list[dict]) -> None:
    pq.write_table(pa.Table.from_pylist(rows), path)


def edit_parquet(path: Path, edit) -> None:
    """Rewrite a Parquet file with `edit(rows)` applied (edit returns the new rows)."""
    write_parquet(path, edit(read_parquet(path)))


def tar_gz(members: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A tar.gz with hand-made members (to forge unsafe archives)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            if isinstance(member, tuple):
                info, data = member
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(member)
    return buffer.getvalue()


def file_member(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def link_member(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def split_bytes(data: bytes, folder: Path, parts: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // parts)
    out = []
    for i in range(parts):
        p = folder / f"part_a{chr(97 + i)}"
        p.write_bytes(data[i * size : (i + 1) * size])
        out.append(p)
    return out


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every regular file under `folder` with its bytes (for determinism checks)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
