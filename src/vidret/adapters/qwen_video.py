"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL native video input built with torch (no torchvision).

The transformers video processors of these models import torchvision, which cannot load beside
our CPU torch wheel. This module does what `Qwen2VLVideoProcessor` does
(transformers/models/qwen2_vl/video_processing_qwen2_vl.py, read in transformers 5.24): resize
every frame of a clip to one size found by `smart_resize` (both sides divisible by
patch_size * merge_size, pixel count within [min_pixels, max_pixels], aspect ratio kept),
rescale and normalise, pad the frame count to a multiple of `temporal_patch_size` by repeating
the last frame, and cut the clip into flattened (temporal_patch_size, patch, patch) patches in
the order the vision tower expects, giving `pixel_values_videos` rows and one `video_grid_thw`
row (t, h, w) per clip. `tests/test_adapters_mllm.py` checks the patches and `smart_resize`
against transformers' own Qwen2-VL image processor code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import torch

# OPENAI_CLIP_MEAN / STD: the Qwen2-VL processors' defaults.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_RESAMPLE = {0: "nearest", 2: "bilinear", 3: "bicubic"}


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(h, w) divisible by `factor`, with min_pixels <= h * w <= max_pixels, aspect ratio kept.

    The rule of the Qwen2-VL processors (`smart_resize` in transformers' qwen2_vl processors).

    Raises:
        ValueError: an aspect ratio above 200.
    """
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"frame aspect ratio must be below 200, got {height}x{width}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class QwenVideoInput:
    """How frames become `pixel_values_videos` for a Qwen-VL vision tower.

    Attributes:
        patch_size: spatial patch size of the vision tower (14 for Qwen2/2.5-VL, 16 for Qwen3-VL).
        temporal_patch_size: frames per temporal patch (2).
        merge_size: spatial patches merged into one LLM token per side (2).
        min_pixels: lower bound on a frame's pixel count after resizing.
        max_pixels: upper bound on a frame's pixel count after resizing.
        total_pixels: optional budget for a whole clip: each frame then gets at most
            total_pixels * temporal_patch_size / frames (but never under 1.05 * min_pixels), as
            qwen-vl-utils bounds long videos; None = no clip budget.
        mean: per-channel mean after rescaling to [0, 1].
        std: per-channel std.
        interpolation: torch interpolate mode of the resize ("bicubic" = the processors' default).
    """

    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    min_pixels: int = 4 * 28 * 28
    max_pixels: int = 360 * 420
    total_pixels: int | None = None
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    interpolation: str = "bicubic"

    @classmethod
    def from_config(
        cls, processor: Mapping[str, Any] | None, vision_config: Any, options: Mapping[str, Any], resolution: int | None
    ) -> "QwenVideoInput":
        """Build from the checkpoint's video processor config, its vision config and a preset's options.

        Args:
            processor: `video_preprocessor_config.json` (or `preprocessor_config.json`) as a dict,
                or None. Its patch sizes and mean/std are used; its pixel bounds are not (see
                `options`), because embedders set their own frame budget.
            vision_config: the model's `vision_config` (patch sizes when the processor has none).
            options: the preset's options: `frame_min_pixels`, `frame_max_pixels`, `total_pixels`.
            resolution: the user's `--resolution N`: frames get at most N * N pixels.

        Raises:
            ValueError: a bound below one merged patch, or min above max.
        """
        processor = processor or {}
        patch = int(processor.get("patch_size") or getattr(vision_config, "patch_size", 14))
        temporal = int(processor.get("temporal_patch_size") or getattr(vision_config, "temporal_patch_size", 2))
        merge = int(processor.get("merge_size") or getattr(vision_config, "spatial_merge_size", 2))
        factor = patch * merge
        min_pixels = int(options.get("frame_min_pixels", 4 * factor * factor))
        max_pixels = int(options.get("frame_max_pixels", 360 * 420))
        total = options.get("total_pixels")
        if resolution is not None:
            max_pixels = int(resolution) * int(resolution)
            min_pixels = min(min_pixels, max_pixels)
            total = None  # the user's per-frame budget replaces the clip budget
        if max_pixels < factor * factor or min_pixels > max_pixels:
            raise ValueError(
                f"frame pixel bounds [{min_pixels}, {max_pixels}] must allow at least one {factor}x{factor} merged patch "
                f"and min <= max: fix --resolution (at least {factor})"
            )
        mean = tuple(float(x) for x in processor.get("image_mean") or CLIP_MEAN)
        std = tuple(float(x) for x in processor.get("image_std") or CLIP_STD)
        resample = int(processor.get("resample", 3))
        return cls(
            patch_size=patch,
            temporal_patch_size=temporal,
            merge_size=merge,
            min_pixels=min_pixels,
            max_pixels=max_pixels,
            total_pixels=int(total) if total else None,
            mean=mean,  # type: ignore[arg-type]
            std=std,  # type: ignore[arg-type]
            interpolation=_RESAMPLE.get(resample, "bicubic"),
        )

    @property
    def factor(self) -> int:
        """Both resized sides are multiples of this (patch_size * merge_size)."""
        return self.patch_size * self.merge_size

    def frame_size(self, height: int, width: int, num_frames: int) -> tuple[int, int]:
        """The (h, w) every frame of a `num_frames`-frame clip of `height` x `width` is resized to."""
        max_pixels = self.max_pixels
        if self.total_pixels:
            share = self.total_pixels * self.temporal_patch_size // max(num_frames, 1)
            max_pixels = max(min(max_pixels, share), int(self.min_pixels * 1.05))
        return smart_resize(height, width, self.factor, self.min_pixels, max_pixels)

    def grid(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        """The (t, h, w) patch grid of a `num_frames`-frame clip of `height` x `width` pixels.

        t counts temporal patches after padding the frames to a multiple of `temporal_patch_size`.
        """
        new_h, new_w = self.frame_size(height, width, num_frames)
        return -(-num_frames // self.temporal_patch_size), new_h // self.patch_size, new_w // self.patch_size

    def __call__(self, frames: "torch.Tensor") -> tuple["torch.Tensor", tuple[int, int, int]]:
        """Patch one clip.

        Args:
            frames: (T, H, W, 3) uint8 RGB tensor (any device).

        Returns:
            (patches, (t, h, w)): float32 (t*h*w, 3 * temporal_patch_size * patch_size**2) and the
            grid in patches (t temporal patches, h x w spatial patches).
        """
        import torch
        import torch.nn.functional as F

        num_frames, height, width = frames.shape[:3]
        t, gh, gw = self.grid(num_frames, height, width)
        new_h, new_w = gh * self.patch_size, gw * self.patch_size
        x = frames.permute(0, 3, 1, 2)
        if (new_h, new_w) != (height, width):
            antialias = self.interpolation in ("bilinear", "bicubic")
            if x.device.type == "cpu":  # uint8 kernels round like the PIL/torchvision processors
                x = F.interpolate(x, size=(new_h, new_w), mode=self.interpolation, antialias=antialias)
            else:
                x = F.interpolate(x.float(), size=(new_h, new_w), mode=self.interpolation, antialias=antialias)
                x = x.round_().clamp_(0, 255)
        x = x.to(torch.float32, memory_format=torch.contiguous_format)
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1)
        x = (x / 255.0 - mean) / std
        if pad := -num_frames % self.temporal_patch_size:  # repeat the last frame, like the processor
            x = torch.cat([x, x[-1:].expand(pad, -1, -1, -1)])
        m, p, tp = self.merge_size, self.patch_size, self.temporal_patch_size
        patches = x.view(t, tp, 3, gh // m, m, p, gw // m, m, p)
        # (t, gh/m, gw/m, m, m, C, tp, p, p): merge blocks stay contiguous for the patch merger.
        patches = patches.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
        return patches.reshape(t * gh * gw, 3 * tp * p * p), (t, gh, gw)

    def describe(self) -> dict[str, Any]:
        """The preprocessing as plain data (recorded in results)."""
        return {
            "resize": "smart_resize",
            "patch_size": self.patch_size,
            "temporal_patch_size": self.temporal_patch_size,
            "merge_size": self.merge_size,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "total_pixels": self.total_pixels,
            "interpolation": self.interpolation,
            "normalize": True,
        }
