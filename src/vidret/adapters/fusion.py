"""Pure embedding arithmetic: composed-query fusion and long-video segment aggregation.

No model code here: the functions take and return tensors, so the runner, the adapters and the
tests share one definition of `avg`, `weighted:<alpha>`, ... and of segment pooling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported lazily so `import vidret.adapters` stays cheap
    import torch

FUSION_CHOICES = ("avg", "sum", "weighted:<alpha>", "text", "video", "native")
#: The model embeds (query video + modification text) as one input in one forward pass; only
#: adapters with `native_fusion` can (see `EmbeddingAdapter.encode_composed`).
NATIVE_FUSION = "native"
AGGREGATION_CHOICES = ("mean", "max")


def l2_normalize(x: "torch.Tensor", eps: float = 1e-12) -> "torch.Tensor":
    """Divide each row (last dimension) by its L2 norm; all-zero rows stay zero.

    Args:
        x: tensor of shape (..., D).
        eps: lower bound on the norm, so a zero vector does not produce NaN.

    Returns:
        Tensor of the same shape and dtype with unit-norm rows.
    """
    return x / x.norm(p=2, dim=-1, keepdim=True).clamp_min(eps)


def parse_fusion(fusion: str) -> tuple[str, float | None]:
    """Validate a fusion name and split off the weight of `weighted:<alpha>`.

    Args:
        fusion: one of "avg", "sum", "text", "video", "native" or "weighted:<alpha>" with
            0 <= alpha <= 1.

    Returns:
        (kind, alpha): alpha is the video weight for "weighted", else None.

    Raises:
        ValueError: unknown name, or a weight that is not a number in [0, 1].
    """
    if not isinstance(fusion, str):
        raise ValueError(f"fusion must be a string, one of {', '.join(FUSION_CHOICES)}; got {fusion!r}")
    name = fusion.strip().lower()
    if name in ("avg", "sum", "text", "video", NATIVE_FUSION):
        return name, None
    if name.startswith("weighted:"):
        raw = name.split(":", 1)[1]
        try:
            alpha = float(raw)
        except ValueError:
            raise ValueError(
                f"fusion {fusion!r}: the weight after 'weighted:' must be a number in [0, 1] (e.g. weighted:0.7)"
            ) from None
        if not 0.0 <= alpha <= 1.0:  # also rejects NaN
            raise ValueError(f"fusion {fusion!r}: alpha must satisfy 0 <= alpha <= 1, got {alpha}")
        return "weighted", alpha
    raise ValueError(f"unknown fusion {fusion!r}; choose one of {', '.join(FUSION_CHOICES)}")


def is_native(fusion: str) -> bool:
    """Whether `fusion` (any accepted spelling) is the native, one-forward-pass composition.

    Raises:
        ValueError: an unknown fusion (see `parse_fusion`).
    """
    return parse_fusion(fusion)[0] == NATIVE_FUSION


def fuse(video_emb: "torch.Tensor", text_emb: "torch.Tensor", fusion: str = "avg") -> "torch.Tensor":
    """Combine video and text embeddings into one composed-query embedding per row (late fusion).

    Both inputs are L2-normalised first, so neither modality dominates by its scale; the result is
    renormalised (cosine scoring downstream).

    - "avg": mean of the normalised embeddings (the standard zero-shot composed baseline).
    - "sum": their sum. After renormalisation it ranks exactly like "avg"; kept because papers
      report it under that name.
    - "weighted:<alpha>": alpha * video + (1 - alpha) * text.
    - "text" / "video": one modality only (ablations).

    Args:
        video_emb: (N, D) query-video embeddings.
        text_emb: (N, D) modification-text embeddings.
        fusion: fusion name, see above.

    Returns:
        (N, D) float32 unit-norm tensor on the inputs' device.

    Raises:
        ValueError: unknown fusion, bad alpha, "native" (the model composes the query itself; there
            is nothing to combine), or inputs whose shapes differ or are not 2-D.
    """
    kind, alpha = parse_fusion(fusion)
    if kind == NATIVE_FUSION:
        raise ValueError(
            "fusion 'native' is not a combination of two embeddings: the model embeds the query video and the "
            "modification text together (EmbeddingAdapter.encode_composed with --fusion native)"
        )
    if video_emb.ndim != 2 or text_emb.ndim != 2 or video_emb.shape != text_emb.shape:
        raise ValueError(
            "fuse: video and text embeddings must both be (N, D) with the same shape; "
            f"got {tuple(video_emb.shape)} and {tuple(text_emb.shape)}"
        )
    v = l2_normalize(video_emb.float())
    t = l2_normalize(text_emb.float())
    if kind == "avg":
        out = (v + t) / 2
    elif kind == "sum":
        out = v + t
    elif kind == "weighted":
        out = alpha * v + (1.0 - alpha) * t
    elif kind == "text":
        out = t
    else:
        out = v
    return l2_normalize(out)


def aggregate_segments(embeddings: "torch.Tensor", how: str = "mean") -> "torch.Tensor":
    """Pool per-segment embeddings of one long video into one unit-norm video embedding.

    Segments are normalised before pooling, so a segment's weight does not depend on its norm.

    Args:
        embeddings: (S, D) one row per segment (clip or fixed window), S >= 1.
        how: "mean" (default) or "max" (element-wise max over segments).

    Returns:
        (D,) float32 unit-norm tensor.

    Raises:
        ValueError: unknown `how`, or `embeddings` not 2-D with at least one row.
    """
    if how not in AGGREGATION_CHOICES:
        raise ValueError(f"unknown segment aggregation {how!r}; choose one of {', '.join(AGGREGATION_CHOICES)}")
    if embeddings.ndim != 2 or embeddings.shape[0] == 0:
        raise ValueError(
            f"aggregate_segments expects a non-empty (segments, dim) tensor, got shape {tuple(embeddings.shape)}"
        )
    normed = l2_normalize(embeddings.float())
    pooled = normed.mean(dim=0) if how == "mean" else normed.max(dim=0).values
    return l2_normalize(pooled)
