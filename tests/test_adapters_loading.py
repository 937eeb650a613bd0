"""Preset discovery and resolution, `load_adapter` overrides and its refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from test_adapters_fixtures import assert_unit_rows, make_clip, tiny_dirs  # noqa: F401
from vidret.adapters import (
    AdapterPreset,
    FramePoolingAdapter,
    NativeVideoAdapter,
    available_presets,
    find_preset,
    get_preset,
    load_adapter,
    resolve_preset,
)
from vidret.adapters.loading import pinned_revision

EXPECTED_PRESETS = {
    "align", "blip2", "chinese-clip", "clip", "clip-rn50", "eva02-clip", "gme", "internvideo2", "jina-clip-v2", "lamra",
    "metaclip", "metaclip-2", "mm-embed", "pe-core", "qwen3-vl-embedding", "siglip", "videoprism", "vlm2vec", "xclip",
}


def test_every_preset_module_is_discovered():
    presets = available_presets()
    assert set(presets) == EXPECTED_PRESETS
    for name, preset in presets.items():
        assert preset.name == name
        assert preset.patterns and preset.checkpoints
        # Remote-code and plug-in families are found by name; transformers-native ones also by model type.
        assert preset.model_types or preset.trust_remote_code or preset.adapter == "plugin"
        assert preset.source == f"vidret.model_adapters.{preset.source.split('.')[2]}.PRESETS"
        for checkpoint in preset.checkpoints:  # a preset's own checkpoints resolve to it
            assert find_preset(checkpoint) is preset, checkpoint


def test_presets_readme_lists_every_preset():
    readme = (Path(__file__).parents[1] / "model_adapters" / "README.md").read_text(encoding="utf-8")
    for name in available_presets():
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize(
    "model, model_type, expected",
    [
        ("openai/clip-vit-base-patch32", "clip", "clip"),
        ("OpenAI/CLIP-ViT-Large-Patch14", "clip", "clip"),  # Hub ids are case-insensitive
        ("google/siglip-so400m-patch14-384", "siglip", "siglip"),
        ("google/siglip2-base-patch16-224", "siglip", "siglip"),
        ("facebook/metaclip-b32-400m", "clip", "metaclip"),
        ("microsoft/xclip-base-patch16-16-frames", "xclip", "xclip"),
        ("microsoft/xclip-base-patch32", None, "xclip"),  # config unknown: trust the name
        ("google/videoprism-lvt-base-f16r288", "videoprism", "videoprism"),
        ("someone/my-finetuned-model", "clip", "clip"),  # by model_type
        ("/data/models/tiny", "xclip", "xclip"),
        ("someone/x", "chinese_clip", "chinese-clip"),
    ],
)
def test_resolve_preset(model, model_type, expected):
    assert resolve_preset(model, model_type).name == expected


def test_name_match_with_a_contradicting_model_type_falls_back():
    # A SigLIP 2 NaFlex checkpoint matches the siglip name pattern but is another architecture.
    with pytest.raises(ValueError) as err:
        resolve_preset("google/siglip2-base-patch16-naflex", "siglip2")
    assert "no adapter preset" in str(err.value) and "siglip2" in str(err.value)
    # ...while a fine-tune named like X-CLIP but built on CLIP gets the CLIP preset.
    assert resolve_preset("microsoft/xclip-lookalike", "clip").name == "clip"


def test_unknown_model_and_preset_errors_list_the_presets():
    with pytest.raises(ValueError) as err:
        resolve_preset("someone/bert", "bert")
    for name in EXPECTED_PRESETS:
        assert name in str(err.value)
    assert "--adapter" in str(err.value)
    with pytest.raises(ValueError, match="unknown adapter preset 'clop'; available presets: align, "):
        get_preset("clop")


def test_explicit_preset_wins_over_model_type():
    assert resolve_preset("someone/x", "clip", preset="siglip").name == "siglip"


def test_pinned_revisions():
    clip = get_preset("clip")
    pinned = pinned_revision(clip, "openai/clip-vit-base-patch32", None)
    assert pinned is not None and len(pinned) == 40
    assert pinned_revision(clip, "openai/clip-vit-base-patch32", "main") == "main"  # the user's wins
    assert pinned_revision(clip, "openai/clip-vit-large-patch14-336", None) is None  # unknown: not invented
    for preset in available_presets().values():
        for model_id, commit in preset.revisions.items():
            assert preset.matches(model_id) and len(commit) == 40 and int(commit, 16) >= 0


def test_preset_rejects_unknown_adapter_kind():
    with pytest.raises(ValueError, match="adapter must be one of"):
        AdapterPreset(name="x", adapter="magic")


def test_load_by_model_type_for_local_folders(tiny_dirs):
    assert isinstance(load_adapter(str(tiny_dirs["siglip"]), device="cpu"), FramePoolingAdapter)
    assert isinstance(load_adapter(str(tiny_dirs["xclip"]), device="cpu"), NativeVideoAdapter)


def test_overrides_apply(tiny_dirs):
    a = load_adapter(
        str(tiny_dirs["clip"]),
        device="cpu",
        frames=3,
        pooling="max",
        text_max_length=8,
        fusion="weighted:0.6",
        batch_size=2,
    )
    assert (a.num_frames, a.pooling, a.text_max_length, a.default_fusion, a.batch_size) == (
        3,
        "max",
        8,
        "weighted:0.6",
        2,
    )
    a.encode_text(["a b c d e f g h i j"])
    assert a.num_truncated_texts == 1
    assert_unit_rows(a.encode_video([make_clip(5)] * 3), 3)


def test_forcing_a_preset_on_a_compatible_checkpoint(tiny_dirs):
    a = load_adapter(str(tiny_dirs["clip"]), device="cpu", preset="metaclip")
    assert a.describe()["preset"] == "metaclip"


@pytest.mark.parametrize(
    "family, kwargs, message",
    [
        ("xclip", {"frames": 8}, "exactly 4 frames"),
        ("videoprism", {"frames": 2}, "--frames 4"),
        ("xclip", {"pooling": "max"}, "Drop --pooling (pooling=)"),
        ("clip", {"text_max_length": 100}, "supports (32 positions): use --text-max-length 32"),
        ("clip", {"frames": 0}, "frames must be >= 1"),
        ("clip", {"fusion": "concat"}, "unknown fusion"),
        ("clip", {"pooling": "median"}, "unknown pooling 'median': use --pooling mean|max"),
        ("clip", {"dtype": "int4"}, "unknown dtype 'int4': use --dtype fp32|bf16|fp16"),
        ("clip", {"batch_size": 0}, "batch_size must be >= 1"),
        ("clip", {"resolution": 0}, "resolution must be a positive number of pixels (--resolution N)"),
        ("clip", {"text_max_length": 1}, "fix --text-max-length"),
        ("clip", {"preset": "nope"}, "unknown adapter preset"),
    ],
)
def test_bad_overrides_are_rejected_with_the_fix(tiny_dirs, family, kwargs, message):
    with pytest.raises(ValueError) as err:
        load_adapter(str(tiny_dirs[family]), device="cpu", **kwargs)
    assert message in str(err.value)


def test_matching_frames_for_native_video_is_accepted(tiny_dirs):
    assert load_adapter(str(tiny_dirs["xclip"]), device="cpu", frames=4).num_frames == 4


def test_missing_model_is_a_clear_oserror(tmp_path):
    with pytest.raises(OSError, match="must be a local folder with a config.json"):
        load_adapter(str(tmp_path / "nowhere"))


def _custom_code_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg["model_type"] = "vidret_custom_clip"
    cfg["auto_map"] = {"AutoConfig": "configuration_custom.CustomConfig", "AutoModel": "modeling_custom.CustomModel"}
    (dst / "config.json").write_text(json.dumps(cfg))
    (dst / "configuration_custom.py").write_text(
        "from transformers import CLIPConfig\n\n\nclass CustomConfig(CLIPConfig):\n    model_type = 'vidret_custom_clip'\n"
    )
    (dst / "modeling_custom.py").write_text(
        "from transformers import CLIPModel\n\nfrom .configuration_custom import CustomConfig\n\n\n"
        "class CustomModel(CLIPModel):\n    config_class = CustomConfig\n"
    )
    return dst


def test_custom_code_needs_trust_remote_code(tiny_dirs, tmp_path):
    path = _custom_code_copy(tiny_dirs["clip"], tmp_path / "custom")
    with pytest.raises(ValueError) as err:
        load_adapter(str(path), preset="clip", device="cpu")
    assert "--trust-remote-code" in str(err.value) and "vidret_custom_clip" in str(err.value)
    # With the user's consent the checkpoint's own classes load and the preset applies.
    a = load_adapter(str(path), preset="clip", device="cpu", trust_remote_code=True)
    assert type(a.model).__name__ == "CustomModel"
    assert_unit_rows(a.encode_video([make_clip(2)]), 1)


def test_unknown_model_type_without_code_is_refused(tiny_dirs, tmp_path):
    dst = shutil.copytree(tiny_dirs["clip"], tmp_path / "future")
    cfg = json.loads((dst / "config.json").read_text())
    cfg["model_type"] = "clip_from_the_future"
    (dst / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="clip_from_the_future"):
        load_adapter(str(dst), device="cpu")


@pytest.mark.parametrize("declared", [["clip"], {"name": "clip"}, 3])
def test_a_config_preset_key_that_is_not_a_name_is_a_clear_error(tiny_dirs, tmp_path, declared):
    """config.json comes with the checkpoint: a `vidret_preset` that is not a string is named, not a TypeError."""
    dst = shutil.copytree(tiny_dirs["clip"], tmp_path / "odd")
    cfg = json.loads((dst / "config.json").read_text())
    cfg["vidret_preset"] = declared
    (dst / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="vidret_preset"):
        load_adapter(str(dst), device="cpu")


@pytest.fixture
def preset_package(tmp_path, monkeypatch):
    """A throwaway presets package; returns a function writing one module into it."""
    from vidret.adapters import presets

    pkg = tmp_path / "fake_presets"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(presets, "PRESET_PACKAGE", "fake_presets")
    presets.available_presets.cache_clear()

    def write(name: str, body: str) -> None:
        (pkg / f"{name}.py").write_text("from vidret.adapters.presets import AdapterPreset\n" + body)

    yield write
    monkeypatch.undo()
    presets.available_presets.cache_clear()
    import sys

    for mod in [m for m in sys.modules if m == "fake_presets" or m.startswith("fake_presets.")]:
        del sys.modules[mod]


def test_preset_discovery_rejects_duplicates(preset_package):
    preset_package("a", "PRESETS = (AdapterPreset(name='dup', adapter='frame_pooling'),)\n")
    preset_package("b", "PRESETS = (AdapterPreset(name='dup', adapter='native_video'),)\n")
    preset_package("_private", "PRESETS = (AdapterPreset(name='hidden', adapter='frame_pooling'),)\n")
    with pytest.raises(ValueError, match="duplicate adapter preset name 'dup' in fake_presets.b"):
        available_presets()


def test_preset_discovery_rejects_non_presets(preset_package):
    preset_package("a", "PRESETS = ({'name': 'x'},)\n")
    with pytest.raises(ValueError, match="fake_presets.a.PRESETS must hold AdapterPreset objects"):
        available_presets()


def test_preset_discovery_skips_private_modules(preset_package):
    preset_package("one", "PRESETS = (AdapterPreset(name='one', adapter='frame_pooling'),)\n")
    preset_package("_helpers", "PRESETS = (AdapterPreset(name='hidden', adapter='frame_pooling'),)\n")
    assert set(available_presets()) == {"one"}


def test_preset_resolution_is_the_default_and_an_argument_overrides_it(preset_package, tiny_dirs):
    preset_package(
        "sized",
        "PRESETS = (AdapterPreset(name='sized', adapter='frame_pooling', model_types=('clip',), resolution=48),)\n",
    )
    a = load_adapter(str(tiny_dirs["clip"]), device="cpu")  # found by model_type
    assert a.describe()["resolution"] == [48, 48] and a.interpolate_pos_encoding
    assert_unit_rows(a.encode_video([make_clip(2)]), 1)
    b = load_adapter(str(tiny_dirs["clip"]), device="cpu", resolution=40)
    assert b.describe()["resolution"] == [40, 40]


def test_forcing_a_preset_of_another_model_type_warns(tiny_dirs, caplog):
    with caplog.at_level("WARNING", logger="vidret.adapters.loading"):
        resolve_preset(str(tiny_dirs["clip"]), "clip", preset="siglip")
    assert "preset siglip is meant for model types siglip" in caplog.text and "model_type clip" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="vidret.adapters.loading"):
        resolve_preset("x", "clip", preset="metaclip")
    assert caplog.text == ""
