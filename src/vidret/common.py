"""Small helpers every layer uses, each defined once: files, names, paths, redaction, a median.

- Files: `atomic_writer` / `atomic_write_bytes` / `atomic_write_text` / `atomic_path` write a
  temporary file beside the destination, flush and fsync it, then rename it over the
  destination, so a reader sees the old file or the new one, never half of one; on any failure
  (Ctrl-C included) the temporary file is removed and the old content is left as it was.
  `sha256_file` hashes a file in chunks.
- Names: `safe_component` / `is_safe_component` accept ONE file or folder name (ids and split
  names that become file names: "../x" must not write outside the folder).
- Paths and ids: `is_url`, `is_absolute_path`, `is_local_path`, and `HUB_ID` / `is_hub_id`
  (huggingface_hub's rules for ``org/name``).
- Redaction: `redact` cuts every local path in a text to ``<local>/<file name>``; `redact_tree`
  does it to every string in nested dicts and lists; `local_roots` picks the paths to replace
  whole. `vidret submit` and `vidret embeddings export` both publish through these.
- `weighted_median`: the median of values repeated by integer counts.
- Plug-ins: `load_plugin` imports an entry point of another package with whatever its import
  raises (even `SystemExit`) contained and returned as text; a real Ctrl-C still interrupts.

Standard library only, so any vidret module may import it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import numbers
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

# ---- files -----------------------------------------------------------------------------------


def _temporary_beside(dest: Path) -> Path:
    # A hidden, unique name in the destination's folder: the rename stays on one file system.
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; Windows cannot open a folder for this)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename itself is done
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], mode: str = "wb", *, encoding: str | None = None, durable: bool = True
) -> Iterator[IO[Any]]:
    """An open file whose content replaces `path` atomically when the block ends without error.

    Args:
        path: the destination (its folder must exist).
        mode: "wb" (default), "w" or "wt".
        encoding: text mode only; default UTF-8.
        durable: fsync the file and its folder (False: still atomic for readers and killed
            processes, but a power loss may lose or tear it; for files checked when read, such as
            embedding cache parts, where an fsync per batch costs more than it protects).

    Yields:
        The temporary file, open for writing.

    Raises:
        ValueError: another mode.
        OSError: the file cannot be written or renamed (the temporary file is removed).
    """
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"atomic_writer: mode must be 'w', 'wt' or 'wb', got {mode!r}")
    dest = Path(path)
    tmp = _temporary_beside(dest)
    binary = "b" in mode
    try:
        with open(tmp, "xb" if binary else "x", encoding=None if binary else (encoding or "utf-8")) as fh:
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        _remove_quietly(tmp)
        raise
    if durable:
        _fsync_folder(dest.parent)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that takes a file name (e.g. safetensors);
    when the block ends without error the file is fsynced and renamed over `path`.

    Yields:
        The temporary path (not yet created).

    Raises:
        FileNotFoundError: the block wrote nothing there. On any failure the temporary file is removed.
    """
    dest = Path(path)
    tmp = _temporary_beside(dest)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY if os.name == "posix" else os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_folder(dest.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically (see `atomic_writer`); returns the path."""
    with atomic_writer(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (see `atomic_writer`); returns the path."""
    with atomic_writer(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read `chunk` bytes at a time (default 1 MiB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- names -----------------------------------------------------------------------------------

# Separators and control characters (C0, DEL, C1): never part of a name vidret writes.
_UNSAFE_CHARACTERS = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")
MAX_NAME_BYTES = 255  # the usual limit of one file name


@functools.lru_cache(maxsize=1 << 16)  # ids repeat across rows (a TF-CoVR video appears in many triplets)
def is_safe_component(name: str) -> bool:
    """True when `name` is usable as ONE file or folder name.

    Refused: the empty name, ``.`` and ``..``, ``/`` and ``\\`` (a separator on some system),
    control characters (NUL and ESC included), and names over 255 bytes in UTF-8.
    """
    return (
        isinstance(name, str)
        and bool(name)
        and name not in (".", "..")
        and _UNSAFE_CHARACTERS.search(name) is None
        and len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES
    )


def safe_component(name: str, what: str) -> str:
    """`name` when it is one safe path component (see `is_safe_component`).

    Args:
        name: the value that becomes a file or folder name.
        what: what it is, for the message (``"split"``, ``"video id"``).

    Raises:
        ValueError: naming `what` and the value.
    """
    if not is_safe_component(name):
        raise ValueError(
            f"{what} {name!r} is not a safe file name (one path component: not empty, '.' or '..', no '/' or '\\', "
            f"no control characters, at most {MAX_NAME_BYTES} bytes)"
        )
    return name


# ---- paths and ids ---------------------------------------------------------------------------


def is_url(text: str) -> bool:
    """True for text written as a URL: it holds ``://`` (how fsspec tells a URL from a path).

    ``file://`` counts: callers that treat it as local say so.
    """
    return "://" in text


# "/x", "//server" (UNC with slashes), "\x", "\\server", "\\?\C:\x", "\\.\C:\x" start with a
# separator; "C:\x", "C:/x" and the drive-relative "C:x" start with a drive.
_ABSOLUTE = re.compile(r"^(?:[/\\]|[A-Za-z]:)")


def is_absolute_path(path: str | os.PathLike[str]) -> bool:
    """True for a path that does not stay below a folder it is joined to, on any system.

    POSIX ``/x``; Windows ``C:\\x``, ``C:/x``, root-relative ``\\x`` and drive-relative ``C:x``
    (joined to a folder on Windows, it leaves it); UNC ``\\\\server\\share`` and
    ``//server/share``; the ``\\\\?\\`` and ``\\\\.\\`` prefixes. Decided from the text alone.
    """
    return _ABSOLUTE.match(os.fspath(path)) is not None


def is_local_path(text: str) -> bool:
    """True for text written as a local file path rather than a Hub id or a URL.

    That is: an absolute path (`is_absolute_path`), one starting with ``.`` or ``~``
    (``./x``, ``../x``, ``~/x``: a Hub id never does), one holding a backslash, or a ``file:``
    URL. A bare relative ``a/b`` is not decided here: it may be a Hub id or a folder.
    """
    return is_absolute_path(text) or text.startswith((".", "~")) or "\\" in text or text[:5].lower() == "file:"


_HUB_NAME = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
#: huggingface_hub's repo id: an optional ``org/`` and a name, each 1-96 ASCII letters, digits,
#: ``_``, ``.`` or ``-``, starting and ending with a letter, digit or ``_``. `is_hub_id` adds the
#: rest of its rules (no ``--`` or ``..``, no ``.git`` ending).
HUB_ID = re.compile(rf"(?:(?P<org>{_HUB_NAME})/)?(?P<name>{_HUB_NAME})")


def is_hub_id(text: str, *, require_org: bool = True) -> bool:
    """True when `text` is a valid Hub repo id ``org/name`` (or ``name`` with `require_org` off)."""
    if not isinstance(text, str):
        return False
    match = HUB_ID.fullmatch(text)
    return (
        match is not None
        and (match.group("org") is not None or not require_org)
        and "--" not in text
        and ".." not in text
        and not text.endswith(".git")
    )


# ---- redaction -------------------------------------------------------------------------------

LOCAL = "<local>"  # what a local folder becomes in published text

# Where a local path starts inside free text: a URL scheme (checked first, so "hf://..." and
# "https://..." are skipped whole; "file://" is a local path), a "\\?\" or "\\.\" prefix, a
# Windows drive, a UNC root ("\\nas\" or "//nas/"), a root-relative "\x\...", "~/", "~user/" or
# a POSIX "/". A root right after a word character, ">", "/", ".", "~" or "\" is not a path
# start: "t2v/R@1", "org/name", "3/4", "./rel" and an already redacted "<local>/x.mp4" stay.
_PATH_START = re.compile(
    r"(?P<url>\b[A-Za-z][A-Za-z0-9+.-]*://)"
    r"|(?<![\w>/.~\\])(?P<root>\\\\[?.]\\|[A-Za-z]:[\\/]|\\\\(?=\w)|//(?=\w)|\\(?=[^\s\\]+\\)"
    r"|~[\w.-]*[/\\]|/(?=[^\s/]))"
)
_URL_END = re.compile(r"[\s'\"<>]|$")
# What ends an unquoted path's folders: a line break, a quote, a pipe or angle bracket, or a
# ":", ";" or "," followed by a space (how messages separate a path from what follows).
_PATH_STOP = re.compile(r"[\n\r\t'\"<>|]|[:;,]\s")
_SEPARATORS = re.compile(r"[/\\]")
# The file name after the last separator: kept, up to a space, a bracket or punctuation.
_FILE_NAME = re.compile(r"[^\s()\[\]{}'\"<>|,;:]*")
_NOT_A_NAME = re.compile(r"^(?:file:|~|\?|\.|[A-Za-z]:)$")  # roots and prefixes, not folder names


def _local_name(path: str) -> str:
    """``<local>/<last component>`` of a local path (``<local>`` alone when it has none)."""
    parts = [p for p in _SEPARATORS.split(path) if p and not _NOT_A_NAME.match(p)]
    return f"{LOCAL}/{parts[-1]}" if parts else LOCAL


def redact(text: str, roots: Iterable[str] = ()) -> str:
    """`text` with every local path cut to ``<local>/<file name>``.

    First each of `roots` is replaced wherever it occurs (longest first): the paths a record
    names itself, whose folders may hold any character. Then any other absolute, home-relative,
    Windows, UNC or ``file://`` path: it runs to its last separator before the end of the line,
    a quote or a ``": "``-style break, so folder names with spaces or parentheses go with it
    (erring toward cutting too much, never too little); a quoted path runs to its closing quote.

    Args:
        text: free text (an error message, a field value).
        roots: local paths to replace whole (see `local_roots`).

    Returns:
        The text; URLs other than ``file://`` and relative ids such as ``org/name`` are kept.
        Redacting twice changes nothing more.
    """
    for root in sorted(roots, key=len, reverse=True):
        if root and root in text:
            text = text.replace(root, _local_name(root))
    out: list[str] = []
    done = search_from = 0
    while (match := _PATH_START.search(text, search_from)) is not None:
        start = match.start()
        if match.group("url") and match.group("url").lower() != "file://":
            search_from = max(_URL_END.search(text, match.end()).start(), match.end())
            continue
        quote = text[start - 1] if start and text[start - 1] in "'\"" else None
        if quote:  # a quoted path runs to its closing quote, spaces and punctuation included
            ends = [i for i in (text.find(quote, match.end()), text.find("\n", match.end())) if i >= 0]
            stop = min(ends, default=len(text))
        else:
            found = _PATH_STOP.search(text, match.end())
            stop = found.start() if found else len(text)
        last_separator = max(text.rfind("/", start, stop), text.rfind("\\", start, stop))
        name = _FILE_NAME.match(text, last_separator + 1, stop).group(0)
        end = last_separator + 1 + len(name)
        out += [text[done:start], _local_name(text[start:end])]
        done = search_from = end
    return "".join(out) + text[done:]


def redact_tree(value: Any, roots: Iterable[str] = (), changed: list[str] | None = None) -> Any:
    """A copy of `value` (dicts, lists, strings, other values) with `redact` applied to every string.

    Args:
        value: e.g. a results record or metadata to publish.
        roots: see `redact`.
        changed: when given, the dotted path of every string that changed is appended
            (``"failures.2.reason"``).

    Returns:
        The copy; keys are kept as they are.
    """
    roots = list(roots)

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {key: walk(item, f"{where}.{key}" if where else str(key)) for key, item in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(item, f"{where}.{i}" if where else str(i)) for i, item in enumerate(node)]
        if isinstance(node, str):
            redacted = redact(node, roots)
            if redacted != node and changed is not None:
                changed.append(where)
            return redacted
        return node

    return walk(value, "")


def local_roots(values: Iterable[object]) -> list[str]:
    """The values to replace whole in published text: local paths with at least one separator.

    Skipped: non-strings, URLs (``file://`` excepted), Hub ids ``org/name`` that are not a
    folder here, and bare names (replacing "lovr" would replace every word like it). Trailing
    separators are dropped.
    """
    roots = []
    for value in values:
        if not isinstance(value, str) or (is_url(value) and not value.lower().startswith("file://")):
            continue
        if is_hub_id(value) and not Path(value).exists():
            continue
        value = value.rstrip("/\\")
        if _SEPARATORS.search(value):
            roots.append(value)
    return roots


# ---- statistics ------------------------------------------------------------------------------


def weighted_median(values: Sequence[float], weights: Sequence[int]) -> float:
    """The median of `values`, each repeated `weights` times (as `numpy.median` of that list).

    With n = sum(weights), the mean of the values at sorted positions (n - 1) // 2 and n // 2.

    Raises:
        ValueError: lengths differ, a weight is not a non-negative integer, or all weights are 0.
    """
    if len(values) != len(weights):
        raise ValueError(f"weighted_median: {len(values)} values but {len(weights)} weights")
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, numbers.Integral) or weight < 0:
            raise ValueError(f"weighted_median: weights must be non-negative integers, got {weight!r}")
    total = int(sum(weights))
    if total == 0:
        raise ValueError("weighted_median: the weights sum to 0")
    runs = sorted(zip(values, weights), key=lambda run: run[0])

    def at(position: int) -> float:  # 0-based position in the sorted, repeated values
        for value, weight in runs:
            if position < weight:
                return value
            position -= weight
        raise IndexError(position)  # unreachable: position < total

    return (at((total - 1) // 2) + at(total // 2)) / 2


# ---- plug-ins ----------------------------------------------------------------------------------


def load_plugin(entry_point: Any) -> tuple[Any, str | None]:
    """`entry_point.load()`, with anything the plug-in's import raises contained.

    A plug-in is another package's code: a bug, a missing dependency, ``sys.exit(3)`` or a stray
    ``raise KeyboardInterrupt`` in its import must cost that plug-in, not the vidret command. Every
    `BaseException` from the import is therefore caught, with one exception: a Ctrl-C the user
    presses while the plug-in loads still interrupts. A SIGINT handler is installed for the
    import (main thread only: signals are delivered there) that marks the interrupt as real before
    raising KeyboardInterrupt as Python's own handler does; a KeyboardInterrupt without that mark
    was raised by the plug-in itself, and is contained like any other error.

    Args:
        entry_point: an `importlib.metadata.EntryPoint` (anything with `load()`).

    Returns:
        (the loaded object, None), or (None, "<ExceptionType>: <message>") when the import failed.

    Raises:
        KeyboardInterrupt: the user pressed Ctrl-C while the plug-in loaded.
    """
    import signal
    import threading

    pressed = []
    previous: Any = None
    installed = False

    def on_sigint(signum: int, frame: Any) -> None:
        if previous == signal.SIG_IGN:
            return
        pressed.append(signum)
        if callable(previous):
            previous(signum, frame)  # e.g. signal.default_int_handler: raises KeyboardInterrupt
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):  # e.g. an embedded interpreter without signals
            previous = signal.signal(signal.SIGINT, on_sigint)
            installed = True
    try:
        return entry_point.load(), None
    except KeyboardInterrupt as err:
        if pressed:
            raise
        return None, _failure(err)
    except BaseException as err:  # noqa: BLE001  (SystemExit, GeneratorExit, any subclass: the plug-in's fault)
        return None, _failure(err)
    finally:
        if installed:  # (None: the handler was not set from Python; SIG_DFL is the closest)
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _failure(err: BaseException) -> str:
    """'<ExceptionType>: <message>' (just the type when the message is empty)."""
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
