"""An adapter over a model with an API of its own, called through small glue functions.

Models whose code is not transformers' (a Hub repository's custom code: InternVideo2, MM-Embed;
another package: open_clip) have their own methods (`get_vid_feat`, `encode(...)`,
`encode_image`). Glue functions call them; `GlueAdapter` does the rest once: device and dtype,
batching, input checks, normalisation, and pooling frames over time for image models.

Glue:
    text: `fn(adapter, texts) -> (N, D)` rows.
    video: `fn(adapter, clips) -> (B, D)` rows, clips as (T, H, W, 3) uint8 arrays already
        resampled to `num_frames`; or
    frames: `fn(adapter, frames) -> (N, D)` rows for image models, frames as one (N, H, W, 3)
        uint8 array; the adapter pools each clip's frames (mean).
`adapter.pixels(frames)` applies the adapter's `FrameTransform` for glue that needs one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable, Sequence

from vidret.adapters.base import EmbeddingAdapter, check_clip, check_texts
from vidret.adapters.fusion import l2_normalize
from vidret.adapters.native_video import resample_frames
from vidret.adapters.preprocess import FrameTransform
from vidret.adapters.transformers_base import batched, resolve_device, resolve_dtype

if TYPE_CHECKING:
    import numpy as np
    import torch


def resolve_glue(preset_name: str, path: str) -> Callable[..., Any]:
    """Import a glue function "module:function".

    Raises:
        ValueError: naming the preset and the path that cannot be imported.
    """
    module, _, name = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"preset {preset_name!r}: cannot import glue function {path!r}: {err}") from err
    if not callable(fn):
        raise ValueError(f"preset {preset_name!r}: glue {path!r} is not callable")
    return fn


class GlueAdapter(EmbeddingAdapter):
    """An adapter over a model with its own API, through glue functions (see the module docstring).

    Args:
        model: the loaded model (a torch module).
        tokenizer: its tokenizer, or None when the model tokenises itself.
        text_fn, video_fn, frames_fn: the glue (exactly one of video_fn/frames_fn).
        frame_transform: preprocessing the glue may apply with `pixels`, or None.
        remote_code: the model's code came from its repository (recorded).
        text_max_length: tokens the model keeps per text, if known (recorded).
        model_id, revision, preset, num_frames, default_fusion, device, dtype, batch_size,
            random_weights: as for `TransformersAdapter`.

    Raises:
        ValueError: not exactly one of `video_fn` / `frames_fn`.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        text_fn: Callable[..., Any],
        video_fn: Callable[..., Any] | None = None,
        frames_fn: Callable[..., Any] | None = None,
        frame_transform: FrameTransform | None = None,
        remote_code: bool = False,
        text_max_length: int | None = None,
        model_id: str,
        revision: str | None = None,
        preset: str | None = None,
        num_frames: int = 8,
        default_fusion: str = "avg",
        device: "str | torch.device | None" = None,
        dtype: "str | torch.dtype | None" = None,
        batch_size: int = 16,
        random_weights: bool = False,
    ) -> None:
        if (video_fn is None) == (frames_fn is None):
            raise ValueError(f"preset {preset!r}: give exactly one of the 'video' and 'frames' glue options")
        super().__init__(num_frames=num_frames, text_max_length=text_max_length, default_fusion=default_fusion)
        self.remote_code = bool(remote_code)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.text_fn, self.video_fn, self.frames_fn = text_fn, video_fn, frames_fn
        self.frame_transform = frame_transform
        self.model_id, self.revision, self.preset = model_id, revision, preset
        self.batch_size = int(batch_size)
        self.random_weights = bool(random_weights)
        self._dim: int | None = None

    @property
    def embedding_dim(self) -> int:
        """Output dimension D (found by embedding one short text the first time it is asked)."""
        if self._dim is None:
            self._dim = int(self.encode_text(["a"]).shape[1])
        return self._dim

    def pixels(self, frames: "np.ndarray") -> "torch.Tensor":
        """(N, H, W, 3) uint8 frames -> (N, 3, h, w) pixel values on the model's device and dtype.

        Raises:
            ValueError: the preset declares no preprocessing (no `image_size` option).
        """
        import numpy as np
        import torch

        if self.frame_transform is None:
            raise ValueError(f"preset {self.preset!r} declares no frame preprocessing (options image_size/mean/std)")
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        return self.frame_transform(x).to(self.dtype)

    def encode_text(self, texts: Sequence[str]) -> "torch.Tensor":
        import torch

        texts = check_texts(texts)
        out = []
        with torch.inference_mode():
            for chunk in batched(texts, self.batch_size):
                feats = torch.as_tensor(self.text_fn(self, list(chunk)))
                out.append(self.finalize(feats.reshape(len(chunk), -1)))
        return torch.cat(out) if out else torch.empty(0, self.embedding_dim)

    def encode_video(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        import numpy as np
        import torch

        for i, clip in enumerate(clips):
            check_clip(clip, i)
        out = []
        with torch.inference_mode():
            for chunk in batched(list(clips), self.batch_size):
                if self.video_fn is not None:
                    feats = torch.as_tensor(self.video_fn(self, [resample_frames(c, self.num_frames) for c in chunk]))
                    out.append(self.finalize(feats.reshape(len(chunk), -1)))
                    continue
                frames = np.concatenate(list(chunk))
                feats = l2_normalize(torch.as_tensor(self.frames_fn(self, frames)).float())
                per_clip = torch.split(feats, [c.shape[0] for c in chunk])
                out.append(self.finalize(torch.stack([f.mean(dim=0) for f in per_clip])))
        return torch.cat(out) if out else torch.empty(0, self.embedding_dim)

    def describe(self) -> dict[str, Any]:
        info = {
            "model": self.model_id,
            "revision": self.revision,
            "preset": self.preset,
            "model_type": getattr(getattr(self.model, "config", None), "model_type", None),
            **super().describe(),
            "remote_code": self.remote_code,
            "glue": {
                "text": _qualname(self.text_fn),
                "video": _qualname(self.video_fn),
                "frames": _qualname(self.frames_fn),
            },
            "preprocessing": self.frame_transform.describe() if self.frame_transform else None,
            "pooling": "mean" if self.frames_fn is not None else "model",
            "dtype": str(self.dtype).removeprefix("torch."),
        }
        if self.random_weights:
            info["random_weights"] = True
        return info


def _qualname(fn: Any) -> str | None:
    return None if fn is None else f"{fn.__module__}:{fn.__qualname__}"


