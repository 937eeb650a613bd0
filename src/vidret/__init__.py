"""vidret: datasets + evaluate suite for video-text retrieval benchmarks (LoVR, TF-CoVR)."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # `vidret.load(...)` without importing `datasets` on `import vidret` (the CLI starts faster).
    if name == "load":
        from vidret.datasets import load

        return load
    raise AttributeError(f"module 'vidret' has no attribute {name!r}")
