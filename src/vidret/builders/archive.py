"""Stream a tar.gz split into parts (``part_aa, part_ab, ...``) as one archive and extract it safely.

LoVR ships ``video_data/`` as one tar.gz cut into parts meant for ``cat part_* > x.tar.gz``.
We never write the joined archive: `ConcatReader` presents the parts as one read-only stream
(hashing each part on the way, for the manifest) and `safe_extract` unpacks it member by member
in tarfile's streaming mode. Release metadata is untrusted: a member whose path is absolute,
contains ``..``, or is a link pointing out of the extraction folder stops the extraction with
`UnsafeArchiveError` naming the member (Python's own tarfile filters differ across versions, so
the checks are explicit here).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import posixpath
import shutil
import tarfile
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from vidret.builders.config import BuildError, UnsafeArchiveError

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


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
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
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
) -> dict[Path, str]:
    """Extract a (possibly split) tar.gz into `dest`, streaming, without joining the parts on disk.

    Regular files and folders are extracted; symbolic and hard links are re-created only when
    they resolve inside `dest`; device files and FIFOs are skipped (logged at debug level).

    Args:
        parts: the archive files in concatenation order (one file for an unsplit archive).
        dest: extraction folder (created if needed).
        progress: show a tqdm bar over the compressed bytes read.

    Returns:
        ``{part path: sha256 hex}`` of every part.

    Raises:
        UnsafeArchiveError: a member is absolute, contains ``..``, is a link out of `dest`,
            or would be written through a link out of `dest`.
        BuildError: the parts are not a readable tar.gz (truncated or missing part).
    """
    dest_path = Path(dest)
    dest_path.mkdir(parents=True, exist_ok=True)
    total = sum(Path(p).stat().st_size for p in parts)
    reader = ConcatReader(parts)
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="extracting", disable=not progress)
    counted = _CountingReader(reader, bar)
    try:
        with tarfile.open(fileobj=counted, mode="r|gz") as tar:
            for member in tar:
                _extract_member(tar, member, dest_path)
        # tarfile stops at the end-of-archive blocks; read the padding too so every part is hashed whole.
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


class _CountingReader(io.RawIOBase):
    """Pass-through reader that advances a progress bar."""

    def __init__(self, inner: io.RawIOBase, bar) -> None:
        super().__init__()
        self._inner = inner
        self._bar = bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self._inner.readinto(buffer)
        self._bar.update(n)
        return n


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path) -> None:
    rel = _safe_member_path(member.name)
    if not rel:
        return
    target = dest / rel
    if member.isdir():
        if not _inside(dest, target.parent):
            raise UnsafeArchiveError(f"archive member {member.name!r} would be written through a link out of the tree")
        target.mkdir(parents=True, exist_ok=True)
        return
    # A symlinked folder created by an earlier member must not carry later files out of dest.
    if not _inside(dest, target.parent):
        raise UnsafeArchiveError(f"archive member {member.name!r} would be written through a link out of the tree")
    target.parent.mkdir(parents=True, exist_ok=True)
    if member.issym():
        link = member.linkname
        if posixpath.isabs(link) or not _inside(dest, target.parent / link):
            raise UnsafeArchiveError(
                f"archive member {member.name!r} is a link to {link!r}, outside the extraction folder; refusing it"
            )
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(link, target)
        return
    if member.islnk():
        source = dest / _safe_member_path(member.linkname)
        if not _inside(dest, source) or not source.is_file():
            raise UnsafeArchiveError(
                f"archive member {member.name!r} is a hard link to {member.linkname!r}, "
                "which is outside the extraction folder or not extracted before it; refusing it"
            )
        shutil.copyfile(source, target)
        return
    if not member.isfile():
        logger.debug("skipping archive member %s (type %r)", member.name, member.type)
        return
    if target.is_symlink():
        target.unlink()  # never write through a link planted by an earlier member
    source = tar.extractfile(member)
    assert source is not None
    with open(target, "wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)


def sha256_file(path: os.PathLike | str) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
