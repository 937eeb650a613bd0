"""MLLM embedders (Qwen2-VL / Qwen2.5-VL / Qwen3-VL backbones): prompts, pooling, native video
input checked against transformers' own Qwen processors, and native composed queries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_adapters_fixtures import assert_unit_rows, make_clip
from vidret.adapters import MllmEmbedderAdapter, get_preset, l2_normalize, load_adapter
from vidret.adapters.qwen_video import QwenVideoInput, smart_resize
from vidret.testing.tiny import build_tiny_mllm_embedder

MLLM_PRESETS = ("gme", "vlm2vec", "lamra", "qwen3-vl-embedding")


@pytest.fixture(scope="module")
def tiny_mllm(tmp_path_factory):
    """{preset: path}: a tiny Qwen2-VL for the Qwen2-VL families, a tiny Qwen3-VL for Qwen3-VL-Embedding."""
    root = tmp_path_factory.mktemp("mllm")
    return {p: build_tiny_mllm_embedder(root / p, preset=p) for p in MLLM_PRESETS}


#: Frames of at most 56 x 56 pixels (2 x 2 patches) keep the tiny models fast; the presets' own
#: pixel budgets are checked where they matter.
SMALL = 56


@pytest.fixture(scope="module")
def adapters(tiny_mllm):
    return {p: load_adapter(path, device="cpu", resolution=SMALL) for p, path in tiny_mllm.items()}


# ---- the presets: each family's prompts and pooling, as its reference code builds them -----------
def test_each_folder_loads_with_its_own_preset(adapters):
    for name, adapter in adapters.items():
        assert isinstance(adapter, MllmEmbedderAdapter)
        assert adapter.preset == name and adapter.native_fusion and adapter.default_fusion == "native"
        assert adapter.pooling == get_preset(name).pooling and adapter.prompts == get_preset(name).prompts
        assert adapter.num_frames == get_preset(name).frames
        assert_unit_rows(adapter.encode_composed([make_clip(2)], ["a"]), 1)
    assert adapters["qwen3-vl-embedding"].video_layout == "qwen3" and adapters["gme"].video_layout == "qwen2"


def test_gme_prompts_and_eos_pooling():
    p = get_preset("gme")
    assert p.pooling == "eos" and p.options["eos_token"] == "<|endoftext|>" and p.frames == 8
    assert p.prompts["text"] == (
        "<|im_start|>system\nFind a video that matches the given text.<|im_end|>\n"
        "<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n<|endoftext|>"
    )
    # Candidates (videos) carry GME's default instruction; images' tokens become video tokens.
    assert p.prompts["video"] == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|>{video}<|vision_end|><|im_end|>\n<|im_start|>assistant\n<|endoftext|>"
    )
    assert p.prompts["composed"].endswith("<|vision_start|>{video}<|vision_end|>{text}<|im_end|>\n<|im_start|>assistant\n<|endoftext|>")


def test_vlm2vec_prompts_are_mmeb_v2_without_chat_template():
    p = get_preset("vlm2vec")
    assert p.pooling == "last" and p.frames == 8
    assert p.prompts == {
        "text": "Find a video that contains the following visual content: {text}",
        "video": "{video} Understand the content of the provided video.",
        "composed": "{video} Find the clip that corresponds to the given sentence and video segment: {text}",
    }


def test_lamra_prompts_end_before_the_emb_token():
    p = get_preset("lamra")
    assert p.pooling == "last" and p.frames == 16
    for kind in ("text", "video", "composed"):
        # The embedding is the hidden state right before <emb>: the last token of the assistant header.
        assert p.prompts[kind].startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n")
        assert p.prompts[kind].endswith(" in one word: <|im_end|>\n<|im_start|>assistant\n")
    assert "Find an everyday video match with caption. {text}\nSummarize above sentence" in p.prompts["text"]
    assert "<|vision_start|>{video}<|vision_end|>\nSummarize above video in one word: " in p.prompts["video"]
    assert "Summarize above video and sentence in one word: " in p.prompts["composed"]
    assert set(p.model_types) == {"qwen2_vl", "qwen2_5_vl"}


def test_qwen3_vl_embedding_prompts_and_budget():
    p = get_preset("qwen3-vl-embedding")
    assert p.pooling == "last" and p.frames == 64 and p.options["video_layout"] == "qwen3"
    assert p.prompts["video"] == (
        "<|im_start|>system\nRepresent the user's input.<|im_end|>\n<|im_start|>user\n{video}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert "system\nFind a video that contains the following visual content.<|im_end|>" in p.prompts["text"]
    assert "user\n{video}{text}<|im_end|>" in p.prompts["composed"]
    assert p.options["total_pixels"] == 10 * 768 * 32 * 32 and p.options["nominal_fps"] == 1.0


def test_a_plain_qwen2_vl_is_not_guessed_to_be_an_embedder(tiny_mllm, tmp_path):
    import json
    import shutil

    plain = shutil.copytree(tiny_mllm["gme"], tmp_path / "plain")
    cfg = json.loads((plain / "config.json").read_text())
    del cfg["vidret_preset"]
    (plain / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError) as err:
        load_adapter(plain, device="cpu")
    assert "Presets for qwen2_vl checkpoints: gme, lamra, vlm2vec" in str(err.value)
    assert load_adapter(plain, device="cpu", preset="vlm2vec").preset == "vlm2vec"  # --adapter decides


# ---- the native video input, checked against transformers' own code ------------------------------
@pytest.mark.parametrize("size", [(48, 64), (360, 640), (1080, 1920), (33, 700), (20, 20)])
def test_smart_resize_matches_transformers(size):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as reference

    for bounds in [(4 * 28 * 28, 360 * 420), (128 * 28 * 28, 768 * 28 * 28)]:
        assert smart_resize(*size, 28, *bounds) == reference(*size, factor=28, min_pixels=bounds[0], max_pixels=bounds[1])


def test_video_patches_match_the_transformers_qwen2_vl_processor():
    """A still clip (the same frame twice) must patch exactly like transformers' Qwen2-VL image
    processor patches that image (it repeats an image over the temporal patch)."""
    from transformers import Qwen2VLImageProcessorPil

    frame = make_clip(1, seed=3, height=56, width=84)[0]  # already a multiple of 28: no resize
    video = QwenVideoInput(min_pixels=56 * 56, max_pixels=56 * 84)
    patches, grid = video(torch.from_numpy(np.stack([frame, frame])))
    ref = Qwen2VLImageProcessorPil(do_resize=False)(images=[frame], return_tensors="pt")
    assert grid == tuple(ref["image_grid_thw"][0].tolist()) == (1, 4, 6)
    torch.testing.assert_close(patches, ref["pixel_values"].float(), atol=1e-5, rtol=1e-5)


def test_odd_frame_counts_repeat_the_last_frame():
    clip = make_clip(3, seed=1, height=56, width=56)
    video = QwenVideoInput(min_pixels=56 * 56, max_pixels=56 * 56)
    padded, grid = video(torch.from_numpy(clip))
    assert grid == (2, 4, 4)
    explicit, _ = video(torch.from_numpy(np.concatenate([clip, clip[-1:]])))
    torch.testing.assert_close(padded, explicit)


def test_frames_are_resized_within_the_pixel_budget():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as reference

    low = 4 * 28 * 28
    per_frame = QwenVideoInput(min_pixels=low, max_pixels=360 * 420)
    assert per_frame.frame_size(360, 640, 64) == reference(360, 640, factor=28, min_pixels=low, max_pixels=360 * 420)
    # A clip budget (qwen-vl-utils' total_pixels) shares the pixels among the frames...
    clip = QwenVideoInput(min_pixels=low, max_pixels=360 * 420, total_pixels=100 * 28 * 28)
    share = 100 * 28 * 28 * 2 // 8
    assert clip.frame_size(360, 640, 8) == reference(360, 640, factor=28, min_pixels=low, max_pixels=share)
    # ...but never below 1.05 x min_pixels.
    assert clip.frame_size(360, 640, 1000) == reference(360, 640, factor=28, min_pixels=low, max_pixels=int(low * 1.05))
    with pytest.raises(ValueError, match="--resolution"):
        QwenVideoInput.from_config(None, None, {}, resolution=10)


def test_qwen3_timestamps_match_the_transformers_processor(adapters):
    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor

    a = adapters["qwen3-vl-embedding"]
    tokens = a.video_tokens((3, 4, 4))
    stamps = Qwen3VLProcessor._calculate_timestamps(None, list(range(6)), a.nominal_fps, 2)
    expected = "".join(f"<{t:.1f} seconds><|vision_start|>{'<|video_pad|>' * 4}<|vision_end|>" for t in stamps)
    assert tokens == expected


# ---- prompts, pooling and the forward pass ---------------------------------------------------------
def test_prompt_assembly_and_video_token_count(adapters):
    a = adapters["gme"]
    assert a.prompt("text", text="a diver") == get_preset("gme").prompts["text"].replace("{text}", "a diver")
    clip = make_clip(4, seed=0, height=48, width=64)
    grid = a._grid(clip)
    h, w = a.video_input.frame_size(48, 64, 4)
    assert grid == (2, h // 14, w // 14) and h * w <= SMALL * SMALL
    prompt = a.prompt("video", grid=grid)
    assert prompt.count("<|video_pad|>") == 2 * (h // 14) * (w // 14) // 4
    # A caption holding a placeholder stays literal text.
    assert "{video}" in a.prompt("text", text="a {video} tag")


def test_eos_pooling_reads_the_endoftext_position(adapters):
    a = adapters["gme"]
    ids = a.tokenizer([a.prompt("text", text="x"), a.prompt("text", text="a longer text")], padding="longest", return_tensors="pt")
    pos = a.pool_positions(ids["input_ids"], ids["attention_mask"])
    eos = a.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert (ids["input_ids"][torch.arange(2), pos] == eos).all()
    assert pos[0] < pos[1]  # the short prompt's <|endoftext|> is not the padding after it


@pytest.mark.parametrize("preset", ["gme", "qwen3-vl-embedding"])
def test_embeddings_are_unit_batch_invariant_and_input_dependent(adapters, tiny_mllm, preset):
    a = adapters[preset]
    texts = ["a red ball", "the gymnast turns twice and lands on the floor", ""]
    clips = [make_clip(4, seed=s, height=48, width=64 + 8 * s) for s in range(3)]  # different sizes in one batch
    t, v = a.encode_text(texts), a.encode_video(clips)
    assert_unit_rows(t, 3), assert_unit_rows(v, 3)
    assert t.shape[1] == v.shape[1] == a.embedding_dim
    one_by_one = load_adapter(tiny_mllm[preset], device="cpu", batch_size=1, resolution=SMALL)
    torch.testing.assert_close(one_by_one.encode_text(texts), t, atol=1e-4, rtol=0)  # padding does not leak
    torch.testing.assert_close(one_by_one.encode_video(clips), v, atol=1e-4, rtol=0)
    assert not torch.allclose(t[0], t[1]) and not torch.allclose(v[0], v[1])
    assert a.encode_text([]).shape == (0, a.embedding_dim) and a.encode_video([]).shape == (0, a.embedding_dim)


def test_long_texts_are_cut_inside_the_template_and_counted(tiny_mllm):
    a = load_adapter(tiny_mllm["gme"], device="cpu", text_max_length=8, resolution=SMALL)
    assert a.truncated(["short", "a much longer caption than eight tokens"]) == [False, True]
    prompt = a.prompt("text", text="a much longer caption than eight tokens")
    assert prompt.endswith("<|im_start|>assistant\n<|endoftext|>") and "a much l" in prompt and "caption" not in prompt
    a.encode_text(["a much longer caption than eight tokens"])
    assert a.num_truncated_texts == 1


# ---- native composed queries ------------------------------------------------------------------------
def test_native_composition_is_one_forward_pass_over_video_and_text(adapters, monkeypatch):
    a = adapters["gme"]
    clips = [make_clip(4, seed=s) for s in range(3)]
    texts = ["turn twice", "jump higher", "land on the beam"]
    calls = []
    forward = a.model.forward
    monkeypatch.setattr(a.model, "forward", lambda *args, **kw: calls.append(kw) or forward(*args, **kw))
    native = a.encode_composed(clips, texts, fusion="native")
    assert len(calls) == 1 and calls[0]["pixel_values_videos"] is not None  # one pass, video + text inside
    assert_unit_rows(native, 3)
    # The same as embedding the composed prompt by hand.
    by_hand = l2_normalize(a._run([a.prompt("composed", text=t, grid=a._grid(c)) for c, t in zip(clips, texts)], clips))
    torch.testing.assert_close(native, by_hand.float(), atol=1e-5, rtol=0)
    monkeypatch.undo()
    # ...and not a late fusion of the separate embeddings.
    assert not torch.allclose(native, a.encode_composed(clips, texts, fusion="avg"), atol=1e-3)
    assert a.encode_composed(clips, texts).equal(native)  # native is the preset's default


@pytest.mark.parametrize("preset", ["gme", "qwen3-vl-embedding"])
def test_native_composition_depends_on_both_inputs(adapters, preset):
    a = adapters[preset]
    clip, other_clip = make_clip(4, seed=1), make_clip(4, seed=2)
    base = a.encode_composed([clip], ["turn twice"], fusion="native")
    assert not torch.allclose(base, a.encode_composed([clip], ["jump higher"], fusion="native"), atol=1e-4)
    assert not torch.allclose(base, a.encode_composed([other_clip], ["turn twice"], fusion="native"), atol=1e-4)
    # Neither the text alone nor the video alone.
    assert not torch.allclose(base, a.encode_text(["turn twice"]), atol=1e-3)
    assert not torch.allclose(base, a.encode_video([clip]), atol=1e-3)


def test_late_fusion_adapters_refuse_native(tmp_path):
    from vidret.testing.tiny import build_tiny_clip

    clip_dir = build_tiny_clip(tmp_path / "clip")
    a = load_adapter(clip_dir, device="cpu")
    assert not a.native_fusion
    with pytest.raises(ValueError, match="--fusion native"):
        a.encode_composed([make_clip(2)], ["x"], fusion="native")
    with pytest.raises(ValueError, match="--fusion native"):
        load_adapter(clip_dir, device="cpu", fusion="native")


def test_qwen2_5_vl_backbone_gets_its_temporal_spacing(tmp_path, monkeypatch):
    path = build_tiny_mllm_embedder(tmp_path / "lamra25", preset="lamra", backbone="qwen2_5_vl")
    a = load_adapter(path, device="cpu", resolution=SMALL)
    assert type(a.model).__name__ == "Qwen2_5_VLModel"
    seen = []
    forward = a.model.forward
    monkeypatch.setattr(a.model, "forward", lambda *args, **kw: seen.append(kw) or forward(*args, **kw))
    assert_unit_rows(a.encode_composed([make_clip(4)], ["turn"], fusion="native"), 1)
    torch.testing.assert_close(seen[0]["second_per_grid_ts"], torch.tensor([2 / a.nominal_fps]))


def test_bad_prompts_and_pooling_are_refused(adapters):
    a = adapters["gme"]
    kwargs = dict(model_id="x", preset="broken", device="cpu")
    with pytest.raises(ValueError, match="'composed' prompt must hold {text} exactly once"):
        MllmEmbedderAdapter(a.model, a.tokenizer, a.video_input, prompts={**a.prompts, "composed": "{video}"}, **kwargs)
    with pytest.raises(ValueError, match="unknown sequence pooling 'mean'"):
        MllmEmbedderAdapter(a.model, a.tokenizer, a.video_input, prompts=a.prompts, pooling="mean", **kwargs)
    no_eos = MllmEmbedderAdapter(
        a.model, a.tokenizer, a.video_input, prompts={**a.prompts, "text": "{text}"}, pooling="eos", eos_token="<|endoftext|>", **kwargs
    )
    with pytest.raises(ValueError, match="has no '<\\|endoftext\\|>' token"):
        no_eos.encode_text(["a"])
    with pytest.raises(ValueError, match="pooling= .*does not apply|does not apply"):
        load_adapter(a.model_id, device="cpu", pooling="max")
