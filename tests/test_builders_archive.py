"""Streaming split tar.gz parts as one archive, and refusing unsafe members."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest
from builders_helpers import file_member, link_member, split_bytes, tar_gz

from vidret.builders.archive import ConcatReader, find_parts, safe_extract
from vidret.builders.config import BuildError, UnsafeArchiveError
from vidret.common import sha256_file


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


def test_links_inside_the_tree_become_copies_never_links(tmp_path):
    members = [
        file_member("merged/a.mp4", b"A"),
        link_member("merged/b.mp4", "a.mp4"),
        link_member("merged/c.mp4", "merged/a.mp4", hard=True),
        link_member("d/e.mp4", "../merged/a.mp4"),
    ]
    safe_extract(split_bytes(tar_gz(members), tmp_path / "p", 1), tmp_path / "out", progress=False)
    for name in ("merged/b.mp4", "merged/c.mp4", "d/e.mp4"):
        assert not (tmp_path / "out" / name).is_symlink() and (tmp_path / "out" / name).read_bytes() == b"A"


@pytest.mark.parametrize(
    "members, message",
    [
        ([link_member("merged/b.mp4", "later.mp4"), file_member("merged/later.mp4")], "not a file extracted before it"),
        ([tarfile.TarInfo("merged/sub"), link_member("merged/b.mp4", "sub")], "not a file extracted before it"),
    ],
)
def test_links_to_nothing_extracted_are_refused(tmp_path, members, message):
    for m in members:
        if isinstance(m, tarfile.TarInfo) and m.name == "merged/sub":
            m.type = tarfile.DIRTYPE
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(split_bytes(tar_gz(members), tmp_path / "p", 1), tmp_path / "out", progress=False)


def test_only_wanted_members_are_extracted(tmp_path):
    # 3,000 unreferenced members (a file-count bomb) cost nothing on disk: only wanted ones are written.
    members = [file_member(f"junk/{i}", b"x") for i in range(3000)] + [file_member("merged/a.mp4", b"A")]
    safe_extract(split_bytes(tar_gz(members), tmp_path / "p", 1), tmp_path / "out", progress=False, wanted=lambda p: p == "merged/a.mp4")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()] == ["merged/a.mp4"]


def test_archive_limits_stop_bombs(tmp_path):
    from vidret.builders.archive import ArchiveLimits

    many = split_bytes(tar_gz([file_member(f"junk/{i}", b"x") for i in range(50)]), tmp_path / "many", 1)
    with pytest.raises(UnsafeArchiveError, match="more than 20 members"):
        safe_extract(many, tmp_path / "out1", progress=False, limits=ArchiveLimits(max_members=20))
    zeros = split_bytes(tar_gz([file_member("merged/a.mp4", bytes(8 << 20))]), tmp_path / "zeros", 1)
    with pytest.raises(UnsafeArchiveError, match="expands more than 100:1"):
        safe_extract(zeros, tmp_path / "out2", progress=False, limits=ArchiveLimits(ratio_floor=1 << 20))
    with pytest.raises(UnsafeArchiveError, match="more than 4096 bytes"):
        safe_extract(zeros, tmp_path / "out3", progress=False, limits=ArchiveLimits(max_bytes=4096))
    assert (tmp_path / "out2/merged/a.mp4").stat().st_size < (4 << 20)  # stopped early, not after writing it all


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


def test_link_copies_count_against_max_bytes(tmp_path):
    # Each link member becomes a copy: 20 links to one 64 KiB file would write 21 times its size.
    from vidret.builders.archive import ArchiveLimits

    members = [file_member("merged/a.mp4", os.urandom(64 << 10))]
    members += [link_member(f"merged/copy{i}.mp4", "merged/a.mp4", hard=True) for i in range(20)]
    parts = split_bytes(tar_gz(members), tmp_path / "p", 1)
    with pytest.raises(UnsafeArchiveError, match="more than 262144 bytes"):
        safe_extract(parts, tmp_path / "out", progress=False, limits=ArchiveLimits(max_bytes=256 << 10))
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written <= 256 << 10


def test_oversized_member_header_is_refused_before_it_is_read(tmp_path):
    # A GNU long-name header is read into memory whole by tarfile: 8 MiB of zeros here (a few KiB
    # compressed) would be allocated before any member is returned.
    import gzip
    import io

    from vidret.builders.archive import ArchiveLimits

    header = tarfile.TarInfo("././@LongLink")
    header.type, header.size = tarfile.GNUTYPE_LONGNAME, 8 << 20
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
        gz.write(header.tobuf(format=tarfile.GNU_FORMAT)[: tarfile.BLOCKSIZE])
        gz.write(bytes(header.size + 2 * tarfile.BLOCKSIZE))
    parts = split_bytes(buffer.getvalue(), tmp_path / "p", 1)
    with pytest.raises(UnsafeArchiveError, match="header of 8388608 bytes"):
        safe_extract(parts, tmp_path / "out", progress=False, limits=ArchiveLimits(max_header_bytes=1 << 20))


def test_extraction_stops_once_every_wanted_member_is_out(tmp_path, monkeypatch):
    """A last, unreferenced member of zeros (1000:1) used to be decompressed whole to reach the end
    of the archive (83 s of CPU for 3.3 MB): with `WantedMembers` nothing after the last wanted
    member is decompressed, and every part is still hashed whole."""
    import io
    import zlib

    from vidret.builders.archive import WantedMembers

    class Zeros(io.RawIOBase):
        def __init__(self, size):
            self.left = size

        def readable(self):
            return True

        def readinto(self, buffer):
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    bomb = 256 << 20
    archive = tmp_path / "video.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for name, data in (("release/merged/a.mp4", b"A" * 3000), ("release/long_video_clip/a/a-Scene-001.mp4", b"B" * 2000)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("release/zeros.bin")  # referenced by nothing
        info.size = bomb
        tar.addfile(info, io.BufferedReader(Zeros(bomb)))
    parts = split_bytes(archive.read_bytes(), tmp_path / "video_data", 2)
    assert archive.stat().st_size < bomb // 200

    inflated = [0]  # bytes zlib decompressed, over every stream
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args, **kwargs):
            self.inner = real(*args, **kwargs)

        def decompress(self, data, *args):
            out = self.inner.decompress(data, *args)
            inflated[0] += len(out)
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    wanted = WantedMembers(frozenset({"merged/a.mp4", "long_video_clip/a/a-Scene-001.mp4"}), max_prefix=1)
    digests = safe_extract(parts, tmp_path / "out", progress=False, wanted=wanted)
    assert (tmp_path / "out/release/merged/a.mp4").read_bytes() == b"A" * 3000
    assert (tmp_path / "out/release/long_video_clip/a/a-Scene-001.mp4").read_bytes() == b"B" * 2000
    assert not (tmp_path / "out/release/zeros.bin").exists()
    assert inflated[0] < 4 << 20, f"{inflated[0]} bytes decompressed"  # the 256 MiB member was not
    assert digests == {p: sha256_file(p) for p in parts}  # the manifest still hashes every part whole

    inflated[0] = 0  # a plain predicate cannot tell when it has everything: the whole archive is read
    safe_extract(parts, tmp_path / "again", progress=False, wanted=wanted.__call__)
    assert inflated[0] > bomb
