"""Open a video source (local path, URL, `hf://` path, file object or bytes) as a PyAV container.

Remote sources go through fsspec with range requests and a read-ahead cache, so FFmpeg's
seeks turn into HTTP `Range` reads of the parts it needs instead of a full download.

Remote reads have time limits (`timeout`; when not given, ``$VIDRET_HTTP_TIMEOUT`` read at each
call, else DEFAULT_TIMEOUT_S): the total time spent waiting on the server for one video (opening
it and all its reads) is bounded by it. Over
HTTP(S) the bound is hard: opening (fsspec's HEAD, then GET when HEAD fails) runs under it as a
whole, each range request under what is left of it, and each connect and wait for data under it
too. Other remote filesystems (``hf://`` ...) keep their own per-request limits, and the deadline
is checked between reads.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, Union

from vidret.common import is_url
from vidret.video.errors import VideoDecodeError, VideoNotFoundError, VideoTimeoutError

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
#: Default time limit (seconds) for remote sources: per connect, per read, and in total per video.
DEFAULT_TIMEOUT_S = 60.0
#: Environment variable that sets the time limit wherever no `timeout` is passed (library calls
#: and the command line alike; seconds, ``inf`` for none; default DEFAULT_TIMEOUT_S).
TIMEOUT_ENV = "VIDRET_HTTP_TIMEOUT"


def timeout_from_env() -> float:
    """The remote time limit set by ``$VIDRET_HTTP_TIMEOUT`` (seconds; ``inf`` for none), else DEFAULT_TIMEOUT_S.

    The one place that reads and parses the variable; read on every call, so a change to it
    applies to the next call (as huggingface_hub's functions read ``HF_HUB_*``).

    Raises:
        ValueError: The variable is set to something other than a positive number (named).
    """
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_TIMEOUT_S
    try:
        return check_timeout(float(value))
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={value!r} must be a positive number of seconds (inf: no limit)") from None


def check_timeout(timeout: float | None) -> float:
    """The time limit to use for remote sources: `timeout`, or when None `timeout_from_env()`
    (``$VIDRET_HTTP_TIMEOUT``, else DEFAULT_TIMEOUT_S).

    ``math.inf`` turns the limits off.

    Raises:
        ValueError: `timeout` is not a positive number of seconds, or it is None and
            ``$VIDRET_HTTP_TIMEOUT`` is set to something else (the message names the variable).
    """
    if timeout is None:
        return timeout_from_env()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds (math.inf: no limit), got {timeout!r}")
    return float(timeout)


def is_remote(source: object) -> bool:
    """True for a URL-like string (``scheme://...``) other than ``file://``."""
    return isinstance(source, str) and is_url(source) and not source.startswith("file://")


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


def _request_options(url: str, timeout: float) -> dict[str, Any]:
    """fsspec storage options that bound each HTTP(S) request by `timeout` (connect and reads)."""
    if math.isinf(timeout) or not url.lower().startswith(("http://", "https://")):
        return {}  # other filesystems (hf://, s3://, ...) keep their own limits; the deadline still applies
    import aiohttp

    # Passed to every aiohttp request fsspec makes (HEAD for the size, GET per range).
    return {"timeout": aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)}


def remote_exists(url: str, timeout: float | None = None) -> bool:
    """Whether a remote file exists, asked within `timeout` seconds in all (HTTP(S); None:
    ``$VIDRET_HTTP_TIMEOUT``, else DEFAULT_TIMEOUT_S).

    Raises:
        ValueError: A bad timeout.
        Exception: Whatever the filesystem raises when it cannot answer (fsspec's
            FSTimeoutError when the time is up).
    """
    import fsspec

    limit = check_timeout(timeout)
    options = _request_options(url, limit)
    fs, path = fsspec.core.url_to_fs(url, **options)
    if options:
        from fsspec.asyn import sync

        return bool(sync(fs.loop, fs._exists, path, timeout=limit))
    return bool(fs.exists(path))


def _open_remote(url: str, label: str, block_size: int, timeout: float) -> BinaryIO:
    """Open `url` through fsspec as a random-access file backed by range requests."""
    import fsspec

    options = _request_options(url, timeout)
    limit = timeout if options else None  # None: the filesystem's own time limits applied
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
        size = None
        if limit is not None:
            from fsspec.asyn import sync

            # fsspec tries HEAD, then GET: bound the pair, not each (a hung server cost 2x the limit).
            size = sync(fs.loop, fs._info, path, timeout=limit).get("size")
        return fs.open(
            path,
            "rb",
            block_size=block_size,
            cache_type="readahead",
            size=size,
        )
    except FileNotFoundError as err:
        # fsspec's HTTP filesystem reports connection failures as FileNotFoundError too.
        if _connection_failure(err) is not None:
            raise _unreachable(label, err, limit) from err
        raise VideoNotFoundError(f"{label}: not found") from err
    except Exception as err:  # network stacks raise many types (aiohttp, httpx, OSError, ...)
        if _connection_failure(err) is not None:
            raise _unreachable(label, err, limit) from err
        raise VideoDecodeError(f"{label}: cannot open remote video: {type(err).__name__}: {err}") from err


def _is_timeout(err: BaseException) -> bool:
    return isinstance(err, TimeoutError) or "Timeout" in type(err).__name__


def _unreachable(label: str, err: BaseException, timeout: float | None) -> VideoDecodeError:
    """The error for a connection failure (`err` holds one in its chain), saying when our time limit
    (`timeout`; None when the filesystem's own limits applied) ran out."""
    late = _timeout_in(err)
    if late is not None and timeout is not None:
        return VideoTimeoutError(
            f"{label}: timed out opening the video: no answer from the server within {timeout:g} s "
            f"(time limit per video; timeout= / VIDRET_HTTP_TIMEOUT) [{type(late).__name__}]"
        )
    cause = _connection_failure(err)
    return VideoDecodeError(f"{label}: cannot reach the server: {type(cause).__name__}: {cause}")


def _bound_fetches(remote: Any, reader: GuardedReader) -> None:
    """Run each range request of an fsspec HTTP file under what is left of `reader`'s deadline.

    fsspec's read-ahead cache calls ``fetcher(start, end)``; an HTTP file's ``_fetch_range``
    accepts fsspec's ``timeout=`` (the whole request, cancelled when it runs out). Files without
    those (other filesystems) keep the between-reads check only.
    """
    cache, fetch = getattr(remote, "cache", None), getattr(remote, "_fetch_range", None)
    if reader.deadline is None or fetch is None or not hasattr(cache, "fetcher"):
        return

    def bounded(start: int, end: int) -> bytes:
        return fetch(start, end, timeout=max(reader.remaining() or 0.0, 0.001))

    cache.fetcher = bounded


def _in_chain(err: BaseException, match: Callable[[BaseException], bool]) -> BaseException | None:
    """The first exception in `err`'s cause/context chain that `match` accepts, if any."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if match(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def _timeout_in(err: BaseException) -> BaseException | None:
    """The timeout in `err`'s cause chain, if any."""
    return _in_chain(err, _is_timeout)


def _connection_failure(err: BaseException) -> BaseException | None:
    """The connection error in `err`'s cause chain, if any (refused, DNS, timeout...)."""
    return _in_chain(
        err, lambda e: isinstance(e, (ConnectionError, TimeoutError)) or "Connect" in type(e).__name__ or _is_timeout(e)
    )


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

    With a `deadline`, the time spent inside the file object's ``read`` and ``seek`` calls (for
    a remote source: waiting on the server) is summed, and the read after it exceeds the deadline
    raises.

    Args:
        raw: The file object (needs ``read``, ``seek`` and ``tell``); read from its start.
        label: The source's name for messages.
        deadline: Seconds the file object may take in total (None: no limit).
        spent: Seconds already spent on this source (opening it) that count against the deadline.

    Raises:
        VideoDecodeError: From any method, when the file object fails, misbehaves or runs past
            the deadline.
    """

    def __init__(self, raw: Any, label: str, deadline: float | None = None, spent: float = 0.0) -> None:
        self.raw, self.label = raw, label
        self.deadline = None if deadline is None or math.isinf(deadline) else deadline
        self.waited = spent  # seconds spent in raw's read/seek (and opening), for the deadline
        self.bytes_read = 0  # for tests and benchmarks
        self.position = 0
        # The first failure, raised again by every later call: FFmpeg may retry a failed read,
        # and each retry of a timed-out read would wait out the timeout again.
        self.failure: VideoDecodeError | None = None
        self.size = self.seek(0, io.SEEK_END)
        self.seek(0)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - self.waited

    def _fail(self, action: str, err: Exception) -> VideoDecodeError:
        if self.deadline is not None and self.waited >= self.deadline:
            self.failure = self._late()
        elif self.deadline is not None and _timeout_in(err) is not None:
            late = _timeout_in(err)
            self.failure = VideoTimeoutError(
                f"{self.label}: timed out while reading ({type(late).__name__}: {late}) after {self.waited:.1f} s "
                f"waiting on the server (limit {self.deadline:g} s per video; timeout= / VIDRET_HTTP_TIMEOUT)"
            )
        else:
            self.failure = VideoDecodeError(f"{self.label}: cannot {action}: {type(err).__name__}: {err}")
        return self.failure

    def _late(self) -> VideoTimeoutError:
        return VideoTimeoutError(
            f"{self.label}: timed out: reading the video took {self.waited:.1f} s, more than the "
            f"{self.deadline:g} s allowed per video (deadline; timeout= / VIDRET_HTTP_TIMEOUT)"
        )

    def _check_usable(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self.deadline is not None and self.waited >= self.deadline:
            self.failure = self._late()
            raise self.failure

    def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes (short reads are fine; b"" is the end of the file)."""
        self._check_usable()
        started = time.monotonic()
        try:
            data = self.raw.read(size)
        except Exception as err:  # noqa: BLE001  (any I/O stack: OSError, aiohttp, httpx, fsspec ...)
            self.waited += time.monotonic() - started
            raise self._fail("read", err) from err
        self.waited += time.monotonic() - started
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
        # No failure check here: a seek does no I/O (the next read does), and FFmpeg's MP4 parser
        # loops on a seek that fails after a read did.
        started = time.monotonic()
        try:
            self.raw.seek(offset, whence)
            self.position = self.raw.tell()
        except Exception as err:  # noqa: BLE001
            raise self._fail("seek", err) from err
        finally:
            self.waited += time.monotonic() - started
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
def open_video(
    source: VideoSource, *, block_size: int | None = None, timeout: float | None = None
) -> Iterator[OpenVideo]:
    """Open `source` and yield its first video stream; closes everything on exit.

    Args:
        source: Local path (str, PathLike or ``file://``), ``http(s)://`` URL, ``hf://`` path or
            any other fsspec URL, a seekable binary file object (read from its start), or bytes.
        block_size: Range-request size for remote sources (default REMOTE_BLOCK_SIZE).
        timeout: Seconds for remote sources (default ``$VIDRET_HTTP_TIMEOUT``, else
            DEFAULT_TIMEOUT_S; ``math.inf``: none): the limit on each HTTP(S) connect and read,
            and on the total time spent waiting on the server for this video (see the module
            docstring).

    Yields:
        An `OpenVideo` with the container, its first video stream and the source's name.

    Raises:
        VideoNotFoundError: The file, URL or Hub path does not exist.
        VideoDecodeError: Unreachable URL, not a video / corrupt header, no video stream, the
            file object / remote file failed to read (also later, while frames are decoded), or a
            remote source ran past its time limit (the message says which one).
        ValueError: Unsupported source type, an unseekable file object, or a bad timeout (or
            ``$VIDRET_HTTP_TIMEOUT``).
    """
    import av

    label = describe_source(source)
    limit = check_timeout(timeout)
    with ExitStack() as stack:
        target: str | GuardedReader
        if isinstance(source, (str, os.PathLike)) and not is_remote(source):
            target = _local_path(source, label)
        elif isinstance(source, (str, os.PathLike)):
            started = time.monotonic()
            remote = stack.enter_context(_open_remote(str(source), label, block_size or REMOTE_BLOCK_SIZE, limit))
            target = GuardedReader(remote, label, deadline=limit, spent=time.monotonic() - started)
            _bound_fetches(remote, target)
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
