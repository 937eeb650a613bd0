"""FrameFetcher's seek planning on a fake container: step-back after a late seek, no-index streams."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from vidret.video.decoder import FrameFetcher
from vidret.video.metadata import StreamTiming


class FakeFrame:
    def __init__(self, pts: int, key: bool) -> None:
        self.pts = self.dts = pts
        self.key_frame = key
        self.width = self.height = 1

    def to_ndarray(self, format: str, width: int | None = None, height: int | None = None) -> np.ndarray:
        assert format == "rgb24"
        return np.array([[[self.pts & 255, self.pts >> 8, 0]]], dtype=np.uint8)


class FakeContainer:
    """Frames at `pts` (default 0..n-1), a keyframe every `gop` frames, odd pts non-reference.
    With `late`, a seek that falls in the last frame before a keyframe lands on that keyframe
    (after the target), as a container indexing keyframes by decode time can."""

    def __init__(self, n: int, gop: int, late: bool = False, pts: list[int] | None = None) -> None:
        self.pts = pts if pts is not None else list(range(n))
        self.n, self.gop, self.late = self.pts[-1] + 1, gop, late
        self.position = 0
        self.seeks: list[int] = []
        self.decoded = 0
        self.skip_frame = "DEFAULT"

    def seek(self, offset: int, stream=None, backward: bool = True) -> None:
        self.seeks.append(offset)
        keys = [p for p in self.pts if p % self.gop == 0]
        if self.late and offset + 1 in keys:
            offset += 1
        self.position = max([k for k in keys if k <= offset], default=self.pts[0])

    def demux(self, stream):
        for pts in self.pts:
            if pts >= self.position:
                yield FakePacket(self, pts)


class FakePacket:
    def __init__(self, container: FakeContainer, pts: int) -> None:
        self.container, self.pts = container, pts

    def decode(self):
        if self.container.skip_frame == "NONREF" and self.pts % 2:
            return []
        self.container.decoded += 1
        return [FakeFrame(self.pts, self.pts % self.container.gop == 0)]


def fetcher(container: FakeContainer) -> FrameFetcher:
    # no index (heuristics only); the container doubles as the codec context (skip_frame)
    stream = type("Stream", (), {"index_entries": [], "codec_context": container})()
    timing = StreamTiming(Fraction(1, 30), 0, container.n / 30, 30.0)
    return FrameFetcher(container, stream, timing, "fake.mp4")


def pts_of(arrays: dict[int, np.ndarray]) -> dict[int, int]:
    return {t: int(a[0, 0, 0]) + 256 * int(a[0, 0, 1]) for t, a in arrays.items()}


def test_late_seek_steps_back_and_stays_exact():
    container = FakeContainer(300, 30, late=True)
    got = pts_of(fetcher(container).exact([29, 59, 200]))
    assert got == {29: 29, 59: 59, 200: 200}
    assert container.seeks[:2] == [29, 29 - 8]  # landed on 30 > 29: stepped back 8 frames


def test_late_seek_in_keyframe_mode_is_at_or_before():
    container = FakeContainer(300, 30, late=True)
    assert pts_of(fetcher(container).keyframe([29, 35, 59])) == {29: 0, 35: 30, 59: 30}


def test_without_index_dense_targets_decode_forward():
    container = FakeContainer(3000, 250)
    targets = list(range(15, 1800, 30))  # one per second over 60 s
    got = pts_of(fetcher(container).exact(targets))
    assert got == {t: t for t in targets}
    assert len(container.seeks) == 1
    assert container.decoded <= targets[-1] + 2  # one forward pass, nothing decoded twice


def test_without_index_sparse_targets_seek_after_learning_the_gop():
    container = FakeContainer(9000, 250)
    targets = list(range(100, 9000, 900))  # 30 s apart
    got = pts_of(fetcher(container).exact(targets))
    assert got == {t: t for t in targets}
    assert len(container.seeks) == len(targets)
    assert container.decoded < len(targets) * 250


def test_last_frame_is_shown_until_the_end():
    container = FakeContainer(60, 30)
    assert pts_of(fetcher(container).exact([59])) == {59: 59}


def test_skipped_nonreference_frames_are_never_the_answer():
    # one frame per tick, then a 50-tick gap: the frame shown at 140 is 99, a non-reference frame
    container = FakeContainer(0, 30, pts=list(range(100)) + list(range(150, 300)))
    got = pts_of(fetcher(container).exact([60, 140, 151, 299]))
    assert got == {60: 60, 140: 99, 151: 151, 299: 299}
    # 140 is decoded twice: skipping non-reference frames, then (99 was skipped) without
    assert container.seeks == [60, 140, 140, 299]


def test_nonreference_frames_far_from_targets_are_skipped():
    container = FakeContainer(600, 250)
    assert pts_of(fetcher(container).exact([101, 499])) == {101: 101, 499: 499}
    assert container.decoded < 350  # about half of the 500 frames before the last target
