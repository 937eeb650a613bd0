"""DataLoader decode workers: what they decode (`SegmentDecoder`), and that they exit with their parent.

`SegmentDecoder` is the map-style dataset the model source's DataLoader reads: one item is one
group of segments of one video (`vidret.video.group_segments`), decoded in a worker process by
the grouped segment decoder `vidret.video.decode_group` -- the decoder `vidret.datasets.with_frames`
uses too, so the runner and a user's own loop read the same frames for the same clip.

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
from collections.abc import Sequence
from typing import Any

from vidret.evaluation.running.limits import BatchBudget
from vidret.video.concat import decode_concatenated
from vidret.video.segments import SegmentFrames, decode_group, decode_settings

logger = logging.getLogger(__name__)

#: How often the watch thread checks that the parent is still there (seconds).
PARENT_POLL_S = 1.0
#: Exit status of a worker whose parent died (128 + SIGHUP, as a shell reports a hang-up).
ORPHAN_EXIT_CODE = 129
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class SegmentDecoder:
    """A map-style dataset over groups of segments of one video each; item = the decoded group.

    Decoding happens in `__getitem__`, so with ``num_workers > 0`` it runs in DataLoader worker
    processes while the main loop runs the model. An item is a list of
    ``SegmentFrames(segment, frames | None, error | None)``, one per segment of the group, in
    order: a failed segment comes back with its error text, the others with their frames.

    Args:
        groups: lists of segments (anything with ``source``, ``start``, ``end``), each list from
            one video source (`vidret.video.group_segments`).
        num_frames: frames per segment (uniformly spaced), unless `sampling` says otherwise.
        size: (width, height) to decode at, or None for the native size.
        mode: "exact" or "keyframe".
        timeout: seconds allowed per remote video (None: `vidret.video`'s default).
        sampling: rate sampling instead of `num_frames`: ``{"fps": R}`` or ``{"frame_stride": S}``,
            optionally with ``"max_frames": M`` (see `vidret.video.sample_frames`); None = uniform.
        budget: the memory one batch may take; a segment whose frames cannot fit it alone comes
            back as a failure naming the budget (dropped in the worker, not sent to the model).

    Raises:
        ValueError: bad sampling, size, mode or timeout (checked here, once, not per item).
    """

    def __init__(
        self,
        groups: list[list[Any]],
        num_frames: int,
        size: Sequence[int] | None,
        mode: str,
        timeout: float | None = None,
        sampling: dict[str, Any] | None = None,
        budget: BatchBudget | None = None,
    ) -> None:
        self.groups = groups
        self.budget = budget
        # Rate sampling (--fps / --frame-stride) replaces the uniform frame count.
        frames = dict(sampling) if sampling else {"num_frames": num_frames}
        self.settings = decode_settings(**frames, size=tuple(size) if size else None, mode=mode, timeout=timeout)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index: int) -> list[SegmentFrames]:
        group = self.groups[index]
        # A full video joined from its clips' frames (`Segment.parts`) is a group of its own.
        joined = len(group) == 1 and bool(getattr(group[0], "parts", ()))
        decoded = [decode_concatenated(group[0], self.settings)] if joined else decode_group(group, self.settings)
        if self.budget is None:
            return decoded
        out = []
        for segment, frames, error in decoded:
            refused = self.budget.refusal(frames, segment.source) if frames is not None else None
            out.append(SegmentFrames(segment, None, refused) if refused else SegmentFrames(segment, frames, error))
        return out


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
