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

from typing import TYPE_CHECKING, Any, Sequence

from vidret.adapters.base import EmbeddingAdapter, check_clip
from vidret.adapters.fusion import l2_normalize
from vidret.adapters.preprocess import FrameTransform
from vidret.adapters.transformers_base import batched, resolve_device, resolve_dtype

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.adapters.presets import AdapterPreset

_INTERPOLATION = {"bicubic": "bicubic", "bilinear": "bilinear", "nearest": "nearest"}


class OpenClipAdapter(EmbeddingAdapter):
    """open_clip model: frames -> `encode_image` -> normalise -> mean over time; texts -> `encode_text`.

    Args:
        model: an open_clip `CLIP`/`CustomTextCLIP` model.
        tokenizer: `open_clip.get_tokenizer(...)`'s callable (list of texts -> token tensor).
        frame_transform: preprocessing from the model's `preprocess_cfg`.
        model_id, revision, preset, num_frames, default_fusion, device, dtype, batch_size: as for
            `TransformersAdapter`.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        frame_transform: FrameTransform,
        *,
        model_id: str,
        revision: str | None,
        preset: str,
        num_frames: int = 8,
        default_fusion: str = "avg",
        device: Any = None,
        dtype: Any = None,
        batch_size: int = 16,
    ) -> None:
        super().__init__(num_frames=num_frames, default_fusion=default_fusion)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.tokenizer = tokenizer
        self.frame_transform = frame_transform
        self.model_id, self.revision, self.preset = model_id, revision, preset
        self.batch_size = int(batch_size)
        self.text_max_length = getattr(tokenizer, "context_length", None)
        self._dim: int | None = None

    @property
    def embedding_dim(self) -> int:
        """Output dimension D (found by embedding one short text the first time it is asked)."""
        if self._dim is None:
            self._dim = int(self.encode_text(["a"]).shape[1])
        return self._dim

    def encode_text(self, texts: Sequence[str]) -> "torch.Tensor":
        import torch

        out = []
        with torch.inference_mode():
            for chunk in batched(list(texts), self.batch_size):
                tokens = self.tokenizer(list(chunk)).to(self.device)
                out.append(self.finalize(self.model.encode_text(tokens)))
        return torch.cat(out) if out else torch.empty(0, self.embedding_dim)

    def encode_video(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        import numpy as np
        import torch

        for i, clip in enumerate(clips):
            check_clip(clip, i)
        out = []
        with torch.inference_mode():
            for chunk in batched(list(clips), self.batch_size):
                frames = torch.from_numpy(np.ascontiguousarray(np.concatenate(list(chunk)))).to(self.device)
                feats = l2_normalize(self.model.encode_image(self.frame_transform(frames).to(self.dtype)).float())
                per_clip = torch.split(feats, [c.shape[0] for c in chunk])
                out.append(self.finalize(torch.stack([f.mean(dim=0) for f in per_clip])))
        return torch.cat(out) if out else torch.empty(0, self.embedding_dim)

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "revision": self.revision,
            "preset": self.preset,
            **super().describe(),
            "preprocessing": self.frame_transform.describe(),
            "pooling": "mean",
            "dtype": str(self.dtype).removeprefix("torch."),
        }


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
) -> OpenClipAdapter:
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
    return OpenClipAdapter(
        net,
        open_clip.get_tokenizer(name),
        frame_transform_from(dict(getattr(net.visual, "preprocess_cfg", {}) or {})),
        model_id=model,
        revision=pretrained or revision,
        preset=preset.name,
        num_frames=int(frames or preset.frames or 8),
        default_fusion=fusion or preset.default_fusion,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
    )
