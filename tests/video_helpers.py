"""Shared fixtures for tests/test_video_*.py: small synthetic videos, made once per module.

Import the fixtures you use into a test module (pytest finds imported fixtures).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vidret.testing.synthetic import make_test_video

FPS = 30
#: 64x48, 20 s, keyframe every second (GOP 30): frame i encodes i.
SMALL = dict(duration_s=20.0, fps=FPS, size=(64, 48), gop=30)
SMALL_FRAMES = 600


def frame_at(t: float, fps: int = FPS) -> int:
    """Index of the frame shown at `t` seconds in a constant-rate synthetic video."""
    return int(t * fps + 1e-6)


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="module")
def small_video(video_dir: Path) -> Path:
    """20 s, 64x48, 30 fps, GOP 30 (a keyframe every second), moov at the front."""
    return make_test_video(video_dir / "small.mp4", **SMALL)


@pytest.fixture(scope="module")
def long_gop_video(video_dir: Path) -> Path:
    """20 s, 64x48, 30 fps, GOP 250 (keyframes at 0, 250, 500)."""
    return make_test_video(video_dir / "long_gop.mp4", 20.0, fps=FPS, size=(64, 48), gop=250)
