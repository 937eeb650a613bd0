"""open_clip models (CLIP RN50, EVA02-CLIP, PE-Core) as frame-pooling adapters: a "plugin" preset.

The code of these families lives in the `open_clip` package (pip install open-clip-torch), not in
transformers. Its factory below is only imported once `open_clip` imports, which needs a
torchvision matching the installed torch: on machines where it does not, `load_adapter` says
which package to install instead (see `vidret.adapters.plugins`).

Model ids: an open_clip Hub model "hf-hub:org/name" (or "org/name", prefixed for you), or a
built-in architecture name such as "RN50" with its pretrained tag as the revision
(`--model RN50 --model-revision openai`; the preset's `options["pretrained"]` by default).
Frames are preprocessed as the model's own `preprocess_cfg` says (resize, centre crop, mean/std)
with torch, not with open_clip's torchvision transforms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidret.adapters.glue import GlueAdapter
from vidret.adapters.preprocess import FrameTransform

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.adapters.presets import AdapterPreset

_INTERPOLATION = {"bicubic": "bicubic", "bilinear": "bilinear", "nearest": "nearest"}


def open_clip_text(adapter: GlueAdapter, texts: list[str]) -> "torch.Tensor":
    """Glue: open_clip's tokenizer, then `encode_text`."""
    return adapter.model.encode_text(adapter.tokenizer(texts).to(adapter.device))


def open_clip_frames(adapter: GlueAdapter, frames: "np.ndarray") -> "torch.Tensor":
    """Glue: frames preprocessed as the model's `preprocess_cfg` says, then `encode_image`."""
    return adapter.model.encode_image(adapter.pixels(frames))


def frame_transform_from(preprocess_cfg: dict[str, Any]) -> FrameTransform:
    """A `FrameTransform` equal to open_clip's eval transform for `model.visual.preprocess_cfg`."""
    size = preprocess_cfg.get("size", 224)
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    squash = preprocess_cfg.get("resize_mode") == "squash"
    return FrameTransform(
        resize_mode="exact" if squash else "shortest_edge",
        size=(int(h), int(w)) if squash else (int(min(h, w)),) * 2,
        crop=None if squash else (int(h), int(w)),
        interpolation=_INTERPOLATION.get(str(preprocess_cfg.get("interpolation", "bicubic")), "bicubic"),
        mean=tuple(preprocess_cfg.get("mean") or (0.48145466, 0.4578275, 0.40821073)),  # type: ignore[arg-type]
        std=tuple(preprocess_cfg.get("std") or (0.26862954, 0.26130258, 0.27577711)),  # type: ignore[arg-type]
    )


def open_clip_adapter(net: Any, tokenizer: Any, **kwargs: Any) -> GlueAdapter:
    """A frame-pooling `GlueAdapter` over an open_clip model and its tokenizer.

    Args:
        net: an open_clip model (`open_clip.create_model(...)`).
        tokenizer: `open_clip.get_tokenizer(...)`'s callable.
        **kwargs: `GlueAdapter` arguments (model_id, revision, preset, num_frames, device, ...).
    """
    return GlueAdapter(
        net,
        tokenizer,
        text_fn=open_clip_text,
        frames_fn=open_clip_frames,
        frame_transform=frame_transform_from(dict(getattr(net.visual, "preprocess_cfg", {}) or {})),
        text_max_length=getattr(tokenizer, "context_length", None),
        **kwargs,
    )


def load_open_clip_adapter(
    model: str,
    *,
    preset: "AdapterPreset",
    revision: str | None = None,
    frames: int | None = None,
    resolution: int | None = None,
    pooling: str | None = None,
    text_max_length: int | None = None,
    fusion: str | None = None,
    device: Any = None,
    dtype: Any = None,
    batch_size: int = 16,
    **_: Any,
) -> GlueAdapter:
    """The factory of the open_clip presets (see the module docstring for model ids).

    Raises:
        ValueError: an override open_clip models do not take (resolution, pooling, text length).
    """
    import open_clip

    for flag, value in (("--resolution", resolution), ("--pooling", pooling), ("--text-max-length", text_max_length)):
        if value is not None and not (flag == "--pooling" and value == "mean"):
            raise ValueError(f"{flag} does not apply to the open_clip preset {preset.name!r}")
    name = model if model.startswith("hf-hub:") or "/" not in model else f"hf-hub:{model}"
    pretrained = None if name.startswith("hf-hub:") else (revision or preset.options.get("pretrained"))
    net = open_clip.create_model(name, pretrained=pretrained)
    return open_clip_adapter(
        net,
        open_clip.get_tokenizer(name),
        model_id=model,
        revision=pretrained or revision,
        preset=preset.name,
        num_frames=int(frames or preset.frames or 8),
        default_fusion=fusion or preset.default_fusion,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
    )
