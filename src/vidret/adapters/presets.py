"""Adapter presets: per model family, which adapter and which settings to use.

The presets themselves are data, one small module per family in the `vidret.model_adapters`
package (the repo's `model_adapters/` folder); each module defines `PRESETS`, a sequence of
`AdapterPreset`. This module discovers every such module with pkgutil, so adding a family is
adding a file.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

ADAPTER_KINDS = ("frame_pooling", "native_video")
PRESET_PACKAGE = "vidret.model_adapters"


@dataclass(frozen=True)
class AdapterPreset:
    """How to turn one model family into an `EmbeddingAdapter`.

    Attributes:
        name: preset name, unique across `model_adapters/` (what `--adapter`/`preset=` selects).
        adapter: "frame_pooling" (image-text dual encoder, frames pooled over time) or
            "native_video" (model with a video tower).
        patterns: case-insensitive shell-style patterns on Hub ids (e.g. "openai/clip-*").
        model_types: `config.model_type` values this preset handles when no pattern matches.
        frames: frames sampled per clip. For native video models this must equal the
            checkpoint's `num_frames`; None means "read it from the config".
        resolution: square model input size in pixels; None = the checkpoint's processor size.
        pooling: temporal pooling of frame embeddings ("mean" or "max"; frame pooling only).
        text_max_length: tokens kept per text; None = the model's maximum (position embeddings).
        padding: "longest" or "max_length" (models that pool the last position need the latter).
        text_inputs: tokenizer outputs fed to the text tower.
        default_fusion: composed-query fusion (see `vidret.adapters.fuse`).
        video_input: keyword of the frames in `get_video_features` (native video only).
        processor_defaults: used when the checkpoint ships no `preprocessor_config.json`.
        revisions: pinned Hub commits by exact model id; a user-given revision wins.
        checkpoints: known Hub ids of the family (documentation and tests).
        notes: one line on the family's quirks.
    """

    name: str
    adapter: str
    patterns: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    frames: int | None = 8
    resolution: int | None = None
    pooling: str = "mean"
    text_max_length: int | None = None
    padding: str = "longest"
    text_inputs: tuple[str, ...] = ("input_ids", "attention_mask")
    default_fusion: str = "avg"
    video_input: str = "pixel_values"
    processor_defaults: Mapping[str, Any] | None = None
    revisions: Mapping[str, str] = field(default_factory=dict)
    checkpoints: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        if self.adapter not in ADAPTER_KINDS:
            raise ValueError(f"preset {self.name!r}: adapter must be one of {ADAPTER_KINDS}, got {self.adapter!r}")

    def matches(self, model_id: str) -> bool:
        """Whether `model_id` (a Hub id) matches one of this preset's patterns."""
        lowered = model_id.lower()
        return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in self.patterns)


@lru_cache(maxsize=1)
def available_presets() -> dict[str, AdapterPreset]:
    """Every preset defined under `vidret.model_adapters`, by name.

    Raises:
        ValueError: a preset module whose `PRESETS` holds something else, or two presets with one name.
    """
    package = importlib.import_module(PRESET_PACKAGE)
    presets: dict[str, AdapterPreset] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{PRESET_PACKAGE}.{info.name}")
        for preset in getattr(module, "PRESETS", ()):
            if not isinstance(preset, AdapterPreset):
                raise ValueError(f"{module.__name__}.PRESETS must hold AdapterPreset objects, found {preset!r}")
            if preset.name in presets:
                raise ValueError(f"duplicate adapter preset name {preset.name!r} in {module.__name__}")
            presets[preset.name] = preset
    return presets


def get_preset(name: str) -> AdapterPreset:
    """The preset called `name`.

    Raises:
        ValueError: no such preset (the message lists them).
    """
    presets = available_presets()
    if name not in presets:
        raise ValueError(f"unknown adapter preset {name!r}; available presets: {', '.join(sorted(presets))}")
    return presets[name]


def find_preset(model_id: str, model_type: str | None = None) -> AdapterPreset | None:
    """The preset for a model: first by Hub-id pattern, then by `config.model_type`.

    Args:
        model_id: Hub id or local path.
        model_type: the checkpoint's `config.model_type`, if known.

    Returns:
        The preset, or None when nothing matches.
    """
    presets = available_presets().values()
    for preset in presets:
        if preset.matches(model_id):
            return preset
    if model_type:
        for preset in presets:
            if model_type in preset.model_types:
                return preset
    return None
