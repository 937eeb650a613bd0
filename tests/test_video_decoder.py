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
    """Frames 0..n-1 (pts = index), a keyframe every `gop`. With `late`, a seek that falls in
    the last frame before a keyframe lands on that keyframe (after the target), as a container
    indexing keyframes by decode time can."""

    def __init__(self, n: int, gop: int, late: bool = False) -> None:
        self.n, self.gop, self.late = n, gop, late
        self.position = 0
        self.seeks: list[int] = []
        self.decoded = 0

    def seek(self, offset: int, stream=None, backward: bool = True) -> None:
        self.seeks.append(offset)
        key = offset // self.gop * self.gop
        if self.late and (offset + 1) % self.gop == 0:
            key = offset + 1
        self.position = min(key, self.n - 1)

    def decode(self, stream):
        for pts in range(self.position, self.n):
            self.decoded += 1
            yield FakeFrame(pts, pts % self.gop == 0)


def fetcher(container: FakeContainer) -> FrameFetcher:
    stream = type("Stream", (), {"index_entries": []})()  # no index: heuristics only
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
