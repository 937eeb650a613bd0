"""Torch frame preprocessing against the transformers PIL image processors it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidret.adapters import FrameTransform


def _smooth_frame(height: int = 90, width: int = 160) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x * 1.5) % 256, (y * 2.5) % 256, (x + y) % 256], -1).astype(np.uint8)


@pytest.mark.parametrize(
    "processor_name, kwargs",
    [
        ("CLIPImageProcessorPil", dict(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56})),
        ("SiglipImageProcessorPil", dict(size={"height": 56, "width": 56})),
    ],
)
def test_matches_the_pil_processor(processor_name, kwargs):
    import transformers

    processor = getattr(transformers, processor_name)(**kwargs)
    frame = _smooth_frame()
    ref = processor(images=[frame], return_tensors="pt")["pixel_values"]
    got = FrameTransform.from_processor_config(processor.to_dict(), default_size=224)(torch.from_numpy(frame[None]))
    assert got.shape == ref.shape == (1, 3, 56, 56)
    diff = (got - ref).abs()
    # On the CPU both resize in uint8: at most one or two grey levels apart (1/255/std ~ 0.015).
    assert diff.mean() < 0.002 and diff.max() < 0.035


def test_shortest_edge_keeps_aspect_then_centre_crops():
    t = FrameTransform(resize_mode="shortest_edge", size=(20, 20), crop=(20, 20), mean=None, std=None)
    assert t._resized_hw(40, 80) == (20, 40) and t._resized_hw(80, 40) == (40, 20)
    # A frame whose left half is black and right half white stays split in the middle after the crop.
    frame = np.zeros((1, 40, 80, 3), dtype=np.uint8)
    frame[:, :, 40:] = 255
    out = t(torch.from_numpy(frame))
    assert out.shape == (1, 3, 20, 20) and t.output_size == (20, 20) and t.decode_size is None
    assert out[0, 0, :, 0].max() < 0.05 and out[0, 0, :, -1].min() > 0.95


def test_exact_resize_and_decode_hint():
    t = FrameTransform(resize_mode="exact", size=(24, 32))
    assert t.decode_size == (32, 24)  # (width, height) for the decoder
    out = t(torch.full((2, 10, 10, 3), 255, dtype=torch.uint8))
    assert out.shape == (2, 3, 24, 32)
    torch.testing.assert_close(out, torch.ones_like(out))  # rescaled, no normalisation


def test_mean_std_normalisation():
    t = FrameTransform(resize_mode="none", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    out = t(torch.tensor([[[[0, 255, 51]]]], dtype=torch.uint8))
    torch.testing.assert_close(out.flatten(), torch.tensor([-1.0, 1.0, -0.6]))


def test_no_processor_config_means_exact_resize_to_model_size():
    t = FrameTransform.from_processor_config(None, default_size=288)
    assert (t.resize_mode, t.size, t.mean) == ("exact", (288, 288), None)
    assert FrameTransform.from_processor_config({"do_normalize": False}, default_size=64).size == (64, 64)


def test_resolution_override():
    config = {"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224}, "do_center_crop": True}
    t = FrameTransform.from_processor_config(config, default_size=224, resolution=112)
    assert (t.size, t.crop) == ((112, 112), (112, 112))
    t = FrameTransform.from_processor_config({"size": {"height": 224, "width": 224}}, 224, resolution=96)
    assert (t.size, t.crop, t.decode_size) == ((96, 96), None, (96, 96))


def test_crop_larger_than_frame_is_padded():
    t = FrameTransform(resize_mode="none", crop=(6, 6))
    out = t(torch.full((1, 4, 4, 3), 255, dtype=torch.uint8))
    assert out.shape == (1, 3, 6, 6)
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 3, 3] == 1


def test_int_sizes_and_no_resize():
    t = FrameTransform.from_processor_config({"size": 48, "do_center_crop": True, "crop_size": 40}, 224)
    assert (t.size, t.crop) == ((48, 48), (40, 40))
    t = FrameTransform.from_processor_config({"do_resize": False}, 224)
    assert t.resize_mode == "none" and t.output_size is None
    assert t(torch.zeros(1, 7, 9, 3, dtype=torch.uint8)).shape == (1, 3, 7, 9)


@pytest.mark.parametrize("size", [{"longest_edge": 10}, [3, 4]])
def test_unsupported_size_field_raises(size):
    with pytest.raises(ValueError, match="unsupported 'size' field"):
        FrameTransform.from_processor_config({"size": size}, 224)


def test_bad_resolution_raises():
    with pytest.raises(ValueError, match="resolution must be a positive"):
        FrameTransform.from_processor_config(None, 224, resolution=-5)


def test_float_path_used_on_gpus_agrees_with_the_uint8_path():
    frame = torch.from_numpy(_smooth_frame()[None])
    t = FrameTransform(resize_mode="shortest_edge", size=(56, 56), crop=(56, 56))
    diff = (t(frame.float()) - t(frame)).abs()
    assert diff.mean() < 0.002 and diff.max() < 0.02


def test_matches_the_efficientnet_processor_of_align():
    # ALIGN's processor (as converted by transformers) rescales to [-1, 1] with an offset instead of
    # normalising: x / 127.5 - 1; the `include_top` variant divides by std once more.
    from transformers import EfficientNetImageProcessorPil

    frame = _smooth_frame()
    for include_top in (False, True):
        processor = EfficientNetImageProcessorPil(
            size={"height": 70, "width": 70},
            crop_size={"height": 56, "width": 56},
            do_center_crop=True,
            rescale_factor=1 / 127.5,
            rescale_offset=True,
            do_normalize=False,
            include_top=include_top,
            resample=2,
        )
        ref = processor(images=[frame], return_tensors="pt")["pixel_values"]
        t = FrameTransform.from_processor_config(processor.to_dict(), default_size=224)
        got = t(torch.from_numpy(frame[None]))
        assert got.shape == ref.shape == (1, 3, 56, 56)
        assert (got - ref).abs().max() < 0.05, include_top
    assert got.min() < -0.5  # the [-1, 1] range, not [0, 2]


def test_resample_codes(caplog):
    assert FrameTransform.from_processor_config({"resample": 2}, 32).interpolation == "bilinear"
    assert FrameTransform.from_processor_config({"resample": 0}, 32).interpolation == "nearest"
    with caplog.at_level("WARNING", logger="vidret.adapters.preprocess"):
        t = FrameTransform.from_processor_config({"resample": 1}, 32)
    assert t.interpolation == "bicubic" and "resample=1 (LANCZOS)" in caplog.text
    with pytest.raises(ValueError, match="unsupported 'resample' field 'fancy'"):
        FrameTransform.from_processor_config({"resample": "fancy"}, 32)
