"""What every transformers-backed adapter shares: device/dtype, batching, text encoding.

`FramePoolingAdapter` and `NativeVideoAdapter` differ only in how a clip becomes a vector; the
tokenisation with truncation counting, the output unwrapping and `describe()` live here.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from vidret.adapters.base import EmbeddingAdapter, check_clip, check_texts
from vidret.adapters.preprocess import FrameTransform

if TYPE_CHECKING:
    import numpy as np
    import torch

_DTYPES = {
    "fp32": "float32",
    "float32": "float32",
    "float": "float32",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
    "half": "float16",
}
PADDING_CHOICES = ("longest", "max_length")
#: The short names `vidret evaluate --dtype` offers (every alias above is accepted from Python).
DTYPE_CHOICES = ("fp32", "bf16", "fp16")


def resolve_device(device: "str | torch.device | None" = None) -> "torch.device":
    """The device to run on: `device` if given, else CUDA when available, else CPU.

    Decided at call time (never at import), so a process launched by accelerate that sets
    CUDA_VISIBLE_DEVICES first sees the right GPU.
    """
    import torch

    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def dtype_name(dtype: str) -> str:
    """The torch name ("float32", "bfloat16", "float16") of a dtype alias such as "bf16".

    Checked without importing torch, so settings can be validated before any model loads.

    Raises:
        ValueError: an unknown dtype name (the message names --dtype and the choices).
    """
    name = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if name is None:
        raise ValueError(
            f"unknown dtype {dtype!r}: use --dtype {'|'.join(DTYPE_CHOICES)} (dtype= also accepts "
            f"{', '.join(sorted(set(_DTYPES) - set(DTYPE_CHOICES)))})"
        )
    return name


def resolve_dtype(dtype: "str | torch.dtype | None", device: "torch.device") -> "torch.dtype":
    """The compute dtype: `dtype` if given, else bfloat16 on CUDA and float32 elsewhere.

    Raises:
        ValueError: an unknown dtype name.
    """
    import torch

    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    return getattr(torch, dtype_name(dtype))


def unwrap_features(output: Any) -> "torch.Tensor":
    """The projected embedding from a `get_*_features` call.

    transformers 5.x returns a `BaseModelOutputWithPooling` whose `.pooler_output` is the
    projected embedding; 4.x returned the tensor itself. This is the one place that knows.
    """
    pooled = getattr(output, "pooler_output", None)
    if pooled is not None:
        return pooled
    if isinstance(output, tuple):  # return_dict=False
        return output[1] if len(output) > 1 else output[0]
    return output


def accepts_argument(method: Any, name: str) -> bool:
    """Whether `method` declares a parameter called `name` explicitly (not just via **kwargs)."""
    import inspect

    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def require_methods(model: Any, methods: Sequence[str], why: str) -> None:
    """Raise unless `model` has every method in `methods`.

    Raises:
        ValueError: naming the model class, the missing methods and `why` (the fix).
    """
    missing = [m for m in methods if not hasattr(model, m)]
    if missing:
        raise ValueError(f"{type(model).__name__} has no {'/'.join(missing)}: {why}")


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of `items` of length `size` (the last may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class TransformersAdapter(EmbeddingAdapter):
    """Base for adapters over a transformers model with `get_text_features`.

    Args:
        model: the loaded model (any `PreTrainedModel` with `get_text_features`).
        tokenizer: its tokenizer.
        frame_transform: uint8 frames -> pixel values.
        model_id: Hub id or local path the model came from (recorded).
        revision: model revision (recorded).
        preset: name of the preset used (recorded).
        num_frames: frames per clip the runner should sample.
        text_max_length: tokens kept per text; longer texts are truncated and counted.
        padding: "longest" or "max_length" (SigLIP/VideoPrism pool the last position, so they need
            every text padded to exactly `text_max_length`).
        text_inputs: tokenizer outputs passed to the model (SigLIP was trained without a mask).
        default_fusion: default for `encode_composed`.
        default_aggregation: default for `encode_long_video`.
        device: torch device; None = CUDA if available else CPU.
        dtype: compute dtype; None = bfloat16 on CUDA, float32 on CPU.
        batch_size: texts per forward pass, and clips per forward pass.
        interpolate_pos_encoding: pass `interpolate_pos_encoding=True` to the vision tower (set
            when the resolution differs from the checkpoint's).
        random_weights: the checkpoint is a random-weight test model (recorded).

    Raises:
        ValueError: bad batch size, padding or text length.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        frame_transform: FrameTransform,
        *,
        model_id: str,
        revision: str | None = None,
        preset: str | None = None,
        num_frames: int = 8,
        text_max_length: int = 77,
        padding: str = "longest",
        text_inputs: Sequence[str] = ("input_ids", "attention_mask"),
        default_fusion: str = "avg",
        default_aggregation: str = "mean",
        device: "str | torch.device | None" = None,
        dtype: "str | torch.dtype | None" = None,
        batch_size: int = 16,
        interpolate_pos_encoding: bool = False,
        random_weights: bool = False,
    ) -> None:
        super().__init__(
            num_frames=num_frames,
            frame_size=frame_transform.decode_size,
            text_max_length=text_max_length,
            default_fusion=default_fusion,
            default_aggregation=default_aggregation,
        )
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if padding not in PADDING_CHOICES:
            raise ValueError(f"unknown padding {padding!r}; choose one of {', '.join(PADDING_CHOICES)}")
        if int(text_max_length) < 2:
            raise ValueError(
                f"text_max_length must be >= 2 (room for the special tokens), got {text_max_length}: "
                "fix --text-max-length (text_max_length=)"
            )
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.frame_transform = frame_transform
        self.model_id = model_id
        self.revision = revision
        self.preset = preset
        self.padding = padding
        self.text_inputs = tuple(text_inputs)
        self.batch_size = int(batch_size)
        self.interpolate_pos_encoding = bool(interpolate_pos_encoding)
        self.random_weights = bool(random_weights)
        self._dim: int | None = None

    # ---- text -------------------------------------------------------------------------------
    def truncated(self, texts: Sequence[str]) -> list[bool]:
        """Which texts exceed `text_max_length` tokens (special tokens included).

        One batched tokenizer call without truncation; nothing is embedded or counted.

        Raises:
            ValueError: an item that is not a string (its index is named).
        """
        texts = check_texts(texts)
        if not texts:
            return []
        # An untruncated pass is the only reliable answer; `verbose=False` silences the
        # tokenizer's "sequence longer than the maximum" warning that LoVR captions would trigger.
        ids = self.tokenizer(texts, truncation=False, verbose=False)["input_ids"]
        return [len(seq) > self.text_max_length for seq in ids]

    def tokenize(self, texts: Sequence[str]) -> dict[str, "torch.Tensor"]:
        """Tokenise, truncating to `text_max_length`, and add to `num_truncated_texts`.

        Raises:
            ValueError: an item that is not a string (its index is named).
        """
        texts = check_texts(texts)
        self.num_truncated_texts += sum(self.truncated(texts))
        enc = self.tokenizer(
            texts,
            padding=self.padding,
            truncation=True,
            max_length=self.text_max_length,
            return_tensors="pt",
        )
        return {k: enc[k].to(self.device) for k in self.text_inputs if k in enc}

    def encode_text(self, texts: Sequence[str]) -> "torch.Tensor":
        import torch

        if len(texts) == 0:
            return torch.empty(0, self.embedding_dim)
        out = []
        with torch.inference_mode():
            for chunk in batched(list(texts), self.batch_size):
                feats = self.text_features(self.tokenize(chunk))
                out.append(self.finalize(feats.reshape(feats.shape[0], -1)))
        return torch.cat(out)

    def text_features(self, tokens: dict[str, "torch.Tensor"]) -> "torch.Tensor":
        """(N, D) embeddings of one tokenised batch (normalised by the caller)."""
        return unwrap_features(self.model.get_text_features(**tokens))

    @property
    def embedding_dim(self) -> int:
        """Output dimension D (found by embedding one short text the first time it is asked)."""
        if self._dim is None:
            counted = self.num_truncated_texts
            self._dim = int(self.encode_text(["a"]).shape[1])
            self.num_truncated_texts = counted
        return self._dim

    # ---- video ------------------------------------------------------------------------------
    def encode_video(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        import torch

        for i, clip in enumerate(clips):
            check_clip(clip, i)
        if len(clips) == 0:
            return self.empty_video_result()
        with torch.inference_mode():
            out = [self.finalize(self.embed_clips(chunk)) for chunk in batched(list(clips), self.batch_size)]
        return torch.cat(out)

    @abc.abstractmethod
    def embed_clips(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        """(B, D) embeddings of one batch of validated clips (normalised afterwards by `finalize`)."""

    def pixels(self, clip: "np.ndarray") -> "torch.Tensor":
        """One clip's frames as (T, 3, h, w) pixel values on the model's device and dtype."""
        import numpy as np
        import torch

        # A reversed or strided view (negative strides) cannot become a tensor without a copy.
        frames = torch.from_numpy(np.ascontiguousarray(clip)).to(self.device)
        return self.frame_transform(frames).to(self.dtype)

    def empty_video_result(self) -> "torch.Tensor":
        import torch

        return torch.empty(0, self.embedding_dim)

    def describe(self) -> dict[str, Any]:
        info = {
            "model": self.model_id,
            "revision": self.revision,
            "preset": self.preset,
            "model_type": getattr(self.model.config, "model_type", None),
            **super().describe(),
            # (width, height) like `frame_size`; the transform's output_size is (height, width).
            "resolution": list(self.frame_transform.output_size[::-1]) if self.frame_transform.output_size else None,
            "preprocessing": self.frame_transform.describe(),
            "padding": self.padding,
            "dtype": str(self.dtype).removeprefix("torch."),
            "interpolate_pos_encoding": self.interpolate_pos_encoding,
        }
        if self.random_weights:
            info["random_weights"] = True
        return info
