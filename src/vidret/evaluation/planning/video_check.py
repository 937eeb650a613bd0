"""Before a run: is any video to embed where the dataset says it is?

An annotations-only repo (`vidret build --videos none`, the normal TF-CoVR case) evaluated
without `--video-root` used to log one warning per video and end with "gallery_size: 0 ...
nothing was ranked". This check fails up front instead, naming `--video-root`.
"""

from __future__ import annotations

import logging
import os

from vidret.evaluation.planning.tasks import TaskPlan
from vidret.video.source import is_remote

logger = logging.getLogger(__name__)

REMOTE_PROBES = 3  # a remote existence check is a round trip: look at a few, not all


def _remote_exists(url: str, timeout: float | None = None) -> bool | None:
    """True/False when the store answers (within `timeout` s per request), None when it cannot be asked."""
    from vidret.video.source import remote_exists

    try:
        return remote_exists(url, timeout)
    except Exception as err:  # noqa: BLE001 - unreachable or unsupported: let the run report per video
        logger.debug("could not check %s before the run: %s", url, err)
        return None


def check_videos_found(plan: TaskPlan, video_root: str | None, timeout: float | None = None) -> None:
    """Fail when none of the plan's videos exists (called before the model is loaded).

    Local files are looked at until one is found (a stat each); remote ones, the first few.
    Some videos missing is not an error here: each is counted as a failed item by the run.

    Args:
        plan: the run's task plan.
        video_root: the ``--video-root`` given, if any (named in the message).
        timeout: seconds each remote check may take (None: `vidret.video`'s default).

    Raises:
        ValueError: no video was found; the message names an expected path and ``--video-root``.
    """
    # A full video joined from its clips (`Segment.parts`) is read from its clips' files.
    sources = list(dict.fromkeys(src for s in plan.segments for src in ([p[0] for p in getattr(s, "parts", ())] or [s.source])))
    if not sources:
        return
    local = [s for s in sources if not is_remote(s)]
    if local:
        if any(os.path.exists(s.removeprefix("file://")) for s in local):
            return
        checked = len(local)
    else:
        answers = [_remote_exists(s, timeout) for s in sources[:REMOTE_PROBES]]
        if not all(answer is False for answer in answers):
            return
        checked = len(answers)
    where = f"under --video-root {video_root}" if video_root else "in the dataset repo"
    fix = "check that --video-root DIR is the folder holding the videos" if video_root else "pass --video-root DIR, the folder holding the videos"
    raise ValueError(
        f"no video was found {where}: {len(sources)} video(s) to embed, none of the {checked} looked for exists "
        f"(e.g. {sources[0]}); an annotations-only repo (built with --videos none) has none: {fix}"
    )
