"""Logging for the `vidret` command: every message shown once, in one format.

huggingface_hub and datasets attach their own stderr handler to their root logger *and* let
records propagate, so under a configured root logger each of their warnings (e.g. every
"Retrying in 1s [Retry 1/5]") used to print twice: raw, then through our format.
"""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

# One INFO line per HTTP request or lock is noise unless asked for with --verbose.
CHATTY_LOGGERS = ("httpx2", "httpx", "httpcore", "filelock", "fsspec", "urllib3")


class NotShownElsewhere(logging.Filter):
    """Pass a record only if no logger between its own and the root printed it already.

    Libraries imported after the CLI started (datasets, transformers under CI) may attach their
    own console handler; their records are then left to that handler.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        logger: logging.Logger | None = logging.getLogger(record.name)
        root = logging.getLogger()
        while logger is not None and logger is not root:
            if any(_is_console(h) for h in logger.handlers):
                return False
            if not logger.propagate:
                break
            logger = logger.parent  # type: ignore[assignment]
        return True


def _is_console(handler: logging.Handler) -> bool:
    return type(handler) is logging.StreamHandler and getattr(handler, "stream", None) in (sys.stderr, sys.stdout)


def configure_logging(verbose: bool = False) -> None:
    """Set up the command's logging, unless the host program already configured the root logger.

    Args:
        verbose: log at DEBUG level, HTTP request lines included.
    """
    root = logging.getLogger()
    if root.handlers:  # embedded in a program (or pytest) that owns logging: leave it alone
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(NotShownElsewhere())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    # huggingface_hub's retry warnings come through our handler instead of its own (cheap import).
    import huggingface_hub.utils.logging  # noqa: F401  (attaches its handler on import)

    hub_logger = logging.getLogger("huggingface_hub")
    for h in list(hub_logger.handlers):
        if _is_console(h):
            hub_logger.removeHandler(h)
