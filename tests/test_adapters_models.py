"""Tiny random-weight CLIP, SigLIP, X-CLIP, VideoPrism and BLIP-2 through `load_adapter`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_adapters_fixtures import LONG_CAPTION, assert_unit_rows, make_clip, tiny_adapters, tiny_dirs  # noqa: F401
from vidret.adapters import FramePoolingAdapter, NativeVideoAdapter, l2_normalize, load_adapter
from vidret.adapters.native_video import resample_frames
from vidret.testing.tiny import build_tiny_clip

FAMILIES = ("clip", "siglip", "xclip", "videoprism", "blip2")


@pytest.mark.parametrize("family", FAMILIES)
def test_outputs_are_unit_float32_cpu(tiny_adapters, family):
    a = tiny_adapters[family]
    clips = [make_clip(t, seed=t) for t in (1, 3, 8)]  # different T in one batch
    assert_unit_rows(a.encode_video(clips), 3)
    text = a.encode_text(["a diver jumps", "", "the gymnast turns"])
    assert_unit_rows(text, 3)
    assert_unit_rows(a.encode_composed(clips[:2], ["a", "b"], "weighted:0.3"), 2)
    assert a.encode_video(clips).shape[1] == text.shape[1] == a.embedding_dim


@pytest.mark.parametrize("family", FAMILIES)
def test_empty_inputs_give_empty_matrices(tiny_adapters, family):
    a = tiny_adapters[family]
    assert a.encode_text([]).shape == (0, a.embedding_dim)
    assert a.encode_video([]).shape == (0, a.embedding_dim)


@pytest.mark.parametrize("family", FAMILIES)
def test_deterministic_and_batch_invariant(tiny_dirs, tiny_adapters, family):
    a = tiny_adapters[family]
    clips = [make_clip(4, seed=s) for s in range(3)]
    texts = ["a red ball", "two twists", "the crowd at night"]
    v1, t1 = a.encode_video(clips), a.encode_text(texts)
    b = load_adapter(str(tiny_dirs[family]), device="cpu", batch_size=1)
    torch.testing.assert_close(b.encode_video(clips), v1, atol=1e-5, rtol=0)
    torch.testing.assert_close(b.encode_text(texts), t1, atol=1e-5, rtol=0)
    assert torch.equal(a.encode_video(clips), v1)
    # Distinct inputs give distinct embeddings (the model is not collapsed).
    assert not torch.allclose(v1[0], v1[1])
    assert not torch.allclose(t1[0], t1[1])


def test_rebuilding_a_tiny_model_gives_identical_weights(tmp_path, tiny_adapters):
    rebuilt = load_adapter(str(build_tiny_clip(tmp_path / "again")), device="cpu")
    clips = [make_clip(3)]
    assert torch.equal(rebuilt.encode_video(clips), tiny_adapters["clip"].encode_video(clips))
    assert torch.equal(rebuilt.encode_text(["x y"]), tiny_adapters["clip"].encode_text(["x y"]))


@pytest.mark.parametrize("family", FAMILIES)
def test_long_captions_are_truncated_and_counted(tiny_dirs, family):
    a = load_adapter(str(tiny_dirs[family]), device="cpu")
    assert a.num_truncated_texts == 0
    out = a.encode_text([LONG_CAPTION, "short", LONG_CAPTION + " more"])
    assert_unit_rows(out, 3)
    assert a.num_truncated_texts == 2
    a.encode_text([LONG_CAPTION])
    assert a.num_truncated_texts == 3  # running count
    # Truncation keeps the head: two captions sharing the first max-length tokens collide.
    torch.testing.assert_close(out[0], out[2])


@pytest.mark.parametrize("family", FAMILIES)
def test_truncated_query_answers_per_text_in_one_tokenizer_call(tiny_dirs, family):
    a = load_adapter(str(tiny_dirs[family]), device="cpu")
    calls = []
    tokenizer = a.tokenizer

    def spy(*args, **kwargs):
        calls.append(args)
        return tokenizer(*args, **kwargs)

    a.tokenizer = spy
    assert a.truncated([LONG_CAPTION, "short", LONG_CAPTION + " more"]) == [True, False, True]
    assert len(calls) == 1 and a.num_truncated_texts == 0  # one batched call; nothing counted
    assert a.truncated([]) == [] and len(calls) == 1
    with pytest.raises(ValueError, match="text 1: expected a string"):
        a.truncated(["ok", 3])


def test_frame_pooling_matches_manual_computation(tiny_adapters):
    a = tiny_adapters["clip"]
    assert isinstance(a, FramePoolingAdapter)
    clip = make_clip(5, seed=3)
    pixels = a.frame_transform(torch.from_numpy(clip))
    with torch.inference_mode():
        frames = a.model.get_image_features(pixel_values=pixels).pooler_output
    expected = l2_normalize(l2_normalize(frames).mean(0))
    torch.testing.assert_close(a.encode_video([clip])[0], expected, atol=1e-5, rtol=0)


def test_max_pooling_differs_from_mean(tiny_dirs, tiny_adapters):
    a_max = load_adapter(str(tiny_dirs["clip"]), device="cpu", pooling="max")
    clip = make_clip(6, seed=1)
    v_max, v_mean = a_max.encode_video([clip]), tiny_adapters["clip"].encode_video([clip])
    assert_unit_rows(v_max, 1)
    assert not torch.allclose(v_max, v_mean)
    assert a_max.describe()["pooling"] == "max"
    # One frame: both poolings are the frame embedding itself.
    one = make_clip(1, seed=2)
    torch.testing.assert_close(a_max.encode_video([one]), tiny_adapters["clip"].encode_video([one]))


def test_frame_order_matters_only_for_native_video(tiny_adapters):
    clip = make_clip(4, seed=5)
    reversed_clip = clip[::-1].copy()
    clip_ad, xclip_ad = tiny_adapters["clip"], tiny_adapters["xclip"]
    torch.testing.assert_close(clip_ad.encode_video([clip]), clip_ad.encode_video([reversed_clip]), atol=1e-5, rtol=0)
    assert not torch.allclose(xclip_ad.encode_video([clip]), xclip_ad.encode_video([reversed_clip]), atol=1e-4)


def test_xclip_text_is_the_unconditioned_projection(tiny_adapters):
    a = tiny_adapters["xclip"]
    assert isinstance(a, NativeVideoAdapter) and a.num_frames == 4
    enc = a.tokenizer(["a diver jumps"], return_tensors="pt")
    with torch.inference_mode():
        ref = a.model.get_text_features(**enc).pooler_output
    torch.testing.assert_close(a.encode_text(["a diver jumps"]), l2_normalize(ref), atol=1e-5, rtol=0)


def test_native_video_resamples_to_the_checkpoint_frames(tiny_adapters):
    a = tiny_adapters["videoprism"]
    clip = make_clip(8, seed=9)
    torch.testing.assert_close(
        a.encode_video([clip]), a.encode_video([resample_frames(clip, a.num_frames)]), atol=1e-6, rtol=0
    )
    picked = resample_frames(np.arange(10)[:, None, None, None], 4)
    assert picked[:, 0, 0, 0].tolist() == [0, 3, 6, 9]
    assert resample_frames(np.arange(2)[:, None, None, None], 4)[:, 0, 0, 0].tolist() == [0, 0, 1, 1]


def test_siglip_pads_to_max_length_and_uses_ids_only(tiny_adapters):
    a = tiny_adapters["siglip"]
    enc = a.tokenize(["a", "a red ball"])
    assert set(enc) == {"input_ids"}
    assert enc["input_ids"].shape == (2, a.text_max_length)
    # The same text alone or batched with a longer one embeds the same (no "longest" padding drift).
    torch.testing.assert_close(a.encode_text(["a"])[0], a.encode_text(["a", "a red ball"])[0])


def test_describe_records_settings_and_random_weights(tiny_dirs, tiny_adapters):
    d = tiny_adapters["clip"].describe()
    assert d["random_weights"] is True
    assert d["model"] == str(tiny_dirs["clip"]) and d["preset"] == "clip" and d["adapter"] == "FramePoolingAdapter"
    assert (d["frames"], d["pooling"], d["text_max_length"], d["dtype"], d["resolution"]) == (8, "mean", 32, "float32", [32, 32])
    x = tiny_adapters["xclip"].describe()
    assert (x["adapter"], x["frames"], x["pooling"], x["video_input"]) == ("NativeVideoAdapter", 4, "model", "pixel_values")
    assert tiny_adapters["videoprism"].describe()["preprocessing"]["normalize"] is False
    # decoder hint: exact-resize models ask for their input size, cropping ones decode natively.
    assert tiny_adapters["siglip"].frame_size == (32, 32)
    assert tiny_adapters["clip"].frame_size is None


def test_bf16_compute_still_returns_float32(tiny_dirs):
    a = load_adapter(str(tiny_dirs["clip"]), device="cpu", dtype="bf16")
    assert a.dtype == torch.bfloat16 and a.describe()["dtype"] == "bfloat16"
    assert_unit_rows(a.encode_video([make_clip(2)]), 1)
    assert_unit_rows(a.encode_text(["x"]), 1)


def test_resolution_override_interpolates_position_embeddings(tiny_dirs):
    a = load_adapter(str(tiny_dirs["clip"]), device="cpu", resolution=48)
    assert a.interpolate_pos_encoding and a.describe()["resolution"] == [48, 48]
    assert_unit_rows(a.encode_video([make_clip(2)]), 1)
    with pytest.raises(ValueError, match=r"Drop --resolution \(resolution=\)"):
        load_adapter(str(tiny_dirs["xclip"]), device="cpu", resolution=48)


def test_bad_inputs_name_the_item(tiny_adapters):
    a = tiny_adapters["clip"]
    with pytest.raises(ValueError, match="text 1: expected a string"):
        a.encode_text(["ok", 3])
    with pytest.raises(ValueError, match="clip 1"):
        a.encode_video([make_clip(2), make_clip(2).astype(np.float32)])
    with pytest.raises(ValueError, match="clip 0"):
        tiny_adapters["xclip"].encode_video([np.zeros((2, 8, 8), dtype=np.uint8)])


def test_adapter_classes_refuse_the_wrong_kind_of_model(tiny_adapters):
    from vidret.adapters.preprocess import FrameTransform

    clip_model, xclip_model = tiny_adapters["clip"].model, tiny_adapters["xclip"].model
    tok, t = tiny_adapters["clip"].tokenizer, FrameTransform()
    with pytest.raises(ValueError, match="not an image-text dual encoder"):
        FramePoolingAdapter(xclip_model.text_model, tok, t, model_id="x")
    with pytest.raises(ValueError, match="use the frame-pooling adapter"):
        NativeVideoAdapter(clip_model, tok, t, model_id="x")
    with pytest.raises(ValueError, match="unknown video_input"):
        NativeVideoAdapter(xclip_model, tok, t, model_id="x", video_input="frames")
    with pytest.raises(ValueError, match="unknown padding 'left'"):
        FramePoolingAdapter(clip_model, tok, t, model_id="x", padding="left", device="cpu")


def test_device_and_dtype_resolution():
    from vidret.adapters.transformers_base import resolve_device, resolve_dtype

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device().type == expected
    assert resolve_device("cpu").type == "cpu"
    assert resolve_dtype(None, torch.device("cpu")) == torch.float32
    assert resolve_dtype(None, torch.device("cuda")) == torch.bfloat16
    assert resolve_dtype("torch.float16", torch.device("cpu")) == torch.float16
    assert resolve_dtype(torch.bfloat16, torch.device("cpu")) == torch.bfloat16


def test_clips_may_be_non_contiguous_views(tiny_adapters):
    # A reversed or strided view of a decoded array (negative strides) is a valid clip.
    clip = make_clip(4, seed=6)
    for family in ("clip", "xclip"):
        a = tiny_adapters[family]
        torch.testing.assert_close(a.encode_video([clip[::-1]]), a.encode_video([clip[::-1].copy()]))
        torch.testing.assert_close(a.encode_video([clip[:, ::2]]), a.encode_video([clip[:, ::2].copy()]))


def test_transformers_adapter_needs_an_embed_clips(tiny_adapters):
    from vidret.adapters import TransformersAdapter
    from vidret.adapters.preprocess import FrameTransform

    with pytest.raises(TypeError, match="embed_clips"):
        TransformersAdapter(tiny_adapters["clip"].model, tiny_adapters["clip"].tokenizer, FrameTransform(), model_id="x")


def test_unwrap_features_handles_every_output_form():
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    from vidret.adapters.transformers_base import unwrap_features

    hidden, pooled = torch.zeros(2, 5, 4), torch.ones(2, 4)
    assert unwrap_features(BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled)) is pooled
    assert unwrap_features((hidden, pooled)) is pooled  # return_dict=False
    assert unwrap_features((pooled,)) is pooled
    assert unwrap_features(pooled) is pooled  # transformers 4.x returned the tensor
