"""Adapter presets: per model family, which adapter and which settings to use.

The presets themselves are data, one small module per family in the `vidret.model_adapters`
package (the repo's `model_adapters/` folder); each module defines `PRESETS`, a sequence of
`AdapterPreset`. This module discovers every such module with pkgutil, so adding a family is
adding a file. Other packages add presets without a change here through the Python entry point
group `vidret.adapters` (see `vidret.adapters.plugins`). Built-in presets win every clash: a
plug-in preset named like one is skipped, and one whose pattern matches a model a built-in
preset claims (by its pattern, or a local checkpoint by its model type) is not chosen; both with
a warning naming the plug-in.
"""

from __future__ import annotations

import fnmatch
import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

#: How each kind of preset becomes an adapter (see `vidret.adapters.loading`).
ADAPTER_KINDS = ("frame_pooling", "native_video", "blip2_retrieval", "mllm_embedder", "remote_code", "plugin")
PRESET_PACKAGE = "vidret.model_adapters"

logger = logging.getLogger(__name__)
#: (plug-in preset, model) pairs already warned about: a run looks its preset up several times.
_WARNED: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class AdapterPreset:
    """How to turn one model family into an `EmbeddingAdapter`.

    Attributes:
        name: preset name, unique across `model_adapters/` and plug-ins (what `--adapter`/`preset=`
            selects).
        adapter: the kind of adapter, one of `ADAPTER_KINDS`: "frame_pooling" (image-text dual
            encoder, frames pooled over time), "native_video" (model with a video tower),
            "blip2_retrieval" (BLIP-2 Q-Former ITC embeddings, frames pooled), "mllm_embedder"
            (Qwen2-VL-family embedder: instruction prompt + last-token pooling, native video
            input), "remote_code" (a model whose code lives in its repository, called through the
            glue functions named in `options`), or "plugin" (an adapter built by `factory`, from
            another package).
        patterns: case-insensitive shell-style patterns on Hub ids (e.g. "openai/clip-*").
        model_types: `config.model_type` values this preset handles.
        frames: frames sampled per clip. For native video models this must equal the
            checkpoint's `num_frames`; None means "read it from the config".
        resolution: square model input size in pixels; None = the checkpoint's processor size.
        pooling: temporal pooling of frame embeddings ("mean" or "max"; frame pooling only); for
            MLLM embedders the sequence pooling ("last" or "eos", see `vidret.adapters.mllm`).
        text_max_length: tokens kept per text; None = the model's maximum (position embeddings).
        padding: "longest" or "max_length" (models that pool the last position need the latter).
        text_inputs: tokenizer outputs fed to the text tower.
        default_fusion: composed-query fusion (see `vidret.adapters.fuse`), or "native".
        video_input: keyword of the frames in `get_video_features` (native video only).
        processor_defaults: used when the checkpoint ships no `preprocessor_config.json`.
        revisions: pinned Hub commits by exact model id; a user-given revision wins.
        checkpoints: known Hub ids of the family (documentation and tests).
        notes: one line on the family's quirks.
        match_model_type: whether a checkpoint found only by its `config.model_type` gets this
            preset. False where the architecture is a generic backbone (a plain Qwen2-VL is not
            an embedder): such checkpoints need `--adapter`, a name pattern, or `vidret_preset`
            in their config.json.
        model_class: the transformers class that loads the checkpoint (None = `AutoModel`).
        prompts: instruction templates by input kind ("text", "video", "composed"; MLLM
            embedders) with the placeholders `{text}` and `{video}`.
        options: kind-specific settings, documented by the adapter that reads them.
        factory: "module:callable" building the adapter ("plugin" presets).
        requires: importable module -> pip requirement the preset needs beyond vidret's own
            dependencies; a missing one is reported with the install command.
        trust_remote_code: the family's modeling code lives in its Hub repository: loading
            refuses without `--trust-remote-code`. Required of "remote_code" presets.
        source: where the preset was declared (module or entry point; filled in on discovery).
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
    match_model_type: bool = True
    model_class: str | None = None
    prompts: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    factory: str | None = None
    requires: Mapping[str, str] = field(default_factory=dict)
    trust_remote_code: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        if self.adapter not in ADAPTER_KINDS:
            raise ValueError(f"preset {self.name!r}: adapter must be one of {ADAPTER_KINDS}, got {self.adapter!r}")
        if (self.adapter == "plugin") != (self.factory is not None):
            raise ValueError(
                f"preset {self.name!r}: a 'plugin' preset names its factory ('module:callable') and only a plugin "
                f"preset may; got adapter={self.adapter!r}, factory={self.factory!r}"
            )
        if self.adapter == "remote_code" and not self.trust_remote_code:
            # The builder runs the repository's code: loading must ask for the user's consent first.
            raise ValueError(
                f"preset {self.name!r}: a 'remote_code' preset runs its model repository's code, so it must set "
                "trust_remote_code=True (loading then refuses without --trust-remote-code)"
            )
        if self.factory is not None and ":" not in self.factory:
            raise ValueError(f"preset {self.name!r}: factory must look like 'module:callable', got {self.factory!r}")

    def matches(self, model_id: str) -> bool:
        """Whether `model_id` (a Hub id) matches one of this preset's patterns."""
        lowered = model_id.lower()
        return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in self.patterns)


def _module_presets(module: Any, where: str) -> list[AdapterPreset]:
    """The presets a module (or entry-point object) declares, each tagged with `where`.

    Raises:
        ValueError: something other than `AdapterPreset` objects.
    """
    from dataclasses import replace

    found = getattr(module, "PRESETS", module)
    if isinstance(found, AdapterPreset):
        found = (found,)
    if not isinstance(found, (list, tuple)):
        raise ValueError(f"{where} must provide AdapterPreset objects (a PRESETS tuple), found {found!r}")
    out = []
    for preset in found:
        if not isinstance(preset, AdapterPreset):
            raise ValueError(f"{where} must hold AdapterPreset objects, found {preset!r}")
        out.append(replace(preset, source=where))
    return out


@lru_cache(maxsize=1)
def available_presets() -> dict[str, AdapterPreset]:
    """Every preset defined under `vidret.model_adapters` and by installed plug-ins, by name.

    Plug-ins that fail to load are skipped with a warning (see `vidret.adapters.plugins`); so is a
    plug-in preset whose name is already taken (a built-in's, or an earlier plug-in's).

    Raises:
        ValueError: a preset module whose `PRESETS` holds something else, or two built-in presets
            with one name (both modules are named).
    """
    from vidret.adapters.plugins import entry_point_presets, skip_plugin

    package = importlib.import_module(PRESET_PACKAGE)
    presets: dict[str, AdapterPreset] = {}
    declared: list[AdapterPreset] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{PRESET_PACKAGE}.{info.name}")
        if hasattr(module, "PRESETS"):
            declared += _module_presets(module, f"{module.__name__}.PRESETS")
    declared += entry_point_presets()
    for preset in declared:
        if preset.name in presets and not is_builtin(preset):
            owner = presets[preset.name].source.removesuffix(".PRESETS")
            skip_plugin(preset.source, f"its preset {preset.name!r} is skipped: the name is taken by {owner}; rename it")
            continue
        if preset.name in presets:
            raise ValueError(
                f"duplicate adapter preset name {preset.name!r} in {preset.source.removesuffix('.PRESETS')} "
                f"(also in {presets[preset.name].source.removesuffix('.PRESETS')})"
            )
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


def is_builtin(preset: AdapterPreset) -> bool:
    """Whether `preset` is one of vidret's own (declared under `vidret.model_adapters`), not a plug-in's."""
    return preset.source.startswith(PRESET_PACKAGE + ".")


def warn_shadowed(plugin: AdapterPreset, builtin: AdapterPreset, model: str, why: str) -> None:
    """Warn (once per plug-in preset and model) that a built-in preset won a clash with a plug-in's."""
    if (plugin.name, model) in _WARNED:
        return
    _WARNED.add((plugin.name, model))
    logger.warning(
        "plug-in preset %s (%s) matches %s by name, but built-in preset %s %s: using %s (pass --adapter %s to use "
        "the plug-in)", plugin.name, plugin.source, model, builtin.name, why, builtin.name, plugin.name,
    )


def find_preset(model_id: str, model_type: str | None = None) -> AdapterPreset | None:
    """The preset for a model: first by Hub-id pattern, then by `config.model_type`; built-ins first.

    Args:
        model_id: Hub id or local path.
        model_type: the checkpoint's `config.model_type`, if known.

    Returns:
        The preset, or None when nothing matches (presets with `match_model_type=False` are
        never chosen by model type alone).
    """
    presets = available_presets().values()  # built-ins first (see `available_presets`)
    matching = [preset for preset in presets if preset.matches(model_id)] if model_id else []
    if matching:
        for plugin in matching[1:]:
            if is_builtin(matching[0]) and not is_builtin(plugin):
                warn_shadowed(plugin, matching[0], model_id, "matches it too")
        return matching[0]
    if model_type:
        for preset in presets:
            if preset.match_model_type and model_type in preset.model_types:
                return preset
    return None
