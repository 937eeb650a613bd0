"""Open a video source (local path, URL, `hf://` path, file object or bytes) as a PyAV container.

Remote sources go through fsspec with range requests and a read-ahead cache, so FFmpeg's
seeks turn into HTTP `Range` reads of the parts it needs instead of a full download.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, Union

from vidret.video.errors import VideoDecodeError, VideoNotFoundError

#: What the sampler accepts as a video.
VideoSource = Union[str, "os.PathLike[str]", BinaryIO, bytes, bytearray, memoryview]

#: Bytes read ahead of each read that misses the cache, per HTTP range request. Small next to a
#: GOP of a typical web video (hundreds of KB), so a seek drags in little more than the frames
#: it decodes, yet large enough to keep the number of requests (round trips) low. Measured on a
#: 30-minute 640x360 video (benchmarks/bench_decode.py): fsspec's read-ahead cache at 128 KiB
#: read 9.8% of the file in 85 requests for 32 exact frames; its block cache read 12.0% in 131
#: (128 KiB blocks) or 10.5% in 227 (64 KiB).
REMOTE_BLOCK_SIZE = 128 * 1024
#: Size of the buffer FFmpeg reads through for Python file objects.
PYIO_BUFFER_SIZE = 32 * 1024


def is_remote(source: object) -> bool:
    """True for a URL-like string (``scheme://...``) other than ``file://``."""
    return isinstance(source, str) and "://" in source and not source.startswith("file://")


def describe_source(source: object) -> str:
    """A short human-readable name for `source`, used in every error message."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes in memory>"
    name = getattr(source, "name", None)
    return f"<file object {name!r}>" if isinstance(name, str) else f"<file object {type(source).__name__}>"


@dataclass
class OpenVideo:
    """An open container, its first video stream, and the source's name for messages."""

    container: Any  # av.container.InputContainer (kept untyped: av is imported lazily)
    stream: Any  # av.video.stream.VideoStream
    label: str


def _open_remote(url: str, label: str, block_size: int) -> BinaryIO:
    """Open `url` through fsspec as a random-access file backed by range requests."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
        return fs.open(
            path,
            "rb",
            block_size=block_size,
            cache_type="readahead",
        )
    except FileNotFoundError as err:
        # fsspec's HTTP filesystem reports connection failures as FileNotFoundError too.
        cause = _connection_failure(err)
        if cause is not None:
            raise VideoDecodeError(f"{label}: cannot reach the server: {type(cause).__name__}: {cause}") from err
        raise VideoNotFoundError(f"{label}: not found") from err
    except Exception as err:  # network stacks raise many types (aiohttp, httpx, OSError, ...)
        cause = _connection_failure(err)
        if cause is not None:
            raise VideoDecodeError(f"{label}: cannot reach the server: {type(cause).__name__}: {cause}") from err
        raise VideoDecodeError(f"{label}: cannot open remote video: {type(err).__name__}: {err}") from err


def _connection_failure(err: BaseException) -> BaseException | None:
    """The connection error in `err`'s cause chain, if any (refused, DNS, timeout...)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if isinstance(current, (ConnectionError, TimeoutError)) or "Connect" in name or "Timeout" in name:
            return current
        current = current.__cause__ or current.__context__
    return None


def _local_path(source: str | os.PathLike, label: str) -> str:
    path = os.fspath(source)
    if path.startswith("file://"):
        path = path[len("file://") :]
    if not os.path.exists(path):
        raise VideoNotFoundError(f"{label}: no such file")
    if os.path.isdir(path):
        raise VideoDecodeError(f"{label}: is a directory, not a video file")
    return path


class GuardedReader:
    """Read-only view of a binary file object that turns its failures into `VideoDecodeError`.

    FFmpeg reads Python file objects through PyAV, which re-raises whatever the object raised:
    fsspec's ``ValueError`` for a server that ignores Range requests, aiohttp's HTTP errors,
    a user's ``OSError``. Raised here instead, they name the source. PyAV also copies a read's
    result into a buffer of the size it asked for without checking, so an object that returns
    more than asked (or not bytes) is stopped here. So is one that keeps returning data past
    the size it reported: a stream that never ends would otherwise be read forever.

    Args:
        raw: The file object (needs ``read``, ``seek`` and ``tell``); read from its start.
        label: The source's name for messages.

    Raises:
        VideoDecodeError: From any method, when the file object fails or misbehaves.
    """

    def __init__(self, raw: Any, label: str) -> None:
        self.raw, self.label = raw, label
        self.bytes_read = 0  # for tests and benchmarks
        self.position = 0
        self.size = self.seek(0, io.SEEK_END)
        self.seek(0)

    def _fail(self, action: str, err: Exception) -> VideoDecodeError:
        return VideoDecodeError(f"{self.label}: cannot {action}: {type(err).__name__}: {err}")

    def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes (short reads are fine; b"" is the end of the file)."""
        try:
            data = self.raw.read(size)
        except Exception as err:  # noqa: BLE001  (any I/O stack: OSError, aiohttp, httpx, fsspec ...)
            raise self._fail("read", err) from err
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise VideoDecodeError(f"{self.label}: file object's read() returned {type(data).__name__}, not bytes")
        if size >= 0 and len(data) > size:
            raise VideoDecodeError(f"{self.label}: file object's read({size}) returned {len(data)} bytes")
        self.bytes_read += len(data)
        self.position += len(data)
        if self.position > self.size:
            raise VideoDecodeError(
                f"{self.label}: file object returned data past the end its seek() reported"
                f" ({self.size} bytes): a stream that does not end, or a seek() that does not work"
            )
        return bytes(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to `offset` (as `io.IOBase.seek`); returns the new position."""
        try:
            self.raw.seek(offset, whence)
            self.position = self.raw.tell()
        except Exception as err:  # noqa: BLE001
            raise self._fail("seek", err) from err
        return self.position

    def tell(self) -> int:
        """The current position."""
        return self.position

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


def _file_object(source: Any, label: str) -> GuardedReader:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return GuardedReader(io.BytesIO(bytes(source)), label)
    if not all(hasattr(source, name) for name in ("read", "seek", "tell")):
        raise ValueError(
            f"unsupported video source {label}: expected a path, a URL, bytes or a binary file object"
            " (with read, seek and tell)"
        )
    if hasattr(source, "seekable") and not source.seekable():
        raise ValueError(f"{label}: file object must be seekable")
    return GuardedReader(source, label)


@contextmanager
def open_video(source: VideoSource, *, block_size: int | None = None) -> Iterator[OpenVideo]:
    """Open `source` and yield its first video stream; closes everything on exit.

    Args:
        source: Local path (str, PathLike or ``file://``), ``http(s)://`` URL, ``hf://`` path or
            any other fsspec URL, a seekable binary file object (read from its start), or bytes.
        block_size: Range-request size for remote sources (default REMOTE_BLOCK_SIZE).

    Yields:
        An `OpenVideo` with the container, its first video stream and the source's name.

    Raises:
        VideoNotFoundError: The file, URL or Hub path does not exist.
        VideoDecodeError: Unreachable URL, not a video / corrupt header, no video stream, or the
            file object / remote file failed to read (also later, while frames are decoded).
        ValueError: Unsupported source type or an unseekable file object.
    """
    import av

    label = describe_source(source)
    with ExitStack() as stack:
        target: str | GuardedReader
        if isinstance(source, (str, os.PathLike)) and not is_remote(source):
            target = _local_path(source, label)
        elif isinstance(source, (str, os.PathLike)):
            remote = stack.enter_context(_open_remote(str(source), label, block_size or REMOTE_BLOCK_SIZE))
            target = GuardedReader(remote, label)
        else:
            target = _file_object(source, label)
        try:
            options = {} if isinstance(target, str) else {"buffer_size": PYIO_BUFFER_SIZE}
            container = stack.enter_context(av.open(target, "r", metadata_errors="ignore", **options))
        except av.error.FFmpegError as err:
            raise VideoDecodeError(f"{label}: not a readable video (FFmpeg: {err})") from err
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise VideoDecodeError(f"{label}: has no video stream (streams: {', '.join(kinds)})")
        yield OpenVideo(container, container.streams.video[0], label)
