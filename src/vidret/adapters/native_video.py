"""Video retrieval with a model that has its own video tower (X-CLIP, VideoPrism).

The model sees a whole clip at once as (B, T, 3, H, W). Both supported families fix T in their
checkpoint (temporal position embeddings of exactly `num_frames` entries), so clips of another
length are resampled uniformly to `num_frames` here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from vidret.adapters.transformers_base import TransformersAdapter, require_methods, unwrap_features

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.adapters.preprocess import FrameTransform

VIDEO_INPUT_CHOICES = ("pixel_values", "pixel_values_videos")


def resample_frames(clip: "np.ndarray", num_frames: int) -> "np.ndarray":
    """Pick `num_frames` frames uniformly (first and last kept); repeats frames of short clips."""
    import numpy as np

    if clip.shape[0] == num_frames:
        return clip
    index = np.linspace(0, clip.shape[0] - 1, num_frames).round().astype(np.int64)
    return clip[index]


class NativeVideoAdapter(TransformersAdapter):
    """Clip -> (1, T, 3, H, W) -> `get_video_features`; text -> `get_text_features`.

    Args:
        model, tokenizer, frame_transform: see `TransformersAdapter`.
        video_input: keyword the model's `get_video_features` takes the frames as:
            "pixel_values" (X-CLIP) or "pixel_values_videos" (VideoPrism).
        **kwargs: the remaining `TransformersAdapter` arguments.

    Raises:
        ValueError: unknown `video_input`, or a model without `get_video_features`.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        frame_transform: FrameTransform,
        *,
        video_input: str = "pixel_values",
        **kwargs: Any,
    ) -> None:
        if video_input not in VIDEO_INPUT_CHOICES:
            raise ValueError(f"unknown video_input {video_input!r}; choose one of {', '.join(VIDEO_INPUT_CHOICES)}")
        require_methods(
            model, ("get_video_features", "get_text_features"), "use the frame-pooling adapter for image-text models"
        )
        super().__init__(model, tokenizer, frame_transform, **kwargs)
        self.video_input = video_input

    # X-CLIP quirk: its forward() conditions the text embedding on each video (a prompt generator
    # mixes visual tokens into the text), so text embeddings come back per (video, text) pair and
    # could not be indexed once for a gallery. `get_text_features` gives the unconditioned text
    # projection, which makes text and video embeddings independent: that is what retrieval over a
    # precomputed gallery needs, at the cost of the prompt generator's refinement. The inherited
    # `encode_text` already calls `get_text_features`.

    def embed_clips(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        import torch

        videos = torch.stack([self.pixels(resample_frames(clip, self.num_frames)) for clip in clips])
        kwargs = {self.video_input: videos}
        if self.interpolate_pos_encoding:
            kwargs["interpolate_pos_encoding"] = True
        feats = unwrap_features(self.model.get_video_features(**kwargs))
        # VideoPrism quirk: its attention-pooling head returns (batch, 1, hidden); flatten.
        return feats.reshape(feats.shape[0], -1)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "pooling": "model", "video_input": self.video_input}
