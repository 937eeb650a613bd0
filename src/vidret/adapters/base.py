"""The one interface every embedding model is used through: `EmbeddingAdapter`.

The runner only needs text embeddings, video embeddings and composed (video + text) query
embeddings, each L2-normalised float32 on the CPU, plus a few attributes telling it how to
decode frames. A subclass implements `encode_text` and `encode_video`; composition, long-video
aggregation and input validation live here once.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Sequence

from vidret.adapters.fusion import (
    AGGREGATION_CHOICES,
    NATIVE_FUSION,
    aggregate_segments,
    fuse,
    l2_normalize,
    parse_fusion,
)

if TYPE_CHECKING:
    import numpy as np
    import torch


def check_clip(clip: Any, index: int) -> None:
    """Raise a ValueError naming clip `index` unless it is a (T, H, W, 3) uint8 array with T >= 1.

    Args:
        clip: the candidate clip.
        index: its position in the batch, for the error message.

    Raises:
        ValueError: wrong type, dtype, rank, channel count or an empty time axis.
    """
    import numpy as np

    if not isinstance(clip, np.ndarray):
        raise ValueError(f"clip {index}: expected a numpy array of frames (T, H, W, 3), got {type(clip).__name__}")
    if clip.dtype != np.uint8 or clip.ndim != 4 or clip.shape[-1] != 3 or clip.shape[0] < 1:
        raise ValueError(
            f"clip {index}: expected uint8 RGB frames of shape (T, H, W, 3) with T >= 1, "
            f"got dtype {clip.dtype} and shape {clip.shape}"
        )


def check_texts(texts: Sequence[Any]) -> list[str]:
    """`texts` as a list, or a ValueError naming the first item that is not a string.

    Raises:
        ValueError: an item that is not a string (its index is named).
    """
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"text {i}: expected a string, got {type(text).__name__}")
    return texts


class EmbeddingAdapter(abc.ABC):
    """A text/video embedding model as the vidret runner sees it.

    Subclasses implement `encode_text` and `encode_video`; both must return L2-normalised float32
    CPU tensors of shape (N, D) (use `finalize`). Everything else has a working default.

    Attributes:
        num_frames: frames per clip the runner should sample (uniformly over the clip).
        frame_size: (width, height) the runner should ask the decoder to resize to, or None to
            decode at the native size (the adapter resizes and crops itself).
        text_max_length: tokens kept per text (longer texts are truncated), or None if unbounded.
        num_truncated_texts: running count of texts that were truncated to `text_max_length`.
        default_fusion: fusion used by `encode_composed` when none is given.
        default_aggregation: how `encode_long_video` pools segments when not told.
        native_fusion: the model can embed a composed query (video + text) as ONE input in one
            forward pass (`--fusion native`); such adapters implement `embed_composed`.
    """

    native_fusion: bool = False

    num_frames: int = 8
    frame_size: tuple[int, int] | None = None
    text_max_length: int | None = None
    default_fusion: str = "avg"
    default_aggregation: str = "mean"

    def __init__(
        self,
        *,
        num_frames: int = 8,
        frame_size: tuple[int, int] | None = None,
        text_max_length: int | None = None,
        default_fusion: str = "avg",
        default_aggregation: str = "mean",
    ) -> None:
        if int(num_frames) < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        self.check_fusion(default_fusion)  # fail at construction, not mid-run
        if default_aggregation not in AGGREGATION_CHOICES:
            raise ValueError(
                f"unknown segment aggregation {default_aggregation!r}; choose one of {', '.join(AGGREGATION_CHOICES)}"
            )
        self.num_frames = int(num_frames)
        self.frame_size = frame_size
        self.text_max_length = text_max_length
        self.default_fusion = default_fusion
        self.default_aggregation = default_aggregation
        self.num_truncated_texts = 0

    # ---- what a subclass provides -------------------------------------------------------------
    @abc.abstractmethod
    def encode_text(self, texts: Sequence[str]) -> "torch.Tensor":
        """Embed texts.

        Args:
            texts: N strings.

        Returns:
            (N, D) L2-normalised float32 CPU tensor.
        """

    @abc.abstractmethod
    def encode_video(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        """Embed clips.

        Args:
            clips: N arrays of frames, each (T, H, W, 3) uint8 RGB in temporal order; T may differ.

        Returns:
            (N, D) L2-normalised float32 CPU tensor.
        """

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        """Which of `texts` `encode_text` would cut to `text_max_length` (no embedding, no counting).

        The runner asks this once per batch to report truncated texts per task. The default says
        none are: an adapter that truncates (or counts into `num_truncated_texts`) overrides it.

        Args:
            texts: N strings.

        Returns:
            N booleans, aligned with `texts`.
        """
        return [False] * len(texts)

    def embed_composed(self, clips: Sequence["np.ndarray"], texts: Sequence[str]) -> "torch.Tensor":
        """Embed each (clip, text) pair as ONE model input (native fusion); see `native_fusion`.

        Only adapters with `native_fusion = True` implement this; `encode_composed` validates the
        inputs and normalises the output.

        Args:
            clips: N validated clips.
            texts: N modification texts, aligned with `clips`.

        Returns:
            (N, D) embeddings.

        Raises:
            NotImplementedError: the adapter has no native composition.
        """
        raise NotImplementedError(f"{type(self).__name__} has no native composed-query embedding")

    # ---- shared behaviour ---------------------------------------------------------------------
    def check_fusion(self, fusion: str) -> str:
        """The kind of `fusion`; "native" only where the model composes queries itself.

        Raises:
            ValueError: unknown fusion, or "native" on an adapter without `native_fusion`.
        """
        kind, _ = parse_fusion(fusion)
        if kind == NATIVE_FUSION and not self.native_fusion:
            raise ValueError(
                f"--fusion native (fusion='native') needs a model that embeds the query video and the modification "
                f"text together in one input (an MLLM embedder preset); {type(self).__name__} embeds them "
                "separately: use a late fusion such as avg, sum or weighted:<alpha>"
            )
        return kind

    @staticmethod
    def finalize(embeddings: "torch.Tensor") -> "torch.Tensor":
        """Detach, cast to float32, L2-normalise and move to the CPU (the output contract)."""
        return l2_normalize(embeddings.detach().float()).cpu()

    def encode_composed(
        self, clips: Sequence["np.ndarray"], texts: Sequence[str], fusion: str | None = None
    ) -> "torch.Tensor":
        """Embed composed queries (reference clip + modification text), as in TF-CoVR.

        With fusion "native" the model sees each (clip, text) pair as ONE input in one forward
        pass (`embed_composed`); every other fusion combines separately computed embeddings.

        Args:
            clips: N reference clips (see `encode_video`).
            texts: N modification texts, aligned with `clips`.
            fusion: see `vidret.adapters.fuse`, or "native"; defaults to `default_fusion`.

        Returns:
            (N, D) L2-normalised float32 CPU tensor.

        Raises:
            ValueError: `clips` and `texts` differ in length, the fusion is unknown, or it is
                "native" on an adapter without `native_fusion` (the message names `--fusion native`).
        """
        fusion = fusion or self.default_fusion
        kind = self.check_fusion(fusion)  # validate before spending time on the model
        if len(clips) != len(texts):
            raise ValueError(f"encode_composed: got {len(clips)} clips but {len(texts)} texts; they must pair up")
        if kind == NATIVE_FUSION:
            for i, clip in enumerate(clips):
                check_clip(clip, i)
            return self.finalize(self.embed_composed(list(clips), check_texts(texts)))
        # Skip the unused tower for the single-modality ablations.
        if kind == "text":
            return self.finalize(self.encode_text(texts))
        if kind == "video":
            return self.finalize(self.encode_video(clips))
        return self.finalize(fuse(self.encode_video(clips), self.encode_text(texts), fusion))

    def encode_long_video(self, segments: Sequence["np.ndarray"], how: str | None = None) -> "torch.Tensor":
        """Embed one long video from its segments (its clips, or fixed windows) and pool them.

        Args:
            segments: the video's segments, each (T, H, W, 3) uint8 RGB.
            how: "mean" or "max"; defaults to `default_aggregation`.

        Returns:
            (D,) L2-normalised float32 CPU tensor.

        Raises:
            ValueError: no segments, or an unknown aggregation.
        """
        if len(segments) == 0:
            raise ValueError("encode_long_video: a video needs at least one segment")
        return aggregate_segments(self.encode_video(segments), how or self.default_aggregation).cpu()

    def describe(self) -> dict[str, Any]:
        """Everything needed to reproduce this adapter's embeddings (recorded in results)."""
        return {
            "adapter": type(self).__name__,
            "frames": self.num_frames,
            "frame_size": list(self.frame_size) if self.frame_size else None,
            "text_max_length": self.text_max_length,
            "fusion": self.default_fusion,
            "segment_aggregation": self.default_aggregation,
        }
