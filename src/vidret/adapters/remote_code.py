"""Models whose modeling code lives in their Hub repository (InternVideo2, MM-Embed, ...).

Such a checkpoint loads only with `trust_remote_code=True` (`--trust-remote-code`), and its
classes have their own APIs (`get_vid_feat`, `encode(...)`). A "remote_code" preset names small
glue functions, "module:function", that call that API; this adapter does the rest (device and
dtype, batching, input checks, normalisation) and pools frames when the model embeds images.

Preset options:
    text: glue `fn(adapter, texts) -> (N, D) tensor`.
    video: glue `fn(adapter, clips) -> (B, D) tensor`, clips as (T, H, W, 3) uint8 arrays already
        resampled to `frames`; or
    frames: glue `fn(adapter, frames) -> (N, D) tensor` for image models, frames as one
        (N, H, W, 3) uint8 array; the adapter pools each clip's frames (mean).
    image_size, mean, std: the frame preprocessing `adapter.pixels(...)` applies for the glue
        (exact resize to image_size, rescale to [0, 1], normalise), if the family needs one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from vidret.adapters.base import EmbeddingAdapter, check_clip
from vidret.adapters.fusion import l2_normalize
from vidret.adapters.native_video import resample_frames
from vidret.adapters.preprocess import FrameTransform
from vidret.adapters.transformers_base import batched, resolve_device, resolve_dtype

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.adapters.loading import LoadOptions
    from vidret.adapters.presets import AdapterPreset


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


class RemoteCodeAdapter(EmbeddingAdapter):
    """An adapter over a trusted custom-code model, through the preset's glue functions.

    Args:
        model: the loaded model (`AutoModel.from_pretrained(..., trust_remote_code=True)`).
        tokenizer: its tokenizer, or None when the model tokenises itself.
        text_fn, video_fn, frames_fn: the glue (exactly one of video_fn/frames_fn).
        frame_transform: preprocessing the glue may apply with `pixels`, or None.
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
        super().__init__(num_frames=num_frames, default_fusion=default_fusion)
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

        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"text {i}: expected a string, got {type(text).__name__}")
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
            "remote_code": True,
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
) -> RemoteCodeAdapter:
    """A `RemoteCodeAdapter` for a "remote_code" preset (`load_adapter` checked the user's consent).

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
    tokenizer = None
    if opts.get("tokenizer", True):
        tokenizer = AutoTokenizer.from_pretrained(model, revision=revision, trust_remote_code=True)
    loaded = AutoModel.from_pretrained(model, revision=revision, trust_remote_code=True)
    return RemoteCodeAdapter(
        loaded,
        tokenizer,
        text_fn=glue["text"],
        video_fn=glue.get("video"),
        frames_fn=glue.get("frames"),
        frame_transform=_transform(opts, options.resolution),
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
