"""Video retrieval with an image-text dual encoder: embed frames as images, pool over time.

Works for any model with `get_image_features` and `get_text_features` (CLIP, SigLIP/SigLIP2,
MetaCLIP, ALIGN, ChineseCLIP, ...). This is the standard zero-shot baseline of both benchmarks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from vidret.adapters.fusion import l2_normalize
from vidret.adapters.transformers_base import TransformersAdapter, accepts_argument, require_methods, unwrap_features

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.adapters.preprocess import FrameTransform

POOLING_CHOICES = ("mean", "max")


class FramePoolingAdapter(TransformersAdapter):
    """Frames -> image embeddings -> normalise -> pool over time -> normalise.

    Args:
        model, tokenizer, frame_transform: see `TransformersAdapter`.
        pooling: "mean" (default) or "max" over the frames of a clip.
        **kwargs: the remaining `TransformersAdapter` arguments.

    Raises:
        ValueError: unknown pooling, or a model without `get_image_features`.
    """

    def __init__(
        self, model: Any, tokenizer: Any, frame_transform: FrameTransform, *, pooling: str = "mean", **kwargs: Any
    ) -> None:
        if pooling not in POOLING_CHOICES:
            raise ValueError(f"unknown pooling {pooling!r}: use --pooling {'|'.join(POOLING_CHOICES)} (pooling=)")
        require_methods(
            model,
            self.required_methods,
            "it is not an image-text dual encoder, so it cannot be used with the frame-pooling adapter",
        )
        super().__init__(model, tokenizer, frame_transform, **kwargs)
        self.pooling = pooling
        self._interpolate = self.interpolate_pos_encoding and accepts_argument(
            getattr(model, self.required_methods[0]), "interpolate_pos_encoding"
        )

    #: The model methods this adapter calls (a subclass with another API names its own).
    required_methods: tuple[str, ...] = ("get_image_features", "get_text_features")

    def image_features(self, pixel_values: "torch.Tensor") -> "torch.Tensor":
        """(N, D) embeddings of N frames (normalised by the caller)."""
        # Only passed when the tower takes it: ALIGN's EfficientNet has no position embeddings
        # (any size works) and no such argument.
        kwargs = {"interpolate_pos_encoding": True} if self._interpolate else {}
        return unwrap_features(self.model.get_image_features(pixel_values=pixel_values, **kwargs))

    def pool(self, frame_embeddings: "torch.Tensor") -> "torch.Tensor":
        """(T, D) normalised frame embeddings of one clip -> (D,) unit-norm clip embedding."""
        pooled = frame_embeddings.mean(dim=0) if self.pooling == "mean" else frame_embeddings.max(dim=0).values
        return l2_normalize(pooled)

    def embed_clips(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        import torch

        # All frames of the batch go through the image tower in one pass; clips may differ in T,
        # so remember where each clip's frames are.
        pixel_values = torch.cat([self.pixels(clip) for clip in clips])
        feats = l2_normalize(self.image_features(pixel_values).float())
        per_clip = torch.split(feats, [clip.shape[0] for clip in clips])
        return torch.stack([self.pool(f) for f in per_clip])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "pooling": self.pooling}
