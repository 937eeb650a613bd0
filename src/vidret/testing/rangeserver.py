"""A local HTTP file server that honours `Range` requests and counts the bytes it sends.

For tests and benchmarks of remote decoding (no network needed): it behaves like a static file
host or CDN (HEAD, GET, single `bytes=` ranges, 206/416 answers), bound to 127.0.0.1.

    with serve_directory(folder) as server:
        frames = sample_frames(server.url("video.mp4"), 8)
        print(server.bytes_sent, server.requests)

It can also misbehave the way slow or hung servers do, for tests of time limits: ``stall_s``
holds every request after the first ``stall_after`` before it answers (a hung server), and
``chunk_delay_s`` pauses between the ``chunk_size``-byte pieces of a body (a server that drips).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


class RangeServer:
    """A running server: its base URL and counters (bytes of bodies sent, requests served)."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = root.resolve()
        self.bytes_sent = 0
        self.requests = 0
        #: Seconds each request waits before any answer, once `stall_after` requests were served.
        self.stall_s = 0.0
        self.stall_after = 0
        #: Seconds between the body's pieces of `chunk_size` bytes.
        self.chunk_delay_s = 0.0
        self.chunk_size = _CHUNK
        self._closing = threading.Event()  # wakes stalled handlers when the server stops
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self._httpd.server_address[1]}"

    def url(self, relative: str | os.PathLike) -> str:
        """URL of a file under the served folder."""
        return f"{self.base_url}/{quote(Path(relative).as_posix())}"

    def reset(self) -> None:
        """Zero the counters and stop misbehaving."""
        with self._lock:
            self.bytes_sent = self.requests = 0
        self.stall_s = self.chunk_delay_s = 0.0
        self.stall_after, self.chunk_size = 0, _CHUNK

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._closing.wait(seconds)

    def _count(self, nbytes: int, request: bool = False) -> None:
        with self._lock:
            self.bytes_sent += nbytes
            self.requests += int(request)


def _make_handler(server: RangeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (quiet)
            pass

        def _resolve(self) -> Path | None:
            relative = unquote(urlsplit(self.path).path).lstrip("/")
            path = (server.root / relative).resolve()
            if server.root not in path.parents or not path.is_file():
                return None
            return path

        def _answer(self, body: bool) -> None:
            server._count(0, request=True)
            if server.requests > server.stall_after:
                server._wait(server.stall_s)
            path = self._resolve()
            if path is None:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            size = path.stat().st_size
            start, stop, status = 0, size, HTTPStatus.OK
            header = self.headers.get("Range")
            if header:
                match = _RANGE.match(header.strip())
                if not match or match.groups() == ("", ""):
                    self.send_error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    return
                first, last = match.groups()
                if first:
                    start, stop = int(first), min(size, int(last) + 1) if last else size
                else:  # suffix range: the last N bytes
                    start, stop = max(0, size - int(last)), size
                if start >= size or start >= stop:
                    self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = HTTPStatus.PARTIAL_CONTENT
            self.send_response(status)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(stop - start))
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
            self.end_headers()
            if not body:
                return
            with path.open("rb") as handle:
                handle.seek(start)
                remaining = stop - start
                while remaining > 0:
                    chunk = handle.read(min(server.chunk_size, remaining))
                    if not chunk:
                        break
                    try:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        break  # the client stopped reading (e.g. it only needed the start)
                    server._count(len(chunk))
                    remaining -= len(chunk)
                    server._wait(server.chunk_delay_s)

        def do_GET(self) -> None:  # noqa: N802  (http.server naming)
            self._answer(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

    return Handler


@contextmanager
def serve_directory(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 0) -> Iterator[RangeServer]:
    """Serve the files under `root` over HTTP with Range support until the block exits.

    Args:
        root: Folder to serve (only files inside it are reachable).
        host: Interface to bind (loopback by default).
        port: Port; 0 picks a free one.

    Yields:
        The running `RangeServer`.
    """
    server = RangeServer(Path(root), host, port)
    thread = threading.Thread(target=server._httpd.serve_forever, name="vidret-range-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server._closing.set()
        server._httpd.shutdown()
        server._httpd.server_close()
        thread.join(timeout=5)
