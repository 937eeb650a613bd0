"""Stream a tar.gz split into parts (``part_aa, part_ab, ...``) as one archive and extract it safely.

LoVR ships ``video_data/`` as one tar.gz cut into parts meant for ``cat part_* > x.tar.gz``.
We never write the joined archive: `ConcatReader` presents the parts as one read-only stream
(hashing each part on the way, for the manifest) and `safe_extract` unpacks it member by member
in tarfile's streaming mode. Release metadata is untrusted: a member whose path is absolute,
contains ``..``, or is a link pointing out of the extraction folder stops the extraction with
`UnsafeArchiveError` naming the member (Python's own tarfile filters differ across versions, so
the checks are explicit here).

Archives are also treated as possible bombs: a builder extracts only the members its
annotations reference (``wanted``) and stops reading once it has them all, links are never re-created (a link to a file extracted
before it becomes a copy of that file, anything else is refused), and `ArchiveLimits` bounds the
number of members, the bytes written, the compression ratio and the size of an extended
header.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import posixpath
import shutil
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from vidret.builders.config import BuildError, UnsafeArchiveError
from vidret.common import is_absolute_path

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what extracting one archive may cost (exceeding one raises `UnsafeArchiveError`).

    Attributes:
        max_members: archive entries read, extracted or not (default 2,000,000; the LoVR release
            holds about 41,300).
        max_bytes: bytes written to disk (default 4 TiB).
        max_ratio: uncompressed bytes of the tar stream per compressed byte read (default 100;
            videos barely compress, a bomb of zeros compresses about 1000:1). Checked once the
            stream has passed `ratio_floor` bytes, so small archives never trip it.
        ratio_floor: uncompressed bytes before the ratio is checked (default 32 MiB).
        max_header_bytes: size of one extended header (a pax header, a GNU long name or link
            name), which tarfile reads into memory whole (default 1 MiB; real ones hold a
            path and a few attributes).
    """

    max_members: int = 2_000_000
    max_bytes: int = 4 << 40
    max_ratio: float = 100.0
    ratio_floor: int = 32 << 20
    max_header_bytes: int = 1 << 20



@dataclass(frozen=True)
class WantedMembers:
    """The archive members a build needs, by name: extraction stops once each was found.

    Without it, every member after the last needed one would still be decompressed to reach the
    end of the archive (a last, unreferenced member of zeros: minutes of CPU for a few MB).

    Attributes:
        names: member paths relative to the folder the build reads (``merged/<id>.mp4``).
        max_prefix: how many leading folders a member may have before that path (the release's
            root may sit that deep in the archive).
    """

    names: frozenset[str]
    max_prefix: int = 0

    def match(self, member: str) -> str | None:
        """The wanted name that the (normalised) member path `member` is, or None."""
        parts = member.split("/")
        for drop in range(min(self.max_prefix + 1, len(parts))):
            name = "/".join(parts[drop:])
            if name in self.names:
                return name
        return None

    def __call__(self, member: str) -> bool:
        return self.match(member) is not None


def find_parts(folder: Path, pattern: str = "part_*") -> list[Path]:
    """The archive parts in `folder`, in concatenation order (lexicographic: aa, ab, ..., ba).

    Args:
        folder: folder holding the parts.
        pattern: glob of the part names.

    Returns:
        The sorted list of part files (empty when there is none).
    """
    return sorted(p for p in folder.glob(pattern) if p.is_file())


class ConcatReader(io.RawIOBase):
    """Read several files as one stream, computing each file's SHA-256 as it is read.

    Args:
        paths: the files, in order.

    Attributes:
        digests: ``{path: sha256 hex}`` for every file read to its end.
    """

    def __init__(self, paths: Sequence[os.PathLike | str]) -> None:
        super().__init__()
        if not paths:
            raise BuildError("no archive parts to read")
        self._paths = [Path(p) for p in paths]
        self._index = -1
        self._file: io.BufferedReader | None = None
        self._hash = None
        self.digests: dict[Path, str] = {}
        self._open_next()

    def _open_next(self) -> None:
        if self._file is not None:
            self._file.close()
            self.digests[self._paths[self._index]] = self._hash.hexdigest()
        self._index += 1
        if self._index < len(self._paths):
            self._file = open(self._paths[self._index], "rb")
            self._hash = hashlib.sha256()
        else:
            self._file = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while self._file is not None:
            n = self._file.readinto(buffer)
            if n:
                self._hash.update(memoryview(buffer)[:n])
                return n
            self._open_next()
        return 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()


def _safe_member_path(name: str) -> str:
    """Normalise a member name; refuse absolute names and `..` components."""
    # (any "x:" start too, not only a drive letter: on Windows it names a drive or a stream)
    if is_absolute_path(name) or name[1:2] == ":":
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path; refusing to extract it")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r} contains '..'; refusing to extract it")
    normalised = posixpath.normpath("/".join(p for p in parts if p not in ("", ".")))
    return "" if normalised == "." else normalised


def _inside(root: Path, target: Path) -> bool:
    root_real = os.path.realpath(root)
    target_real = os.path.realpath(target)
    return target_real == root_real or target_real.startswith(root_real + os.sep)


def safe_extract(
    parts: Sequence[os.PathLike | str],
    dest: os.PathLike | str,
    *,
    progress: bool = True,
    wanted: WantedMembers | Callable[[str], bool] | None = None,
    limits: ArchiveLimits = ArchiveLimits(),
) -> dict[Path, str]:
    """Extract a (possibly split) tar.gz into `dest`, streaming, without joining the parts on disk.

    Regular files are extracted (folders are created as files need them). A symbolic or hard link
    member becomes a copy of the regular file it points to when that file, inside `dest`, was
    extracted before it; links are never re-created, so nothing extracted can later be moved out
    as a link. Device files and FIFOs are skipped (logged at debug level).

    Args:
        parts: the archive files in concatenation order (one file for an unsplit archive).
        dest: extraction folder (created if needed).
        progress: show a tqdm bar over the compressed bytes read.
        wanted: extract only these members (the ones the annotations reference): a `WantedMembers`,
            after which nothing more is decompressed once each of its names was found (the
            first member of a name is the one extracted), or ``f(member path) -> bool`` (the
            whole archive is read); None extracts every member. Paths are normalised (no ``./``).
        limits: bounds on members, bytes written and compression ratio.

    Returns:
        ``{part path: sha256 hex}`` of every part.

    Raises:
        UnsafeArchiveError: a member is absolute, contains ``..``, is a link out of `dest` or to
            a file not extracted before it, would be written through a link out of `dest`, or a
            limit of `limits` is exceeded (naming it).
        BuildError: the parts are not a readable tar.gz (truncated or missing part).
    """
    dest_path = Path(dest)
    dest_path.mkdir(parents=True, exist_ok=True)
    total = sum(Path(p).stat().st_size for p in parts)
    reader = ConcatReader(parts)
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="extracting", disable=not progress)
    counted = _CountingReader(reader, bar)
    budget = _Budget(limits, counted)
    # The names still to find: once none is left the rest is never decompressed.
    left = set(wanted.names) if isinstance(wanted, WantedMembers) else None
    accept = wanted if left is None else _first_of(wanted, left)
    try:
        with tarfile.open(fileobj=counted, mode="r|gz", tarinfo=_bounded_tarinfo(limits.max_header_bytes)) as tar:
            for member in tar if left is None or left else ():
                budget.member(member)
                rel = _extract_member(tar, member, dest_path, accept, budget)
                if left is not None and rel is not None:
                    left.discard(wanted.match(rel))
                    if not left:
                        break  # the rest of the archive is not decompressed
        # tarfile stops at the end-of-archive blocks (or we stopped early); read the rest as it is
        # stored, not decompressed, so every part is hashed whole.
        while counted.read(_CHUNK):
            pass
    except (tarfile.TarError, EOFError, OSError) as err:  # UnsafeArchiveError (a ValueError) passes
        raise BuildError(
            f"cannot read the archive made of {[Path(p).name for p in parts]} ({type(err).__name__}: {err}); "
            "is a part missing or truncated?",
            file=Path(parts[0]).parent,
        ) from err
    finally:
        bar.close()
        reader.close()
    return dict(reader.digests)


_EXTENDED_HEADERS = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)


def _bounded_tarinfo(max_header_bytes: int) -> type[tarfile.TarInfo]:
    """A TarInfo class that refuses an extended header larger than `max_header_bytes`.

    tarfile reads such a header's body into memory in one piece before it returns the member
    it describes, so its size is checked when the header block announces it (`_proc_member`
    dispatches on the block's type; overriding it is how a TarInfo subclass sees every block).
    """

    class BoundedTarInfo(tarfile.TarInfo):
        def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
            if self.type in _EXTENDED_HEADERS and self.size > max_header_bytes:
                raise UnsafeArchiveError(
                    f"the archive has an extended header of {self.size} bytes (limit max_header_bytes "
                    f"{max_header_bytes}): refusing it"
                )
            return super()._proc_member(tar)

    return BoundedTarInfo


class _Budget:
    """Checks `ArchiveLimits` as the archive streams by."""

    def __init__(self, limits: ArchiveLimits, compressed: "_CountingReader") -> None:
        self.limits = limits
        self.compressed = compressed
        self.members = 0
        self.written = 0

    def member(self, member: tarfile.TarInfo) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise UnsafeArchiveError(
                f"the archive holds more than {self.limits.max_members} members (limit max_members); refusing it"
            )
        # Everything before this member's data has been decompressed (written or skipped) by now.
        self.ratio(member.offset_data)

    def ratio(self, uncompressed: int) -> None:
        read = max(self.compressed.count, 1)
        if uncompressed > self.limits.ratio_floor and uncompressed / read > self.limits.max_ratio:
            raise UnsafeArchiveError(
                f"the archive expands more than {self.limits.max_ratio:g}:1 ({uncompressed} bytes from {read} "
                "compressed; limit max_ratio): a compression bomb? refusing it"
            )

    def write(self, n: int, offset: int) -> None:
        self.written += n
        if self.written > self.limits.max_bytes:
            raise UnsafeArchiveError(f"extracting would write more than {self.limits.max_bytes} bytes (limit max_bytes)")
        self.ratio(offset)


class _CountingReader(io.RawIOBase):
    """Pass-through reader that advances a progress bar."""

    def __init__(self, inner: io.RawIOBase, bar) -> None:
        super().__init__()
        self._inner = inner
        self._bar = bar
        self.count = 0  # compressed bytes read so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self._inner.readinto(buffer)
        self._bar.update(n)
        self.count += n
        return n


def _first_of(wanted: WantedMembers, left: set[str]) -> Callable[[str], bool]:
    """Accept a member of `wanted` whose name is still in `left` (the first member of each name)."""
    return lambda rel: wanted.match(rel) in left


def _extract_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    dest: Path,
    wanted: Callable[[str], bool] | None,
    budget: _Budget,
) -> str | None:
    """Extract one member if `wanted` accepts it; returns its path when it was extracted (a file,
    or a link copied), else None."""
    rel = _safe_member_path(member.name)  # checked for every member, wanted or not
    if not rel:
        return None
    target = dest / rel
    # A folder of dest must not carry a member out of it (e.g. a link planted in dest).
    if not _inside(dest, target.parent):
        raise UnsafeArchiveError(f"archive member {member.name!r} would be written through a link out of the tree")
    if member.isdir() or (wanted is not None and not wanted(rel)):
        return None  # folders are made as the files that need them are written
    if member.issym() or member.islnk():
        _copy_link_target(member, rel, target, dest, budget)
        return rel
    if not member.isfile():
        logger.debug("skipping archive member %s (type %r)", member.name, member.type)
        return None  # not what the build needs: a later member of the name may be
    target.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(dest, target.parent):  # mkdir could have gone through a link: check again
        raise UnsafeArchiveError(f"archive member {member.name!r} would be written through a link out of the tree")
    if target.is_symlink():
        target.unlink()  # never write through a link planted in dest
    source = tar.extractfile(member)
    assert source is not None
    start = member.offset_data  # where the member's data starts in the uncompressed stream
    done = 0
    with open(target, "wb") as out:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            out.write(chunk)
            done += len(chunk)
            budget.write(len(chunk), start + done)
    return rel


def _copy_link_target(member: tarfile.TarInfo, rel: str, target: Path, dest: Path, budget: _Budget) -> None:
    """A link member becomes a copy of the regular file it names, extracted earlier inside `dest`.

    The copy counts against `budget` before it is written: a small link member can stand for a
    large file, so links to one file would otherwise write far more than the limits allow.
    """
    if member.issym():
        link = member.linkname
        if is_absolute_path(link) or link[1:2] == ":":
            raise UnsafeArchiveError(
                f"archive member {member.name!r} is a link to {link!r}, outside the extraction folder; refusing it"
            )
        source = dest / posixpath.dirname(rel) / link
        kind = "link"
    else:
        source = dest / _safe_member_path(member.linkname)
        kind = "hard link"
    if not _inside(dest, source):
        raise UnsafeArchiveError(
            f"archive member {member.name!r} is a {kind} to {member.linkname!r}, outside the extraction folder; refusing it"
        )
    real = Path(os.path.realpath(source))
    if not real.is_file():
        raise UnsafeArchiveError(
            f"archive member {member.name!r} is a {kind} to {member.linkname!r}, which is not a file extracted "
            "before it; links are copied, never re-created, so refusing it"
        )
    budget.write(real.stat().st_size, member.offset_data)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    shutil.copyfile(real, target)
