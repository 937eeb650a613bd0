"""Frame preprocessing in plain torch: resize, centre-crop, rescale, normalise.

Why not the transformers image processors: the default (torchvision) backends cannot be used
beside our CPU torch wheel, and the `*Pil` backends convert frame by frame through PIL. This
module reads the same `preprocessor_config.json` fields (size, crop_size, resample,
rescale_factor, image_mean, image_std, and EfficientNet's rescale_offset/include_top for ALIGN)
and applies them to a whole stack of frames at once, on
the model's device. Interpolation uses torch's antialiased bilinear/bicubic, which matches PIL's
filters up to rounding (on the CPU both resize in uint8; on a GPU we resize in float).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

# PIL resample codes used in preprocessor_config.json -> torch interpolate modes.
_RESAMPLE = {0: "nearest", 2: "bilinear", 3: "bicubic"}
_PIL_NAMES = {1: "LANCZOS", 4: "BOX", 5: "HAMMING"}  # no torch kernel: bicubic is the closest
#: Largest square model input a `resolution` override may ask for (pixels per side): far above any
#: vision tower's (224 to 1024), while one float32 frame at this size already takes 192 MiB.
MAX_RESOLUTION = 4096


@dataclass(frozen=True)
class FrameTransform:
    """How uint8 RGB frames become model pixel values.

    Attributes:
        resize_mode: "shortest_edge" (scale so the short side equals `size[0]`, keep aspect ratio)
            or "exact" (resize to `size` = (height, width), aspect ratio not kept), or "none".
        size: target size: (edge, edge) for shortest_edge, (height, width) for exact.
        crop: (height, width) centre crop applied after resizing, or None.
        interpolation: torch interpolate mode ("bicubic", "bilinear", "nearest").
        rescale_factor: multiplier from 0..255 to the model's range (usually 1/255).
        offset: subtracted right after rescaling (1.0 for EfficientNet's `rescale_offset`, which
            maps 0..255 to [-1, 1] with rescale_factor 1/127.5; ALIGN uses it).
        mean: per-channel mean subtracted after rescaling, or None for no normalisation.
        std: per-channel std divided by after subtracting the mean, or None.
    """

    resize_mode: str = "exact"
    size: tuple[int, int] = (224, 224)
    crop: tuple[int, int] | None = None
    interpolation: str = "bicubic"
    rescale_factor: float = 1 / 255
    offset: float = 0.0
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None

    @classmethod
    def from_processor_config(
        cls, config: Mapping[str, Any] | None, default_size: int, resolution: int | None = None
    ) -> "FrameTransform":
        """Build the transform from a `preprocessor_config.json` dict.

        Args:
            config: the processor dict, or None when the checkpoint has none (then: exact resize to
                `default_size`, rescale to [0, 1], no normalisation, as VideoPrism expects).
            default_size: the vision tower's `image_size`, used when the dict gives no size.
            resolution: override: square model input of this many pixels (shortest-edge resize +
                centre crop for cropping processors, exact resize otherwise).

        Returns:
            The transform.

        Raises:
            ValueError: a size or resample field this module does not understand, or a resolution
                outside 1 .. MAX_RESOLUTION.
        """
        if resolution is not None and int(resolution) < 1:
            raise ValueError(f"resolution must be a positive number of pixels (--resolution N), got {resolution}")
        if resolution is not None and int(resolution) > MAX_RESOLUTION:
            raise ValueError(
                f"resolution (--resolution N) is above the maximum of {MAX_RESOLUTION} pixels per side "
                "(vidret.adapters.preprocess.MAX_RESOLUTION)"
            )
        if config is None:
            edge = int(resolution or default_size)
            return cls(resize_mode="exact", size=(edge, edge), mean=None, std=None)
        size = config.get("size") or {"height": default_size, "width": default_size}
        do_crop = bool(config.get("do_center_crop", False))
        if not config.get("do_resize", True):
            mode, target = "none", (0, 0)
        elif isinstance(size, Mapping) and "shortest_edge" in size:
            mode, target = "shortest_edge", (int(size["shortest_edge"]),) * 2
        elif isinstance(size, Mapping) and "height" in size and "width" in size:
            mode, target = "exact", (int(size["height"]), int(size["width"]))
        elif isinstance(size, int):
            mode, target = "exact", (size, size)
        else:
            raise ValueError(f"preprocessor config: unsupported 'size' field {size!r}")
        crop = None
        if do_crop:
            crop_size = config.get("crop_size") or {"height": target[0], "width": target[1]}
            if isinstance(crop_size, int):
                crop_size = {"height": crop_size, "width": crop_size}
            crop = (int(crop_size["height"]), int(crop_size["width"]))
        if resolution is not None:
            edge = int(resolution)
            target = (edge, edge)
            crop = (edge, edge) if crop is not None else None
            mode = mode if mode != "none" else "exact"
        do_rescale = config.get("do_rescale", True)
        mean, std = _mean_std(config)
        return cls(
            resize_mode=mode,
            size=target,
            crop=crop,
            interpolation=_interpolation(config.get("resample", 3)),
            rescale_factor=float(config.get("rescale_factor", 1 / 255)) if do_rescale else 1.0,
            offset=1.0 if do_rescale and config.get("rescale_offset", False) else 0.0,
            mean=mean,
            std=std,
        )

    @property
    def output_size(self) -> tuple[int, int] | None:
        """(height, width) of the pixel values produced, or None if it depends on the input."""
        if self.crop is not None:
            return self.crop
        return None if self.resize_mode == "none" else self.size if self.resize_mode == "exact" else None

    @property
    def decode_size(self) -> tuple[int, int] | None:
        """(width, height) the decoder can resize to for free, or None.

        Only an exact resize is independent of the source aspect ratio; resizing in FFmpeg then
        makes our own resize a no-op. The price is fidelity: on a sharp-edged 640x360 frame,
        FFmpeg's default (bilinear) scaler to 224x224 differs from the PIL bicubic processor by
        0.028 mean / 0.196 max in normalised units (0.010 / 0.094 with its bicubic scaler),
        where resizing the full frame here differs by < 0.001 / 0.016.
        """
        if self.resize_mode == "exact" and self.crop is None:
            return (self.size[1], self.size[0])
        return None

    def _resized_hw(self, height: int, width: int) -> tuple[int, int]:
        if self.resize_mode == "exact":
            return self.size
        if self.resize_mode == "shortest_edge":
            edge = self.size[0]
            short, long = (height, width) if height <= width else (width, height)
            new_long = int(edge * long / short)
            return (edge, new_long) if height <= width else (new_long, edge)
        return (height, width)

    def __call__(self, frames: "torch.Tensor") -> "torch.Tensor":
        """Transform a stack of frames.

        Args:
            frames: (N, H, W, 3) uint8 tensor (any device), e.g. `torch.from_numpy(clip)`.

        Returns:
            (N, 3, h, w) float32 tensor on the same device.
        """
        import torch
        import torch.nn.functional as F

        x = frames.permute(0, 3, 1, 2)  # a channels-last view of the (N, H, W, 3) frames
        height, width = x.shape[-2:]
        new_h, new_w = self._resized_hw(height, width)
        if (new_h, new_w) != (height, width):
            antialias = self.interpolation in ("bilinear", "bicubic")
            if x.device.type == "cpu" and x.dtype == torch.uint8:
                # torch's antialiased uint8 kernels on channels-last input are ~10x faster than
                # float on the CPU, and round to uint8 like PIL does.
                x = F.interpolate(x, size=(new_h, new_w), mode=self.interpolation, antialias=antialias)
            else:
                x = F.interpolate(x.float(), size=(new_h, new_w), mode=self.interpolation, antialias=antialias)
                x = x.clamp_(0, 255)  # bicubic overshoots; PIL clips to the uint8 range
        if self.crop is not None:
            ch, cw = self.crop
            top = max((new_h - ch) // 2, 0)
            left = max((new_w - cw) // 2, 0)
            x = x[:, :, top : top + ch, left : left + cw]
            if x.shape[-2:] != (ch, cw):  # frame smaller than the crop: pad like the HF processors
                pad_h, pad_w = ch - x.shape[-2], cw - x.shape[-1]
                x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        # One copy into a dense NCHW float tensor: elementwise ops on the strided channels-last
        # crop were slower than the resize itself.
        x = x.to(torch.float32, memory_format=torch.contiguous_format)
        # rescale, offset and mean/std folded into one per-channel affine map: x * scale - shift.
        scale, shift = self._affine()
        return x * torch.tensor(scale, device=x.device).view(1, 3, 1, 1) - torch.tensor(
            shift, device=x.device
        ).view(1, 3, 1, 1)

    def _affine(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel (scale, shift) with ((x * rescale - offset) - mean) / std == x * scale - shift."""
        mean = self.mean if self.mean is not None and self.std is not None else (0.0, 0.0, 0.0)
        std = self.std if self.mean is not None and self.std is not None else (1.0, 1.0, 1.0)
        scale = tuple(self.rescale_factor / s for s in std)
        shift = tuple((self.offset + m) / s for m, s in zip(mean, std))
        return scale, shift

    def describe(self) -> dict[str, Any]:
        """The transform as plain data (recorded in results)."""
        return {
            "resize": self.resize_mode,
            "size": list(self.size),
            "crop": list(self.crop) if self.crop else None,
            "interpolation": self.interpolation,
            "offset": self.offset,
            "normalize": self.mean is not None,
        }


def _interpolation(resample: Any) -> str:
    """The torch interpolate mode for a processor's PIL `resample` code (bicubic if unknown).

    Raises:
        ValueError: `resample` is not an integer code.
    """
    try:
        code = int(resample)
    except (TypeError, ValueError):
        raise ValueError(f"preprocessor config: unsupported 'resample' field {resample!r} (a PIL code)") from None
    if code not in _RESAMPLE:
        logger.warning(
            "preprocessor config: resample=%s (%s) has no torch equivalent; resizing with bicubic instead",
            code,
            _PIL_NAMES.get(code, "unknown"),
        )
    return _RESAMPLE.get(code, "bicubic")


def _mean_std(config: Mapping[str, Any]) -> tuple[Any, Any]:
    """(mean, std) of the normalisation a processor config asks for, or (None, None).

    EfficientNet's `include_top` (ALIGN) divides by `image_std` once more after the usual
    normalisation (or instead of it when `do_normalize` is off); both fold into one (mean, std).
    """
    mean = tuple(float(x) for x in config.get("image_mean") or ()) or None
    std = tuple(float(x) for x in config.get("image_std") or ()) or None
    normalize = bool(config.get("do_normalize", True)) and mean is not None and std is not None
    include_top = bool(config.get("include_top", False)) and std is not None
    if normalize and include_top:
        return mean, tuple(s * s for s in std)
    if normalize:
        return mean, std
    if include_top:
        return (0.0, 0.0, 0.0), std
    return None, None
