"""Fetch the frames shown at a sorted list of times from one open container.

Exact mode walks the targets in order and, for each, either keeps decoding forward from where
the decoder is, or seeks back to the keyframe before the target and decodes forward from there.
It seeks only when that skips enough frames: a keyframe lies beyond the current position (known
from the container's index when it has one, e.g. MP4), or, without an index, the gap exceeds
the longest keyframe interval seen so far. So dense targets are one forward pass and sparse
targets cost one seek each, about GOP/2 decoded frames per target. On the way to a target,
non-reference frames (B-frames nothing else predicts from) more than SKIP_MARGIN_FRAMES before
it are not decoded at all; if one of them turns out to be the frame shown at the target (only
possible with gaps in a variable-frame-rate stream), that stretch is decoded again in full.
Returned frames are bit-identical to a sequential decode.

Keyframe mode returns, per target, the first frame after seeking to it (a keyframe at or before
the target); targets that map to the same keyframe share one seek. A seek finds the last keyframe
before a target even when the video ends before it (a truncated file, a header that overstates
the duration), so keyframe mode first checks, at packet level (demuxed, not decoded), that the
stream reaches its last target, and raises like exact mode when it does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from vidret.video.errors import VideoDecodeError, VideoTooLargeError
from vidret.video.metadata import StreamTiming
from vidret.video.timeline import MAX_FRAME_PIXELS

logger = logging.getLogger(__name__)

#: Seek instead of decoding forward only when it skips at least this many frames.
MIN_SEEK_SKIP_FRAMES = 15
#: Non-reference frames are skipped only when at least this many frames before the next target.
SKIP_MARGIN_FRAMES = 2
#: Without a container index, seek when the gap exceeds max(this, longest keyframe interval seen).
NO_INDEX_SEEK_GAP_S = 2.0


def too_large(label: str, width: int, height: int) -> VideoTooLargeError:
    """The error for native frames of width x height above MAX_FRAME_PIXELS."""
    return VideoTooLargeError(
        f"{label}: frames of {width}x{height} ({width * height / 1e6:.1f} megapixels) are larger than the "
        f"{MAX_FRAME_PIXELS / 1e6:.1f} megapixels vidret decodes at native size "
        "(vidret.video.timeline.MAX_FRAME_PIXELS): pass size=(width, height) to resize them while decoding"
    )


class FrameFetcher:
    """Decode frames of one open video stream at given pts (see the module docstring).

    Args:
        container: Open PyAV input container.
        stream: Its video stream.
        timing: The stream's timing.
        label: Source name for error messages.
        size: Output (width, height), resized inside FFmpeg; None keeps the native size.
        progress: Optional callback called with the number of targets just resolved.
        on_native_size: With no `size`: called with the (width, height) taken from the first
            decoded frame, before it is kept (the caller checks the output that size implies:
            a header may understate it).
        skip_nonref: In exact mode, don't decode non-reference frames that lie well before
            the next target (results are unchanged; see `exact`).
    """

    def __init__(
        self,
        container: Any,
        stream: Any,
        timing: StreamTiming,
        label: str,
        size: tuple[int, int] | None = None,
        progress: Callable[[int], object] | None = None,
        skip_nonref: bool = True,
        on_native_size: Callable[[int, int], object] | None = None,
    ) -> None:
        self.container, self.stream, self.timing, self.label = container, stream, timing, label
        self.skip_nonref = skip_nonref
        self.size = size
        self.progress = progress or (lambda n: None)
        self.on_native_size = on_native_size or (lambda width, height: None)
        self.frame_ticks = max(1, round(1 / (timing.fps * float(timing.time_base))))
        try:
            entries = stream.index_entries
            self.index = entries if len(entries) else None
        except AttributeError:  # older PyAV without index access
            self.index = None
        self.max_key_gap: int | None = None  # longest keyframe interval seen (no-index heuristic)
        self.seeks = 0  # counted for tests and benchmarks
        self._seeked_for: int | None = None  # target of the last exact-mode seek
        self._seek_entry: int | None = None  # its index entry
        self.read_error: str | None = None  # why decoding stopped early, for error messages
        # Non-reference frames with pts below skip_before are not decoded (None: decode all);
        # max_skipped is the latest pts skipped since the last seek.
        self.skip_before: int | None = None
        self.max_skipped: int | None = None
        self._skipping = False
        self._out_size: tuple[int, int] | None = size

    # -- helpers ---------------------------------------------------------------------------------

    def _to_array(self, frame: Any) -> np.ndarray:
        if self._out_size is None:
            # No size asked for: native size, within the limit (the container's header may
            # not have said how large the frames really are).
            if frame.width * frame.height > MAX_FRAME_PIXELS:
                raise too_large(self.label, frame.width, frame.height)
            self.on_native_size(frame.width, frame.height)
            self._out_size = (frame.width, frame.height)
        width, height = self._out_size
        if (frame.width, frame.height) == (width, height):
            return frame.to_ndarray(format="rgb24")
        return frame.to_ndarray(format="rgb24", width=width, height=height)

    def _pts(self, frame: Any) -> int:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            raise VideoDecodeError(f"{self.label}: decoded a frame without a timestamp")
        return int(pts)

    def _seek_frames(self, pts: int | None) -> Iterator[Any]:
        """Seek to the keyframe at or before `pts` (None: the start) and iterate frames from there."""
        import av

        self.seeks += 1
        self.max_skipped = None
        try:
            if pts is None:
                # Container-level seek to time 0: some demuxers (MPEG-TS) land after the first
                # keyframe when asked for the stream's start pts, others (AVI) refuse pts below it.
                self.container.seek(0)
            else:
                self.container.seek(pts, stream=self.stream, backward=True)
        except av.error.FFmpegError as err:
            when = "the start" if pts is None else f"{self.timing.to_seconds(pts):.3f} s"
            raise VideoDecodeError(f"{self.label}: seek to {when} failed: {err}") from err
        return self._frames()

    def _frames(self) -> Iterator[Any]:
        """Decoded frames from the current position; stops quietly at unreadable data."""
        import av

        context = getattr(self.stream, "codec_context", None)
        try:
            for packet in self.container.demux(self.stream):
                # Frames no other frame references, well before the next target, are not
                # decoded at all (about a third of an x264 stream). `exact` checks afterwards
                # that none of them was the frame it needed.
                skip = self.skip_before is not None and packet.pts is not None and packet.pts < self.skip_before
                if skip:
                    self.max_skipped = packet.pts if self.max_skipped is None else max(self.max_skipped, packet.pts)
                if context is not None and skip != self._skipping:
                    context.skip_frame = "NONREF" if skip else "DEFAULT"
                    self._skipping = skip
                yield from packet.decode()
        except av.error.FFmpegError as err:
            # Truncated or damaged data: treat as end of the readable part; targets past the
            # last decoded frame then fail with a message that says so. (A source that fails
            # to read raises VideoDecodeError from `source.GuardedReader`, which passes.)
            self.read_error = f"{type(err).__name__}: {err}"
            logger.debug("%s: decoding stopped: %s", self.label, self.read_error)

    def _start_at(self, target: int) -> tuple[Iterator[Any], Any, bool, bool]:
        """Seek for `target`.

        Returns:
            (iterator, first frame, stepped back, reached): the first frame has pts <= target
            unless the video starts later; `reached` is False when the seek found nothing to
            decode at the target and a step back was needed, i.e. the video may not reach it.

        Some containers land after the target (e.g. MP4 indexes keyframes by decode time, which
        runs a few frames ahead of presentation time with B-frames), others past the last
        keyframe (MPEG-TS near the end: nothing decodes); step back until a frame at or before
        the target comes out. Steps grow fourfold, so this ends after a few seeks.
        """
        back = 0
        reached = True
        while True:
            at_start = target - back <= self.timing.start_pts
            frames = self._seek_frames(None if at_start else target - back)
            first = next(frames, None)
            if at_start or (first is not None and self._pts(first) <= target):
                return frames, first, back > 0, reached and first is not None
            if back == 0 and first is None:
                reached = False
            back = max(back * 4, self.frame_ticks * 8)

    def _key_entry(self, target: int) -> int | None:
        """Index entry of the keyframe a seek to `target` lands on, when the index knows it."""
        if self.index is None:
            return None
        try:
            entry = self.index.search_timestamp(target, backward=True)
        except Exception:  # noqa: BLE001  (index lookups are an optimisation only)
            return None
        return entry if entry >= 0 else None

    def _should_seek(self, position: int | None, last_key: int | None, target: int) -> bool:
        if position is None or target < position:
            return True
        if target == self._seeked_for:
            return False  # already seeked for it: seeking again lands on the same spot
        entry = self._key_entry(target)
        if entry is not None:
            if entry == self._seek_entry:
                return False  # would land on the keyframe the last seek used (or stepped back from)
            # Index timestamps are decode times, a few frames ahead of presentation times with
            # B-frames; the skip threshold is far larger than that shift.
            key = self.index[entry].timestamp
            return key > position and key - position >= MIN_SEEK_SKIP_FRAMES * self.frame_ticks
        seen = max(self.max_key_gap or 0, position - (last_key if last_key is not None else position))
        threshold = max(seen, int(NO_INDEX_SEEK_GAP_S / float(self.timing.time_base)))
        return target - position > threshold

    def _missing(self, target: int, last: int | None) -> VideoDecodeError:
        when = self.timing.to_seconds(target)
        if last is None:
            reason = "no frame could be decoded there"
        else:
            reason = f"the last readable frame is at {self.timing.to_seconds(last):.3f} s"
        extra = self.read_error
        return VideoDecodeError(
            f"{self.label}: no frame at {when:.3f} s: video is truncated or corrupt ({reason}"
            + (f"; {extra}" if extra else "")
            + ")"
        )

    # -- public ----------------------------------------------------------------------------------

    def exact(self, targets: Sequence[int]) -> dict[int, np.ndarray]:
        """Exact frames shown at each pts in `targets` (sorted ascending, unique).

        Raises:
            VideoDecodeError: If a target lies past the readable part of the video.
        """
        out: dict[int, np.ndarray] = {}
        pending = list(targets)
        i = 0
        frames: Iterator[Any] | None = None
        prev: Any = None  # last decoded frame
        prev_pts: int | None = None
        last_key: int | None = None
        self._seeked_for, self._seek_entry = None, None
        skipping = self.skip_nonref
        margin = SKIP_MARGIN_FRAMES * self.frame_ticks
        while i < len(pending):
            target = pending[i]
            self.skip_before = target - margin if skipping else None
            if frames is None or self._should_seek(prev_pts, last_key, target):
                self._seeked_for, self._seek_entry = target, self._key_entry(target)
                frames, first, _, _ = self._start_at(target)
                if first is None:
                    raise self._missing(target, None)
                prev, prev_pts, last_key = first, self._pts(first), self._pts(first)
            advanced = False
            for frame in frames:
                pts = self._pts(frame)
                if frame.key_frame and pts != last_key:
                    if last_key is not None and pts > last_key:
                        self.max_key_gap = max(self.max_key_gap or 0, pts - last_key)
                    last_key = pts
                if pts <= prev_pts:  # reordered or duplicate timestamp: keep the later frame
                    prev, prev_pts = frame, max(pts, prev_pts)
                    continue
                if i < len(pending) and pending[i] < pts and self.max_skipped is not None and self.max_skipped > prev_pts:
                    # A skipped frame lay between prev and the target (a gap in a variable
                    # frame rate stream): decode this stretch again without skipping.
                    skipping, frames, advanced = False, None, True
                    break
                array = None
                while i < len(pending) and pending[i] < pts:  # prev is shown at these targets
                    array = array if array is not None else self._to_array(prev)
                    out[pending[i]] = array
                    i += 1
                    self.progress(1)
                prev, prev_pts = frame, pts
                if i < len(pending) and skipping:
                    self.skip_before = pending[i] - margin
                if i >= len(pending) or self._should_seek(prev_pts, last_key, pending[i]):
                    advanced = True
                    break
            if advanced:
                continue
            # End of the readable stream: the last frame is shown until it ends.
            frames = None
            if i < len(pending) and self.max_skipped is not None and self.max_skipped > prev_pts:
                skipping = False  # a skipped frame may have been the one shown: decode again
                continue
            end = prev_pts + self.frame_ticks
            while i < len(pending) and pending[i] < end:
                out[pending[i]] = self._to_array(prev)
                i += 1
                self.progress(1)
            if i < len(pending):
                raise self._missing(pending[i], prev_pts)
        return out

    def _check_reaches(self, frames: Iterator[Any], first: Any, target: int) -> None:
        """Decode on from `first` until a frame is shown at `target`; raise if the video ends first.

        Keyframe mode uses it when the seek for `target` found nothing to decode: near the end of
        some containers that is normal, in a truncated video the target is gone.
        """
        last = self._pts(first)
        for frame in frames:
            last = max(last, self._pts(frame))
            if last > target:
                return
        if last + self.frame_ticks <= target:
            raise self._missing(target, last)

    def _require_data_at(self, targets: Sequence[int]) -> None:
        """Raise unless the stream holds a frame shown at the last of `targets`, reading packets only.

        Seeks to the keyframe before `target` and demuxes until a packet lies after it (the
        video goes on) or the readable data ends (then the last packet must still be on screen
        at `target`). Targets are sorted, so checking the last covers them all. A seek that finds
        nothing to read (MPEG-TS near its end) steps back as `_start_at` does.

        Raises:
            VideoDecodeError: The video ends (or is unreadable) before the last target; the
                message names the first target it does not reach.
        """
        import av

        target = max(targets)
        back = 0
        while True:
            at_start = target - back <= self.timing.start_pts
            try:
                if at_start:
                    self.container.seek(0)
                else:
                    self.container.seek(target - back, stream=self.stream, backward=True)
            except av.error.FFmpegError as err:
                raise VideoDecodeError(f"{self.label}: seek to {self.timing.to_seconds(target):.3f} s failed: {err}") from err
            end: int | None = None  # where the latest packet read stops being shown
            try:
                for packet in self.container.demux(self.stream):
                    if packet.pts is None:
                        continue  # the demuxer's final empty packet
                    if packet.pts > target:
                        return
                    shown = int(getattr(packet, "duration", 0) or 0) or self.frame_ticks
                    end = max(end if end is not None else packet.pts, packet.pts + shown)
            except av.error.FFmpegError as err:
                self.read_error = f"{type(err).__name__}: {err}"
            if end is not None or at_start:
                break
            back = max(back * 4, self.frame_ticks * 8)
        if end is None or end <= target:
            first_missing = target if end is None else min(t for t in targets if t >= end)
            raise self._missing(first_missing, None if end is None else end - self.frame_ticks)

    def keyframe(self, targets: Sequence[int]) -> dict[int, np.ndarray]:
        """Per target, the first frame after seeking to it: a keyframe at or before the target.

        Raises:
            VideoDecodeError: If nothing can be decoded at a target, or the video ends before the
                last target (checked first, see `_require_data_at`).
        """
        out: dict[int, np.ndarray] = {}
        if targets:
            self._require_data_at(targets)
        self.skip_before = None  # the first frame after a seek is a keyframe: nothing to skip
        # Index entry of the keyframe the previous seek landed on directly (None: don't reuse).
        last_key_entry: int | None = None
        last_array: np.ndarray | None = None
        for target in targets:
            entry = self._key_entry(target)
            if entry is not None and entry == last_key_entry and last_array is not None:
                out[target] = last_array  # same keyframe as the previous target: no new seek
            else:
                frames, first, stepped_back, reached = self._start_at(target)
                if first is None:
                    raise self._missing(target, None)
                if not reached:
                    self._check_reaches(frames, first, target)
                last_array = out[target] = self._to_array(first)
                # A later target with the same index entry lands on the same keyframe, provided
                # this seek landed on that entry's keyframe itself (FFmpeg may pick another, or
                # we may have stepped back); otherwise seek again to stay per-target exact.
                direct = (
                    entry is not None
                    and not stepped_back
                    and first.dts is not None
                    and first.dts == self.index[entry].timestamp
                )
                last_key_entry = entry if direct else None
            self.progress(1)
        return out
