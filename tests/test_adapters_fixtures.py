"""Shared fixtures for the adapter tests (imported by test_adapters_*.py; holds no tests).

Tiny random-weight checkpoints are built once per session into a temp folder, exactly like
`vidret demo` builds them, and loaded through `load_adapter` as a Hub checkpoint would be.
"""

from __future__ import annotations

import numpy as np
import pytest

from vidret.adapters import load_adapter
from vidret.testing.tiny import TINY_BUILDERS

LONG_CAPTION = " ".join(["the gymnast turns twice and lands on the floor"] * 20)


#: The dual encoders the shared adapter tests run on (the MLLM embedders have tests of their own).
FIXTURE_FAMILIES = ("clip", "siglip", "xclip", "videoprism", "blip2")


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory):
    """{family: path} of the tiny checkpoints of `FIXTURE_FAMILIES`."""
    root = tmp_path_factory.mktemp("tiny_models")
    return {name: TINY_BUILDERS[name](root / name) for name in FIXTURE_FAMILIES}


@pytest.fixture(scope="session")
def tiny_adapters(tiny_dirs):
    """{family: adapter} loaded with the default settings on the CPU."""
    return {name: load_adapter(str(path), device="cpu") for name, path in tiny_dirs.items()}


def make_clip(num_frames: int, seed: int = 0, height: int = 48, width: int = 64) -> np.ndarray:
    """Random uint8 RGB frames (T, H, W, 3)."""
    return np.random.default_rng(seed).integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)


def assert_unit_rows(x, n: int) -> None:
    """(n, D) float32 CPU tensor with unit-norm, finite rows."""
    import torch

    assert x.ndim == 2 and x.shape[0] == n and x.shape[1] > 0
    assert x.dtype == torch.float32 and x.device.type == "cpu"
    assert torch.isfinite(x).all()
    torch.testing.assert_close(x.norm(dim=1), torch.ones(n), atol=1e-5, rtol=0)
