"""Library versions and hardware, stamped into every result and printed by `vidret env`."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

TRACKED_PACKAGES = (
    "vidret",
    "torch",
    "transformers",
    "datasets",
    "evaluate",
    "huggingface_hub",
    "accelerate",
    "av",
    "numpy",
    "pyarrow",
)


def package_versions() -> dict[str, str | None]:
    """Installed version of each package vidret's results depend on (None when absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def hardware_info() -> dict[str, object]:
    """Platform, CPU count and, when torch sees one, the accelerator's name and count."""
    import os

    info: dict[str, object] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "accelerator": None,
        "accelerator_count": 0,
    }
    torch = sys.modules.get("torch")
    if torch is None:
        try:
            import torch  # noqa: F811  (imported lazily: `vidret env` must work without touching CUDA early)
        except ImportError:
            return info
    if torch.cuda.is_available():
        info["accelerator"] = torch.cuda.get_device_name(0)
        info["accelerator_count"] = torch.cuda.device_count()
    return info
