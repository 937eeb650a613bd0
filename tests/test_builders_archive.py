"""Streaming split tar.gz parts as one archive, and refusing unsafe members."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest
from builders_helpers import file_member, link_member, split_bytes, tar_gz

from vidret.builders.archive import ConcatReader, find_parts, safe_extract, sha256_file
from vidret.builders.config import BuildError, UnsafeArchiveError


def test_parts_stream_as_one_archive_without_a_joined_file(tmp_path):
    data = tar_gz([file_member("merged/a.mp4", b"A" * 5000), file_member("long_video_clip/a/a-Scene-001.mp4", b"B" * 3000)])
    parts = split_bytes(data, tmp_path / "video_data", 3)
    digests = safe_extract(parts, tmp_path / "out", progress=False)
    assert (tmp_path / "out/merged/a.mp4").read_bytes() == b"A" * 5000
    assert (tmp_path / "out/long_video_clip/a/a-Scene-001.mp4").read_bytes() == b"B" * 3000
    assert digests == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in parts}
    assert sorted(os.listdir(tmp_path / "video_data")) == ["part_aa", "part_ab", "part_ac"]  # nothing joined on disk


def test_find_parts_orders_lexicographically(tmp_path):
    for name in ("part_ab", "part_ba", "part_aa", "other"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in find_parts(tmp_path)] == ["part_aa", "part_ab", "part_ba"]


def test_concat_reader_reads_across_files_and_hashes_each(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"hello ")
    b.write_bytes(b"world")
    reader = ConcatReader([a, b])
    assert reader.read() == b"hello world"
    assert reader.digests == {a: sha256_file(a), b: sha256_file(b)}
    reader.close()


def test_concat_reader_needs_parts():
    with pytest.raises(BuildError, match="no archive parts"):
        ConcatReader([])


@pytest.mark.parametrize(
    "members, message",
    [
        ([file_member("/etc/evil", b"x")], "absolute path"),
        ([file_member("merged/../../evil", b"x")], "contains '..'"),
        ([link_member("merged/escape", "../../outside")], "outside the extraction folder"),
        ([link_member("merged/escape", "/etc/passwd")], "outside the extraction folder"),
        ([link_member("merged/hard", "../outside", hard=True)], "contains '..'"),
        ([link_member("merged/hard", "merged/not_there", hard=True)], "hard link"),
    ],
)
def test_unsafe_members_are_refused(tmp_path, members, message):
    parts = split_bytes(tar_gz(members), tmp_path / "parts", 2)
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(parts, tmp_path / "out", progress=False)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "outside").exists()


def test_links_inside_the_tree_are_kept(tmp_path):
    members = [file_member("merged/a.mp4", b"A"), link_member("merged/b.mp4", "a.mp4"), link_member("merged/c.mp4", "merged/a.mp4", hard=True)]
    safe_extract(split_bytes(tar_gz(members), tmp_path / "p", 1), tmp_path / "out", progress=False)
    assert os.readlink(tmp_path / "out/merged/b.mp4") == "a.mp4"
    assert (tmp_path / "out/merged/c.mp4").read_bytes() == b"A"


@pytest.mark.parametrize("member", [file_member("planted/file", b"x"), tarfile.TarInfo("planted/sub")])
def test_writing_through_a_planted_link_is_refused(tmp_path, member):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    os.symlink(outside, dest / "planted")  # e.g. left by an earlier extraction into the same folder
    if isinstance(member, tarfile.TarInfo):
        member.type = tarfile.DIRTYPE
    with pytest.raises(UnsafeArchiveError, match="through a link out of the tree"):
        safe_extract(split_bytes(tar_gz([member]), tmp_path / "p", 1), dest, progress=False)
    assert list(outside.iterdir()) == []


def test_truncated_archive_is_a_build_error(tmp_path):
    data = tar_gz([file_member("merged/a.mp4", os.urandom(20000))])
    parts = split_bytes(data, tmp_path / "video_data", 3)
    parts[-1].unlink()  # a part is missing
    with pytest.raises(BuildError, match="part missing or truncated"):
        safe_extract(parts[:-1], tmp_path / "out", progress=False)
