"""Which videos a dataset may point at: only inside its own repo or video root, unless allowed.

A dataset row's video reference is data, and data can be hostile: a row naming
``http://169.254.169.254/...`` or ``/home/me/.ssh/id_rsa`` would make an evaluation send requests
to internal addresses or open local files. So a reference is accepted only when it stays inside
the root it is resolved against, decided from the text alone (nothing is opened or requested):

- a relative path is inside unless its ``..`` components climb above the root (backslashes count
  as separators, so a Windows-style ``..\\..\\x`` is caught on any system);
- an absolute path is inside only when the root is a local folder that (lexically) contains it;
- a URL (``scheme://...``, including ``file://``) is inside only when the root is a URL and the
  reference starts with the root followed by ``/`` and has no ``..`` segment, even percent-encoded.

Symbolic links inside a local root are followed as usual: a Hub snapshot's files are links into
its cache, and a folder of videos the user linked together is the user's choice. External
references are read only when the user allows them explicitly (``allow_external=True``; the CLI's
``--allow-external-videos``).
"""

from __future__ import annotations

import os
import posixpath
from urllib.parse import unquote

from vidret.common import is_absolute_path, is_url


class ExternalVideoError(ValueError):
    """A dataset row names a video outside the dataset repo / video root, and external videos
    are not allowed. The message names the reference, the root and how to allow it."""


def _climbs_out(relative: str) -> bool:
    """True when `relative` (a path below some root) leaves that root through ``..``."""
    for text in {relative, unquote(relative)}:
        normal = posixpath.normpath(text.replace("\\", "/"))
        if normal == ".." or normal.startswith("../"):
            return True
    return False


def is_inside(reference: str, root: str | os.PathLike) -> bool:
    """Whether `reference` resolved against `root` stays inside it (see the module docstring).

    Args:
        reference: A row's video value: a path relative to the root, an absolute path or a URL.
        root: The local folder or URL prefix (``hf://datasets/<repo>@<revision>``) it resolves against.

    Returns:
        True when the reference stays inside the root.
    """
    root = os.fspath(root)
    if is_url(reference):
        if not is_url(root):
            return False
        prefix = root.rstrip("/") + "/"
        return reference.startswith(prefix) and not _climbs_out(reference[len(prefix) :])
    if is_absolute_path(reference):  # drive-relative "C:x" included: joined to root on Windows, it leaves it
        if is_url(root):
            return False
        base = os.path.normpath(os.path.abspath(root))
        target = os.path.normpath(reference)
        return target.startswith(base.rstrip(os.sep) + os.sep)
    return not _climbs_out(reference)


def check_inside(reference: str, root: str | os.PathLike, *, allow_external: bool = False) -> None:
    """Refuse a video reference that leaves `root`, unless external videos are allowed.

    Args:
        reference: A row's video value.
        root: The dataset repo / video root it resolves against.
        allow_external: Accept any reference (the user allowed external videos explicitly).

    Raises:
        ExternalVideoError: `reference` is outside `root` and `allow_external` is False.
    """
    if allow_external or is_inside(reference, root):
        return
    raise ExternalVideoError(
        f"video {reference!r} is outside the dataset ({os.fspath(root)}): vidret reads videos only inside the "
        "dataset repo or the video root unless external videos are allowed explicitly "
        "(vidret evaluate --allow-external-videos; with_frames(..., allow_external=True))"
    )
