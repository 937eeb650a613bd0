"""DataLoader decode workers that exit when the process that started them dies.

PyTorch's workers notice a dead parent only between items: a worker busy decoding (a long video,
a slow server) keeps running, and holding its memory, after ``vidret evaluate`` is killed with
SIGKILL. `exit_with_parent`, passed as the DataLoader's ``worker_init_fn``, closes that gap twice:

- on Linux the kernel sends the worker SIGKILL the moment its parent dies
  (``prctl(PR_SET_PDEATHSIG)``, set through ctypes);
- everywhere, a daemon thread waits on the parent (`multiprocessing.parent_process`, whose
  sentinel is a pipe the parent holds open) and checks the parent pid every PARENT_POLL_S
  seconds (a POSIX orphan is re-parented), then ends the worker with ``os._exit``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import sys
import threading

logger = logging.getLogger(__name__)

#: How often the watch thread checks that the parent is still there (seconds).
PARENT_POLL_S = 1.0
#: Exit status of a worker whose parent died (128 + SIGHUP, as a shell reports a hang-up).
ORPHAN_EXIT_CODE = 129
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def exit_with_parent(worker_id: int = 0) -> None:
    """``worker_init_fn`` for DataLoaders: make this worker process exit when its parent dies.

    Args:
        worker_id: The DataLoader's worker index (unused; part of the hook's signature).
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child (e.g. called in the main process)
        return
    if sys.platform.startswith("linux"):
        _set_parent_death_signal()
    if _orphaned(parent):  # the parent died before the signal was armed
        os._exit(ORPHAN_EXIT_CODE)
    threading.Thread(target=_watch, args=(parent,), name="vidret-parent-watch", daemon=True).start()


def _set_parent_death_signal() -> bool:
    """Ask the Linux kernel for SIGKILL when the parent dies; False when that is not possible."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    except (OSError, AttributeError) as err:  # the watch thread still covers this worker
        logger.debug("parent-death signal not set: %s", err)
        return False
    return True


def _orphaned(parent: multiprocessing.process.BaseProcess) -> bool:
    """True when `parent` is gone: its sentinel closed, or this process was re-parented."""
    if os.getppid() != parent.pid:
        return True
    try:
        return not parent.is_alive()
    except (OSError, ValueError):  # no usable sentinel: rely on the pid check
        return False


def _watch(parent: multiprocessing.process.BaseProcess) -> None:
    while True:
        try:
            parent.join(PARENT_POLL_S)  # returns early when the parent's sentinel closes
        except (OSError, ValueError):
            threading.Event().wait(PARENT_POLL_S)
        if _orphaned(parent):
            os._exit(ORPHAN_EXIT_CODE)
