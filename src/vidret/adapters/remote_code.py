"""Models whose modeling code lives in their Hub repository (InternVideo2, jina-clip-v2, MM-Embed).

Such a checkpoint loads only with `trust_remote_code=True` (`--trust-remote-code`; `load_adapter`
refuses without it), and its classes have their own APIs. A "remote_code" preset names glue
functions, "module:function", that call that API (`vidret.adapters.glue`).

Preset options:
    text, video | frames: the glue functions (see `vidret.adapters.glue`).
    tokenizer: False when the model tokenises itself (no `AutoTokenizer` is loaded).
    image_size, mean, std: the preprocessing `adapter.pixels(...)` applies (exact resize to
        image_size, rescale to [0, 1], normalise), for families that need one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from vidret.adapters.glue import GlueAdapter, resolve_glue
from vidret.adapters.preprocess import FrameTransform

if TYPE_CHECKING:
    from vidret.adapters.loading import LoadOptions
    from vidret.adapters.presets import AdapterPreset


def _transform(options: Mapping[str, Any], resolution: int | None) -> FrameTransform | None:
    size = resolution or options.get("image_size")
    if not size:
        return None
    mean, std = options.get("mean"), options.get("std")
    return FrameTransform(
        resize_mode="exact",
        size=(int(size), int(size)),
        mean=tuple(mean) if mean else None,
        std=tuple(std) if std else None,
    )


def build_remote_code_adapter(
    chosen: "AdapterPreset", model: str, revision: str | None, config_dict: Mapping[str, Any], options: "LoadOptions"
) -> GlueAdapter:
    """A `GlueAdapter` for a "remote_code" preset (`load_adapter` checked the user's consent).

    Raises:
        ValueError: the preset's glue is missing or cannot be imported, or an override that does
            not apply (`--pooling`, `--text-max-length`).
    """
    from transformers import AutoModel, AutoTokenizer

    from vidret.adapters.loading import RANDOM_WEIGHTS_KEY

    if options.text_max_length is not None:
        raise ValueError(f"--text-max-length does not apply to preset {chosen.name!r}: its own code tokenises texts")
    opts = chosen.options
    if "text" not in opts:
        raise ValueError(f"preset {chosen.name!r}: options must name a 'text' glue function")
    glue = {key: resolve_glue(chosen.name, opts[key]) for key in ("text", "video", "frames") if key in opts}
    trust = options.trust_remote_code  # True here: `load_adapter` refuses these presets without it
    tokenizer = None
    if opts.get("tokenizer", True):
        tokenizer = AutoTokenizer.from_pretrained(model, revision=revision, trust_remote_code=trust)
    loaded = AutoModel.from_pretrained(model, revision=revision, trust_remote_code=trust)
    return GlueAdapter(
        loaded,
        tokenizer,
        text_fn=glue["text"],
        video_fn=glue.get("video"),
        frames_fn=glue.get("frames"),
        frame_transform=_transform(opts, options.resolution),
        remote_code=True,
        model_id=model,
        revision=revision,
        preset=chosen.name,
        num_frames=int(options.frames or chosen.frames or 8),
        default_fusion=options.fusion or chosen.default_fusion,
        device=options.device,
        dtype=options.dtype,
        batch_size=options.batch_size,
        random_weights=bool(config_dict.get(RANDOM_WEIGHTS_KEY, False)),
    )
