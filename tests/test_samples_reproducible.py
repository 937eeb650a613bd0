"""The sample releases are byte-identical from run to run (the demo's numbers depend on it)."""

from __future__ import annotations

from pathlib import Path

from vidret.benchmarks.lovr.sample import make_release as make_lovr_release
from vidret.benchmarks.tf_covr.sample import make_release as make_tfcovr_release


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_tfcovr_sample_is_byte_identical(tmp_path: Path) -> None:
    first = _files(make_tfcovr_release(tmp_path / "a"))
    second = _files(make_tfcovr_release(tmp_path / "b"))
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"{len(differing)} of {len(first)} files differ, e.g. {differing[:3]}"


def test_lovr_sample_is_byte_identical(tmp_path: Path) -> None:
    first = _files(make_lovr_release(tmp_path / "a", layout="both"))
    second = _files(make_lovr_release(tmp_path / "b", layout="both"))
    differing = [name for name in first if first.get(name) != second.get(name)]
    assert first.keys() == second.keys() and not differing, differing[:3]
