"""`load_adapter`: a Hub id or local folder -> a ready `EmbeddingAdapter`.

Resolution order: an explicit `preset=` name, else the checkpoint's own `vidret_preset` config
key, else a preset whose Hub-id pattern matches (and whose model types agree with the
checkpoint's config), else a preset for `config.model_type`, else an error listing the presets.
Each preset kind has a builder (`KIND_BUILDERS`); "plugin" presets are built by their own factory. Explicit arguments override the preset's settings; settings
that cannot apply to the chosen adapter are rejected with the fix instead of being ignored.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Mapping

from vidret.adapters.base import EmbeddingAdapter
from vidret.adapters.fusion import parse_fusion
from vidret.adapters.presets import AdapterPreset, available_presets, find_preset, get_preset, is_builtin, warn_shadowed
from vidret.adapters.preprocess import FrameTransform

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

RANDOM_WEIGHTS_KEY = "vidret_random_weights"  # set in config.json by vidret.testing.tiny
#: config.json key naming the preset a local checkpoint is meant for (set by vidret.testing.tiny;
#: a fine-tune may set it too). `--adapter` still wins.
PRESET_KEY = "vidret_preset"


def read_config_dict(model: str, revision: str | None = None) -> dict[str, Any]:
    """The checkpoint's raw `config.json` as a dict, without instantiating anything.

    Reading the dict (not `AutoConfig`) lets us see `auto_map` before any remote code could run.

    Raises:
        OSError: no config.json in the folder, or the id cannot be fetched from the Hub.
    """
    from transformers import PretrainedConfig

    try:
        config_dict, _ = PretrainedConfig.get_config_dict(model, revision=revision)
    except (OSError, ValueError) as err:
        where = f" at revision {revision!r}" if revision else ""
        raise OSError(
            f"cannot read the model config of {model!r}{where}: it must be a local folder with a config.json "
            f"or a reachable Hugging Face Hub model id ({err})"
        ) from err
    return config_dict


def _needs_remote_code(config_dict: Mapping[str, Any]) -> bool:
    from transformers import CONFIG_MAPPING

    return "auto_map" in config_dict or config_dict.get("model_type") not in CONFIG_MAPPING


def resolve_preset(model: str, model_type: str | None, preset: str | None = None) -> AdapterPreset:
    """Choose the preset for `model` (see the module docstring for the order).

    Raises:
        ValueError: an unknown preset name, or no preset for this model (the message lists them).
    """
    if preset is not None:
        chosen = get_preset(preset)
        if model_type and chosen.model_types and model_type not in chosen.model_types:
            # The user's choice stands (e.g. a fine-tune with an unusual model_type), but say so.
            logger.warning(
                "preset %s is meant for model types %s, but %s has model_type %s",
                chosen.name, ", ".join(chosen.model_types), model, model_type,
            )
        return chosen
    found = find_preset(model, None)
    # A name pattern is a guess; the config is the truth. E.g. "google/siglip2-*-naflex" matches
    # the siglip pattern but is a different architecture (model_type siglip2).
    if found is not None and model_type and found.model_types and model_type not in found.model_types:
        logger.info("preset %s matched %s by name but not its model_type %s", found.name, model, model_type)
        found = None
    if found is not None and not is_builtin(found) and model_type:
        # A plug-in's pattern (even "*") does not take a checkpoint a built-in preset handles.
        claim = find_preset("", model_type)
        if claim is not None and is_builtin(claim):
            warn_shadowed(found, claim, model, f"handles its model_type {model_type!r}")
            found = claim
    if found is None:
        found = find_preset("", model_type)
    if found is None:
        # Backbones shared by several families (Qwen2-VL: GME, VLM2Vec, LamRA) are never guessed.
        candidates = sorted(p.name for p in available_presets().values() if model_type and model_type in p.model_types)
        hint = f" Presets for {model_type} checkpoints: {', '.join(candidates)}." if candidates else ""
        names = ", ".join(sorted(available_presets()))
        raise ValueError(
            f"no adapter preset for model {model!r} (config.model_type={model_type!r}). Choose one explicitly with "
            f"--adapter/preset=NAME if the model is of a supported family.{hint} Available presets: {names}"
        )
    return found


def pinned_revision(preset: AdapterPreset, model: str, revision: str | None) -> str | None:
    """The revision to load: the user's if given, else the preset's pin for this exact id, else None."""
    if revision is None and model in preset.revisions:
        logger.info("using the pinned revision %s of %s from preset %s", preset.revisions[model], model, preset.name)
        return preset.revisions[model]
    return revision


def _model_max_text_length(config: Any) -> int | None:
    # BLIP-2 encodes retrieval texts with its Q-Former (its text_config is the language model).
    text_config = getattr(config, "qformer_config", None) or getattr(config, "text_config", None) or config
    return getattr(text_config, "max_position_embeddings", None)


def _vision_image_size(config: Any) -> int:
    vision = getattr(config, "vision_config", None) or config
    size = getattr(vision, "image_size", 224)
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def _load_processor_dict(model: str, revision: str | None) -> dict[str, Any] | None:
    """`preprocessor_config.json` as a dict, or None when the checkpoint has none."""
    from transformers.image_processing_utils import ImageProcessingMixin

    try:
        config, _ = ImageProcessingMixin.get_image_processor_dict(model, revision=revision)
    except OSError:
        return None
    return config or None


@dataclass(frozen=True)
class LoadOptions:
    """The user's `load_adapter` arguments, handed to the builder of the preset's kind."""

    frames: int | None = None
    resolution: int | None = None
    pooling: str | None = None
    text_max_length: int | None = None
    fusion: str | None = None
    device: "str | torch.device | None" = None
    dtype: "str | torch.dtype | None" = None
    batch_size: int = 16
    trust_remote_code: bool = False


def _remote_code_refusal(model: str, config_dict: Mapping[str, Any], preset: AdapterPreset | None) -> ValueError:
    family = f" (preset {preset.name!r}: its modeling code lives in the model repository)" if preset else ""
    return ValueError(
        f"model {model!r} needs custom code from its repository{family} (config.model_type="
        f"{config_dict.get('model_type')!r}, auto_map={config_dict.get('auto_map')!r}). Read that code, then "
        "pass --trust-remote-code (trust_remote_code=True) to allow it to run"
    )


def load_adapter(
    model: str,
    revision: str | None = None,
    *,
    preset: str | None = None,
    frames: int | None = None,
    resolution: int | None = None,
    pooling: str | None = None,
    text_max_length: int | None = None,
    fusion: str | None = None,
    device: "str | torch.device | None" = None,
    dtype: "str | torch.dtype | None" = None,
    batch_size: int = 16,
    trust_remote_code: bool = False,
) -> EmbeddingAdapter:
    """Load a model from the Hub or a local folder and wrap it in the right adapter.

    Args:
        model: Hub model id (e.g. "openai/clip-vit-base-patch32") or local folder.
        revision: Hub revision; None = the preset's pinned commit for this id, if any, else main.
        preset: preset name forcing the adapter and defaults (see `available_presets()`); else a
            local folder's `vidret_preset` config key, a Hub-id pattern, or the model type.
        frames: frames per clip (overrides the preset).
        resolution: square model input in pixels (overrides the preset's, else the checkpoint's
            processor size; the vision tower interpolates its position embeddings).
        pooling: temporal pooling, "mean" or "max" (frame-pooling adapters only).
        text_max_length: tokens kept per text (<= the model's maximum).
        fusion: default composed-query fusion ("native" for models that compose queries themselves).
        device: torch device; None = CUDA if available else CPU.
        dtype: "bf16", "fp16", "fp32" or a torch dtype; None = bf16 on CUDA, fp32 on CPU.
        batch_size: texts or clips per forward pass.
        trust_remote_code: allow a checkpoint's own Python code to run (off unless asked).

    Returns:
        The adapter, in eval mode on `device`.

    Raises:
        OSError: the model's config cannot be read.
        ValueError: the model needs remote code and `trust_remote_code` is False; no preset fits;
            a package the preset needs is missing (the install command is named); an override that
            does not apply to the chosen adapter or exceeds the model's limits.
    """
    model = str(model)  # a pathlib.Path to a local folder works too
    options = LoadOptions(
        frames=frames,
        resolution=resolution,
        pooling=pooling,
        text_max_length=text_max_length,
        fusion=fusion,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        trust_remote_code=trust_remote_code,
    )
    if fusion is not None:
        parse_fusion(fusion)
    named = get_preset(preset) if preset is not None else find_preset(model)
    if named is not None and named.adapter == "plugin" and preset is None and _builtin_claim(model, named):
        named = None  # a local checkpoint of a built-in family: read its config like any other
    if named is not None and named.adapter == "plugin":
        # A plug-in loads its model its own way (open_clip, LanguageBind, ...): there may be no
        # transformers config.json to read.
        return _build_plugin(named, model, pinned_revision(named, model, revision), options)
    if revision is None:
        # Apply a pin before the first read: some repos (VideoPrism) only have transformers
        # files at the pinned commit, not on main.
        revision = pinned_revision(named, model, None) if named is not None else None
    config_dict = read_config_dict(model, revision)
    needs_code = _needs_remote_code(config_dict)
    declared = config_dict.get(PRESET_KEY)
    if declared is not None and not isinstance(declared, str):
        raise ValueError(f"the config.json of {model!r}: {PRESET_KEY!r} must be a preset name (a string), got {declared!r}")
    try:
        chosen = resolve_preset(model, config_dict.get("model_type"), preset or declared)
    except ValueError:
        if needs_code and not trust_remote_code:
            raise _remote_code_refusal(model, config_dict, None) from None
        raise
    if (needs_code or chosen.trust_remote_code) and not trust_remote_code:
        raise _remote_code_refusal(model, config_dict, chosen if chosen.trust_remote_code else None)
    _check_overrides(chosen, frames=frames, pooling=pooling)
    revision = pinned_revision(chosen, model, revision)  # no-op unless the preset came from model_type
    if chosen.adapter == "plugin":  # named by the folder's vidret_preset
        return _build_plugin(chosen, model, revision, options)
    from vidret.adapters.plugins import check_requirements

    check_requirements(chosen)
    import pickle

    try:
        return _builder(chosen.adapter)(chosen, model, revision, config_dict, options)
    except pickle.UnpicklingError as err:  # transformers' torch.load(weights_only=True) refused a .bin
        from vidret.terminal import printable

        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = next((line for line in lines if "WeightsUnpickler error" in line), lines[0] if lines else type(err).__name__)
        reason = reason.split(". Please use")[0]  # not torch's advice to allow-list what it refused
        raise ValueError(
            f"{printable(model)}: its PyTorch weights (pytorch_model.bin) hold objects other than tensors, so "
            f"torch.load(weights_only=True) refused them (loading them would run code: {printable(reason)}); "
            "use a checkpoint saved as model.safetensors"
        ) from None


def _builtin_claim(model: str, plugin: AdapterPreset) -> AdapterPreset | None:
    """The built-in preset a local checkpoint folder names (`vidret_preset`) or whose model type it has.

    A plug-in found by its name pattern loads its model its own way, so no config is read for a
    Hub id; a local folder's config.json costs nothing to read, and a built-in family found there
    wins over the plug-in's pattern (with a warning naming the plug-in).
    """
    import json
    from pathlib import Path

    config = Path(model).expanduser() / "config.json"
    try:
        found = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else None
    except (OSError, ValueError, RecursionError):
        return None  # not readable as a checkpoint config: the plug-in may know better
    if not isinstance(found, dict):
        return None
    declared, model_type = found.get(PRESET_KEY), found.get("model_type")
    claim = available_presets().get(declared) if isinstance(declared, str) else None
    if claim is None and isinstance(model_type, str):
        claim = find_preset("", model_type)
    if claim is None or not is_builtin(claim):
        return None
    why = f"is named by its {PRESET_KEY}" if declared == claim.name else f"handles its model_type {model_type!r}"
    warn_shadowed(plugin, claim, model, why)
    return claim


def _build_plugin(chosen: AdapterPreset, model: str, revision: str | None, options: LoadOptions) -> EmbeddingAdapter:
    from vidret.adapters.plugins import build_plugin_adapter

    return build_plugin_adapter(chosen, model, revision=revision, **asdict(options))


#: Adapter kind -> "module:function" building it from (preset, model, revision, config dict, options).
KIND_BUILDERS = {
    "frame_pooling": "vidret.adapters.loading:build_dual_encoder_adapter",
    "native_video": "vidret.adapters.loading:build_dual_encoder_adapter",
    "blip2_retrieval": "vidret.adapters.loading:build_dual_encoder_adapter",
    "mllm_embedder": "vidret.adapters.mllm:build_mllm_adapter",
    "remote_code": "vidret.adapters.remote_code:build_remote_code_adapter",
}


def _builder(kind: str) -> Any:
    import importlib

    module, _, name = KIND_BUILDERS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def load_model_class(preset: AdapterPreset, config_dict: Mapping[str, Any]) -> Any:
    """The class whose `from_pretrained` loads the checkpoint: the preset's, else `AutoModel`.

    A checkpoint with custom code (`auto_map` in its config) always goes through `AutoModel`,
    which finds the repository's class. `--trust-remote-code` alone changes nothing: a checkpoint
    without custom code keeps the preset's class.
    """
    import transformers

    if preset.model_class and "auto_map" not in config_dict:
        return getattr(transformers, preset.model_class)
    return transformers.AutoModel


def text_length_limit(preset: AdapterPreset, config: Any, text_max_length: int | None, model: str) -> int:
    """Tokens kept per text: the user's (checked against the model), else the preset's capped by the model.

    Raises:
        ValueError: `text_max_length` exceeds the checkpoint's position embeddings.
    """
    max_len = _model_max_text_length(config)
    if text_max_length is not None:
        if max_len is not None and text_max_length > max_len:
            raise ValueError(
                f"text length {text_max_length} exceeds what {model!r} supports ({max_len} positions): "
                f"use --text-max-length {max_len} (text_max_length={max_len}) or less"
            )
        return int(text_max_length)
    limits = [n for n in (preset.text_max_length, max_len) if n]
    return int(min(limits)) if limits else 77


def build_dual_encoder_adapter(
    chosen: AdapterPreset, model: str, revision: str | None, config_dict: Mapping[str, Any], options: LoadOptions
) -> EmbeddingAdapter:
    """A frame-pooling, native-video or BLIP-2 adapter over a transformers checkpoint.

    Raises:
        ValueError: an override the model cannot honour (resolution, frames, text length).
    """
    from transformers import AutoConfig, AutoTokenizer

    trust = options.trust_remote_code
    config = AutoConfig.from_pretrained(model, revision=revision, trust_remote_code=trust)
    wanted_len = text_length_limit(chosen, config, options.text_max_length, model)
    image_size = _vision_image_size(config)
    processor_dict = _load_processor_dict(model, revision)
    if processor_dict is None:
        processor_dict = dict(chosen.processor_defaults) if chosen.processor_defaults else None
    resolution = options.resolution if options.resolution is not None else chosen.resolution
    transform = FrameTransform.from_processor_config(processor_dict, image_size, resolution)
    model_input = transform.output_size
    interpolate = model_input is not None and tuple(model_input) != (image_size, image_size)

    num_frames = _resolve_frames(chosen, config, options.frames, model)
    tokenizer = AutoTokenizer.from_pretrained(model, revision=revision, trust_remote_code=trust)
    loaded = load_model_class(chosen, config_dict).from_pretrained(model, revision=revision, trust_remote_code=trust)

    if interpolate and chosen.adapter == "native_video":
        from vidret.adapters.transformers_base import accepts_argument

        if not accepts_argument(loaded.get_video_features, "interpolate_pos_encoding"):
            raise ValueError(
                f"{model!r} cannot run at resolution {resolution}: its video tower has fixed position embeddings for "
                f"{image_size}x{image_size} and no interpolation. Drop --resolution (resolution=)"
            )
    common = dict(
        model_id=model,
        revision=revision,
        preset=chosen.name,
        num_frames=num_frames,
        text_max_length=wanted_len,
        padding=chosen.padding,
        text_inputs=chosen.text_inputs,
        default_fusion=options.fusion or chosen.default_fusion,
        device=options.device,
        dtype=options.dtype,
        batch_size=options.batch_size,
        interpolate_pos_encoding=interpolate,
        random_weights=bool(config_dict.get(RANDOM_WEIGHTS_KEY, False)),
    )
    pooling = options.pooling or chosen.pooling
    if chosen.adapter == "blip2_retrieval":
        from vidret.adapters.blip2 import Blip2RetrievalAdapter

        return Blip2RetrievalAdapter(loaded, tokenizer, transform, pooling=pooling, **common)
    if chosen.adapter == "frame_pooling":
        from vidret.adapters.frame_pooling import FramePoolingAdapter

        return FramePoolingAdapter(loaded, tokenizer, transform, pooling=pooling, **common)
    from vidret.adapters.native_video import NativeVideoAdapter

    return NativeVideoAdapter(loaded, tokenizer, transform, video_input=chosen.video_input, **common)


#: Kinds that embed frames one by one and pool them over time (`--pooling` applies).
FRAME_POOLING_KINDS = ("frame_pooling", "blip2_retrieval")


def _check_overrides(preset: AdapterPreset, *, frames: int | None, pooling: str | None) -> None:
    if frames is not None and int(frames) < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if pooling is not None and preset.adapter not in FRAME_POOLING_KINDS:
        raise ValueError(
            f"pooling={pooling!r} does not apply to preset {preset.name!r}: its model pools frames inside its own "
            "video tower. Drop --pooling (pooling=), or pick a frame-pooling preset with --adapter"
        )


def _resolve_frames(preset: AdapterPreset, config: Any, frames: int | None, model: str) -> int:
    """Frames per clip; for native video models, the checkpoint's fixed `num_frames`."""
    if preset.adapter in FRAME_POOLING_KINDS:
        return int(frames or preset.frames or 8)
    vision = getattr(config, "vision_config", None) or config
    fixed = getattr(vision, "num_frames", None)
    if fixed is None:
        return int(frames or preset.frames or 8)
    if frames is not None and int(frames) != int(fixed):
        # Temporal position embeddings have exactly `num_frames` entries in these checkpoints.
        raise ValueError(
            f"{model!r} was trained on clips of exactly {fixed} frames (its temporal position embeddings have that "
            f"size), so frames={frames} cannot be used. Drop --frames or pass --frames {fixed}"
        )
    return int(fixed)
