"""`FrameBatch`: sampled frames with each frame's own timestamp, as torchcodec's `FrameBatch` holds them.

``sample_frames(..., with_timestamps=True)`` (and `sample_frames_at`) return one instead of the
bare array. Times are seconds after the video's first frame: the origin `start`, `end` and
`sample_frames_at`'s `timestamps` use, so ``sample_frames_at(src, batch.pts_seconds)`` returns
the same frames. (torchcodec counts from the stream's time 0, which differs when the first frame
is not at 0.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vidret.video.decoder import FrameFetcher


@dataclass(frozen=True)
class FrameBatch:
    """Frames and when each is shown.

    Attributes:
        data: uint8 array (T, H, W, 3), RGB: what `sample_frames` returns without timestamps.
        pts_seconds: float64 (T,): the presentation time of each decoded frame. In exact mode the
            frame shown at the sample time (its pts is at or before it, less than a frame
            interval earlier); in keyframe mode the keyframe's, up to a GOP earlier.
        sample_seconds: float64 (T,): the times that were sampled (uniform bin centres, the rate
            grid, or the timestamps asked for): what `vidret sample` prints as ``t=``.
    """

    data: np.ndarray
    pts_seconds: np.ndarray
    sample_seconds: np.ndarray

    def __len__(self) -> int:
        return len(self.data)


class TimedFrameFetcher(FrameFetcher):
    """A `FrameFetcher` that remembers the pts of the frame behind every array it returns.

    `FrameFetcher.exact` / `keyframe` map each target to an array made by `_to_array(frame)`
    (targets shown by the same frame share the array), so the array's identity names its frame.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pts_by_array: dict[int, int] = {}

    def _to_array(self, frame: Any) -> np.ndarray:
        array = super()._to_array(frame)
        self._pts_by_array[id(array)] = self._pts(frame)  # the array stays alive in the result
        return array

    def pts_of(self, array: np.ndarray) -> int:
        """The pts (stream ticks) of the frame `array` was decoded from."""
        return self._pts_by_array[id(array)]
