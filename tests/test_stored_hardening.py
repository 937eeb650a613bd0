"""Stored embeddings under attack: corrupt files, links out, bombs, deep JSON, hostile names, fuzzing.

Every failure must be one `EmbeddingSourceError` line naming the file (never a traceback), and
sizes are checked from the container's own metadata before anything is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidret.evaluation.embeddings.export import FORMAT, FORMAT_VERSION, MANIFEST_FILE, METADATA_FILE, write_export
from vidret.evaluation.embeddings.sources import EmbeddingUnit, Progress
from vidret.evaluation.embeddings.stored import EmbeddingSourceError, StoredLimits, StoredSources, to_vector
from vidret.evaluation.embeddings.stored_limits import LIMITS_ENV
from vidret.evaluation.running.distributed import ProcessInfo

ONE = ProcessInfo(rank=0, world_size=1, device="cpu")
IDS = [f"clip_{i:02d}" for i in range(6)]
DIM = 8
DEEP = "[" * 100_000 + "]" * 100_000


def units(ids=IDS):
    return [EmbeddingUnit("video", f"key:{i}", i) for i in ids]


def rows_of(src, limits=None, ids=IDS):
    sources = StoredSources({"videos": str(src)}, allow_pickle=False, convert_dir=None, pool=None, limits=limits)
    return sources.sources["videos"].embeddings(units(ids), ONE, Progress(None))


def vectors(n=len(IDS), dim=DIM):
    return np.arange(1, n * dim + 1, dtype=np.float32).reshape(n, dim)


def refused(src, match, limits=None, ids=IDS):
    """The source is refused with one line that names `src`'s folder and matches `match`."""
    with pytest.raises(EmbeddingSourceError, match=match) as err:
        rows_of(src, limits, ids)
    message = str(err.value)
    assert "\n" not in message and str(Path(src).parent) in message
    return message


# ---- writers of valid sources --------------------------------------------------------------------
def write_torch_dict(path):
    torch.save({i: torch.from_numpy(v.copy()) for i, v in zip(IDS, vectors())}, path)
    return path


def write_pth_folder(folder):
    folder.mkdir()
    for i, v in zip(IDS, vectors()):
        torch.save(torch.from_numpy(v.copy()), folder / f"{i}.pth")
    return folder


def write_npy(path, ids_suffix=".ids.txt"):
    np.save(path, vectors())
    ids = path.with_name(path.stem + ids_suffix)
    ids.write_text(json.dumps(IDS) if ids_suffix.endswith("json") else "\n".join(IDS) + "\n")
    return path


def write_safetensors(path):
    from safetensors.torch import save_file

    save_file({i: torch.from_numpy(v.copy()) for i, v in zip(IDS, vectors())}, str(path))
    return path


def write_export_folder(out, n=len(IDS), ids=None):
    ids = ids or [IDS[k] if k < len(IDS) else f"other_{k}" for k in range(n)]
    rows = [(EmbeddingUnit("video", f"key:{i}", i), v, False) for i, v in zip(ids, vectors(n))]
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "version": "1.0.0", "benchmark": "tf-covr", "config": "default",
        "split": "test", "tasks": ["cvr"], "dataset": {}, "model": {"id": "m"}, "settings": {}, "dim": DIM,
        "dtype": "float32", "num_rows": {"video": n}, "failures": [], "source_metrics": {}, "not_included": {},
    }
    write_export(out, rows, metadata)
    return out


def rehash(export, rel):
    """Make `export`'s manifest agree with the (altered) file `rel`, as a hostile export would."""
    manifest = json.loads((export / MANIFEST_FILE).read_text())
    path = export / rel
    manifest["outputs"][rel] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size}
    (export / MANIFEST_FILE).write_text(json.dumps(manifest))


def deflate(src, dst):
    """A copy of a torch zip with every entry deflated (torch.save never writes that)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    return dst


def test_valid_sources_still_read(tmp_path):
    expected = dict(zip(IDS, vectors()))
    for src in (
        write_torch_dict(tmp_path / "d.pth"), write_pth_folder(tmp_path / "f"), write_npy(tmp_path / "a.npy"),
        write_safetensors(tmp_path / "s.safetensors"), write_export_folder(tmp_path / "e"),
    ):
        rows = rows_of(src)
        assert {k.removeprefix("key:"): v.tolist() for k, v in rows.items()} == {k: v.tolist() for k, v in expected.items()}


# ---- item 2: corrupt files end in one line naming the file ---------------------------------------
def test_corrupt_files_are_named_in_one_line(tmp_path):
    tiny = tmp_path / "tiny.pth"
    tiny.write_bytes(b"\x80\x02Q.")  # used to end in IndexError: pop from empty list
    refused(tiny, r"tiny.pth: not a readable torch file")
    folder = write_pth_folder(tmp_path / "AIM")
    (folder / f"{IDS[0]}.pth").write_bytes(b"\x80\x02Q.")
    refused(folder, rf"{IDS[0]}.pth: not a readable torch file")
    renamed = tmp_path / "renamed.npy"  # used to end in AttributeError: 'NpzFile' object has no attribute 'ndim'
    np.savez(tmp_path / "x.npz", a=vectors())
    (tmp_path / "x.npz").rename(renamed)
    (tmp_path / "renamed.ids.txt").write_text("\n".join(IDS))
    refused(renamed, r"renamed.npy: not a .npy file \(a zip: a .npz renamed .npy")
    header = write_npy(tmp_path / "header.npy")
    data = bytearray(header.read_bytes())
    data[10:20] = b"(('descr'("  # an unclosed bracket: used to end in tokenize.TokenError
    header.write_bytes(bytes(data))
    refused(header, r"header.npy: not a readable .npy header")
    short = write_npy(tmp_path / "short.npy")
    short.write_bytes(short.read_bytes()[:-5])
    refused(short, r"short.npy: its header says shape \(6, 8\) of float32 \(192 bytes\) but the file holds 187")
    deep = write_npy(tmp_path / "deep.npy", ".ids.json")
    (tmp_path / "deep.ids.json").write_text(DEEP)  # used to end in RecursionError
    refused(deep, r"deep.ids.json: nested too deeply to be a JSON list of ids")
    latin = write_npy(tmp_path / "latin.npy")
    (tmp_path / "latin.ids.txt").write_bytes(b"caf\xe9\n")
    refused(latin, r"latin.ids.txt: not UTF-8 text")
    safetensors = write_safetensors(tmp_path / "s.safetensors")
    safetensors.write_bytes(safetensors.read_bytes()[:40])
    refused(safetensors, r"s.safetensors: not a readable safetensors file")


@pytest.mark.parametrize("name", [METADATA_FILE, MANIFEST_FILE])
def test_an_export_nested_too_deep_is_named(tmp_path, name):
    export = write_export_folder(tmp_path / "e")
    (export / name).write_text(DEEP)
    refused(export, rf"{name}: nested too deeply to be export (metadata|manifest)")


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    folder = write_pth_folder(tmp_path / "AIM")
    outside = tmp_path / "outside.pth"
    torch.save(torch.ones(DIM), outside)
    (folder / f"{IDS[0]}.pth").unlink()
    (folder / f"{IDS[0]}.pth").symlink_to("/etc/passwd")  # used to end in IndexError
    refused(folder, rf"{IDS[0]}.pth: a link to /etc/passwd, outside .*AIM: refused")
    (folder / f"{IDS[0]}.pth").unlink()
    (folder / f"{IDS[0]}.pth").symlink_to(outside)
    refused(folder, r"outside.pth, outside .*AIM: refused")
    (folder / f"{IDS[0]}.pth").unlink()
    torch.save(torch.ones(DIM), folder / "real.bin")
    (folder / f"{IDS[0]}.pth").symlink_to(folder / "real.bin")  # a link inside the folder is fine
    assert len(rows_of(folder)) == len(IDS)
    npy = write_npy(tmp_path / "a.npy")
    (tmp_path / "a.ids.txt").unlink()
    (tmp_path / "a.ids.txt").symlink_to("/etc/passwd")
    with pytest.raises(EmbeddingSourceError, match=r"a.ids.txt: a link to /etc/passwd, outside"):
        rows_of(npy)


def test_a_hub_cache_snapshot_of_links_is_read(tmp_path):
    """`huggingface-cli download` leaves a snapshot of links into the repo's blobs/: those are fine."""
    repo = tmp_path / "datasets--org--aim"
    (repo / "blobs").mkdir(parents=True)
    folder = repo / "snapshots" / "abc123" / "AIM"
    folder.mkdir(parents=True)
    for i, v in zip(IDS, vectors()):
        blob = repo / "blobs" / hashlib.sha256(i.encode()).hexdigest()
        torch.save(torch.from_numpy(v.copy()), blob)
        (folder / f"{i}.pth").symlink_to(os.path.relpath(blob, folder))
    assert len(rows_of(folder)) == len(IDS)


def test_hostile_names_are_escaped(tmp_path):
    folder = write_pth_folder(tmp_path / "AIM")
    evil = "\x1b]0;owned\x07\u202egnp"
    torch.save(torch.ones(DIM), folder / f"{evil}.pth")
    torch.save(torch.ones(DIM), folder / f"{evil}.pt")
    with pytest.raises(EmbeddingSourceError) as err:
        rows_of(folder)
    message = str(err.value)
    assert "has two files" in message and "\x1b" not in message and "\u202e" not in message and "\x07" not in message
    assert "\\x1b]0;owned\\x07\\u202egnp" in message
    export = write_export_folder(tmp_path / "e")
    manifest = json.loads((export / MANIFEST_FILE).read_text())
    manifest["outputs"]["data/\u202ettelrap.parquet"] = {"sha256": "0" * 64, "size": 1}  # a bidi name passes the name check
    (export / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(EmbeddingSourceError, match=r"data/\\u202ettelrap.parquet: listed in manifest.json but not a file") as err:
        rows_of(export)
    assert "\u202e" not in str(err.value)


# ---- item 3: sizes checked before reading --------------------------------------------------------
def test_a_deflated_torch_bomb_is_refused_before_inflating(tmp_path, monkeypatch):
    big = tmp_path / "big.pth"
    torch.save({IDS[0]: torch.zeros(16 << 20)}, big)  # 64 MiB of zeros: deflates about 1000:1
    bomb = deflate(big, tmp_path / "bomb.pth")
    assert bomb.stat().st_size < 200_000
    folder = tmp_path / "AIM"
    folder.mkdir()
    shutil.copy(bomb, folder / f"{IDS[0]}.pth")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    for src in (bomb, folder):
        message = refused(src, r"zip entry '.*data/0' inflates \d+:1 \(64.0 MiB from .* KiB; the limit is 100:1\)", ids=IDS[:1])
        assert "a compression bomb" in message


def test_torch_sizes_against_the_limits(tmp_path):
    stored = write_torch_dict(tmp_path / "d.pth")
    small = StoredLimits(max_bytes=256, need_floor=0, slack=2)
    # Written by torch.save: mapped, only the rows asked are read; the whole-file limit does not apply.
    assert len(rows_of(stored, small, IDS[:1])) == 1
    deflated = deflate(stored, tmp_path / "deflated.pth")
    refused(deflated, rf"deflated.pth: its tensors take .* in memory; the limit is 256 B \(raise it with {LIMITS_ENV}=<GiB>", small)
    roomy = StoredLimits(need_floor=0)
    refused(deflated, r"more than 8 × the 32 B the run needs \(1 ids × 32 bytes a row\): refused as a likely memory bomb", roomy, IDS[:1])
    assert len(rows_of(deflated, roomy)) == len(IDS)
    folder = write_pth_folder(tmp_path / "AIM")
    refused(folder, rf"{IDS[0]}.pth: its tensor takes .*; the limit is 16 B a row", StoredLimits(max_row_bytes=16))


def test_row_sizes_from_headers(tmp_path):
    tight = StoredLimits(max_row_bytes=16)
    refused(write_npy(tmp_path / "a.npy"), r"a.npy: one row takes 32 B; the limit is 16 B a row", tight)
    refused(write_safetensors(tmp_path / "s.safetensors"), r"s.safetensors: id 'clip_00': its F32 tensor of shape \(8,\) takes 32 B", tight)


def test_a_strided_view_cannot_inflate_a_row(tmp_path):
    # A view repeats one stored float 100M times: 4 bytes on disk, 400 MB as a row.
    torch.save({IDS[0]: torch.ones(1).expand(100_000_000)}, tmp_path / "view.pth")
    refused(tmp_path / "view.pth", r"100000000 values \(400000000 bytes as float32\) exceed the 268435456-byte limit", ids=IDS[:1])
    with pytest.raises(EmbeddingSourceError, match="exceed the 16-byte limit"):
        to_vector(np.ones(5, np.float32), "w", max_bytes=16)


def test_export_shards_are_sized_from_their_footers(tmp_path, monkeypatch):
    export = write_export_folder(tmp_path / "e", n=400)
    import pyarrow.parquet as pq

    real = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: pytest.fail("a shard was read"))
    refused(export, r"/e: the 400 rows of its Parquet shards take .* KiB in memory; the limit is 1.0 KiB", StoredLimits(max_bytes=1024))
    # Past the floor, a source far larger than the run's ids is refused as a bomb.
    refused(export, r"take .*, more than 8 × the 32 B the run needs \(1 ids × 32 bytes a row\)", StoredLimits(need_floor=0), IDS[:1])
    monkeypatch.setattr(pq, "read_table", real)
    assert len(rows_of(export, StoredLimits(), IDS[:1])) == 1  # under the floor: a small export always reads


def test_the_limit_is_raised_from_the_environment(tmp_path, monkeypatch):
    deflated = deflate(write_torch_dict(tmp_path / "d.pth"), tmp_path / "deflated.pth")
    monkeypatch.setenv(LIMITS_ENV, "0.0000005")  # 536 bytes
    refused(deflated, r"its tensors take \d+ B in memory; the limit is 536 B")
    monkeypatch.setenv(LIMITS_ENV, "2")
    assert StoredLimits.from_env().max_bytes == 2 << 30 and len(rows_of(deflated)) == len(IDS)
    monkeypatch.setenv(LIMITS_ENV, "lots")
    with pytest.raises(EmbeddingSourceError, match=rf"\${LIMITS_ENV}='lots': expected a number of GiB"):
        StoredLimits.from_env()


# ---- fuzzing: truncated and flipped bytes of valid files -------------------------------------------
def mutate(data: bytes, cut: int | None, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in flips:
        out[position % len(out)] ^= value or 1
    return bytes(out[: None if cut is None else cut % max(len(out), 1)])


MUTATIONS = dict(
    cut=st.none() | st.integers(min_value=0, max_value=1 << 20),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(min_value=0, max_value=255)), max_size=4),
)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)


def read_or_refuse(src, label):
    """A mutated source either reads, or is refused in one line naming `label`."""
    try:
        rows_of(src)
    except EmbeddingSourceError as err:
        assert str(label) in str(err) and "\n" not in str(err), str(err)


WRITERS = {
    "torch-dict": lambda d: write_torch_dict(d / "d.pth"),
    "pth-folder": lambda d: write_pth_folder(d / "AIM") / f"{IDS[2]}.pth",
    "npy": lambda d: write_npy(d / "a.npy"),
    "npy-ids": lambda d: write_npy(d / "b.npy", ".ids.json").with_name("b.ids.json"),
    "safetensors": lambda d: write_safetensors(d / "s.safetensors"),
}


@pytest.mark.parametrize("kind", list(WRITERS))
@FUZZ
@given(**MUTATIONS)
def test_fuzzed_files_are_read_or_refused_in_one_line(tmp_path_factory, kind, cut, flips):
    folder = tmp_path_factory.mktemp(kind)
    target = WRITERS[kind](folder)
    target.write_bytes(mutate(target.read_bytes(), cut, flips))
    src = target.parent if kind == "pth-folder" else (target.with_name("b.npy") if kind == "npy-ids" else target)
    read_or_refuse(src, folder)


@pytest.mark.parametrize("rel", ["data/test-00000-of-00001.parquet", METADATA_FILE, MANIFEST_FILE])
@FUZZ
@given(**MUTATIONS)
def test_fuzzed_exports_are_read_or_refused_in_one_line(tmp_path_factory, rel, cut, flips):
    export = write_export_folder(tmp_path_factory.mktemp("export") / "e")
    path = export / rel
    path.write_bytes(mutate(path.read_bytes(), cut, flips))
    if rel != MANIFEST_FILE:
        rehash(export, rel)  # a hostile export lists its own checksums
    read_or_refuse(export, export)
