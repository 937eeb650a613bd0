"""BLIP-2 retrieval (`Blip2ForImageTextRetrieval`): ITC embeddings equal the model's own ITC branch."""

from __future__ import annotations

import pytest
import torch

from test_adapters_fixtures import assert_unit_rows, make_clip
from vidret.adapters import l2_normalize, load_adapter
from vidret.adapters.blip2 import Blip2RetrievalAdapter
from vidret.testing.tiny import build_tiny_blip2


@pytest.fixture(scope="module")
def blip2(tmp_path_factory):
    path = build_tiny_blip2(tmp_path_factory.mktemp("blip2") / "blip2")
    return path, load_adapter(path, device="cpu")


def test_tiny_folder_loads_with_the_blip2_preset(blip2):
    _, a = blip2
    assert isinstance(a, Blip2RetrievalAdapter) and a.preset == "blip2"
    assert type(a.model).__name__ == "Blip2ForImageTextRetrieval"
    assert a.text_max_length == 32 and a.default_fusion == "avg" and not a.native_fusion
    assert a.describe()["query_token_pooling"] == "mean" and a.describe()["random_weights"]


def test_embeddings_match_the_models_itc_forward(blip2):
    """Frame embedding = mean over the query tokens of the model's normalised ITC image embeddings;
    text embedding = its ITC text embedding (`use_image_text_matching_head=False`)."""
    _, a = blip2
    clip = make_clip(1, seed=4)
    texts = ["a red ball", "the gymnast turns twice"]
    tokens = a.tokenizer(texts, padding="longest", return_tensors="pt")
    pixels = a.pixels(clip).expand(2, -1, -1, -1)
    with torch.inference_mode():
        out = a.model(pixel_values=pixels, input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"],
                      use_image_text_matching_head=False)
    torch.testing.assert_close(a.encode_text(texts), out.text_embeds, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.encode_video([clip])[0], l2_normalize(out.image_embeds[0].mean(dim=0)), atol=1e-5, rtol=0)
    # The model's ITC logit is the best query token: ours ranks with the query-token mean instead.
    assert out.image_embeds.shape[1] == a.model.config.num_query_tokens


def test_frames_are_pooled_and_overrides_apply(blip2):
    path, a = blip2
    clips = [make_clip(t, seed=t) for t in (1, 3)]
    assert_unit_rows(a.encode_video(clips), 2)
    maxed = load_adapter(path, device="cpu", pooling="max")
    assert not torch.allclose(maxed.encode_video(clips[1:]), a.encode_video(clips[1:]))
    bigger = load_adapter(path, device="cpu", resolution=48)  # interpolated position embeddings
    assert bigger.describe()["resolution"] == [48, 48]
    assert_unit_rows(bigger.encode_video(clips), 2)
    assert_unit_rows(a.encode_composed(clips, ["a", "b"]), 2)


def test_captioning_blip2_checkpoints_are_not_guessed(blip2, tmp_path):
    import json
    import shutil

    path, _ = blip2
    plain = shutil.copytree(path, tmp_path / "plain")
    cfg = json.loads((plain / "config.json").read_text())
    del cfg["vidret_preset"]
    (plain / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="Presets for blip-2 checkpoints: blip2"):
        load_adapter(plain, device="cpu")


def test_trust_remote_code_keeps_the_presets_model_class(blip2):
    """--trust-remote-code on a checkpoint without custom code (no `auto_map`) must not swap the
    preset's class for `AutoModel` (which gives a `Blip2Model` without the retrieval heads)."""
    path, a = blip2
    trusted = load_adapter(path, device="cpu", trust_remote_code=True)
    assert type(trusted.model).__name__ == "Blip2ForImageTextRetrieval"
    torch.testing.assert_close(trusted.encode_text(["a red ball"]), a.encode_text(["a red ball"]))
