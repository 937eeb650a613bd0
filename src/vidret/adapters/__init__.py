"""Embedding adapters: any Hub text/video embedding model behind one small interface.

    from vidret.adapters import load_adapter
    adapter = load_adapter("openai/clip-vit-base-patch32")
    text = adapter.encode_text(["a man dives"])          # (1, D) float32, unit norm, CPU
    video = adapter.encode_video([frames])                # frames: (T, H, W, 3) uint8 RGB

Presets (per model family) live in the `vidret.model_adapters` package (`model_adapters/`).
Heavy libraries (torch, transformers) are imported only when a model is loaded or encoded;
tiny random-weight test checkpoints are built by `vidret.testing.tiny`.
"""

from vidret.adapters.base import EmbeddingAdapter, check_clip
from vidret.adapters.fusion import (
    AGGREGATION_CHOICES,
    FUSION_CHOICES,
    NATIVE_FUSION,
    aggregate_segments,
    fuse,
    is_native,
    l2_normalize,
    parse_fusion,
)
from vidret.adapters.loading import load_adapter, read_config_dict, resolve_preset
from vidret.adapters.presets import AdapterPreset, available_presets, find_preset, get_preset
from vidret.adapters.frame_pooling import FramePoolingAdapter
from vidret.adapters.mllm import MllmEmbedderAdapter
from vidret.adapters.native_video import NativeVideoAdapter
from vidret.adapters.preprocess import FrameTransform
from vidret.adapters.transformers_base import TransformersAdapter

__all__ = [
    "AGGREGATION_CHOICES",
    "FUSION_CHOICES",
    "NATIVE_FUSION",
    "AdapterPreset",
    "EmbeddingAdapter",
    "FramePoolingAdapter",
    "MllmEmbedderAdapter",
    "FrameTransform",
    "NativeVideoAdapter",
    "TransformersAdapter",
    "aggregate_segments",
    "available_presets",
    "check_clip",
    "find_preset",
    "fuse",
    "get_preset",
    "is_native",
    "l2_normalize",
    "load_adapter",
    "parse_fusion",
    "read_config_dict",
    "resolve_preset",
]
