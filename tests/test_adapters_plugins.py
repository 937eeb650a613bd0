"""Adapters from other packages (entry point group `vidret.adapters`), preset factories with
missing requirements, and remote-code families (refused without --trust-remote-code)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_helpers import install_dist_info_plugin, write_standin_remote_model
from test_adapters_fixtures import assert_unit_rows, make_clip
from vidret.adapters import available_presets, get_preset, load_adapter
from vidret.adapters.plugins import PLUGIN_ERRORS, missing_requirements

README = Path(__file__).parents[1] / "model_adapters" / "README.md"


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    from runner_helpers import build_sample_repos

    return build_sample_repos(tmp_path_factory.mktemp("plugin_data"))


@pytest.fixture
def fresh_presets(monkeypatch):
    """Forget the discovered presets before and after (entry points are read when discovering)."""
    available_presets.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    available_presets.cache_clear()
    for name in [m for m in sys.modules if m.startswith(("vidret_toy_plugin", "vidret_languagebind"))]:
        del sys.modules[name]


# ---- an entry-point plug-in registered by a test-only distribution -------------------------------
def test_entry_point_plugin_is_found_and_used_by_evaluate(fresh_presets, repos, tmp_path, capsys):
    from vidret.cli.main import main

    fresh_presets.syspath_prepend(str(install_dist_info_plugin(tmp_path / "site")))
    preset = get_preset("toy-plugin")
    assert preset.source == "entry point toy (vidret-toy-plugin)" and preset.adapter == "plugin"
    adapter = load_adapter("toy/anything")  # found by its pattern; no config.json is read
    assert type(adapter).__name__ == "ToyAdapter" and adapter.preset == "toy-plugin" and adapter.num_frames == 2
    assert_unit_rows(adapter.encode_video([make_clip(2)]), 1)

    out = tmp_path / "r.json"
    assert main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", "toy/anything",
                 "--num-workers", "0", "--no-cache", "--output", str(out)]) == 0
    capsys.readouterr()
    record = json.loads(out.read_text())
    assert record["model"]["adapter"] == "toy-plugin" and record["model"]["adapter_class"] == "ToyAdapter"
    assert record["settings"]["adapter"]["kind"] == "toy" and record["settings"]["frames"] == 2
    assert record["tasks"]["cvr"]["num_failed"] == 0


def test_a_broken_plugin_is_skipped_and_reported(fresh_presets, tmp_path, caplog):
    fresh_presets.syspath_prepend(str(install_dist_info_plugin(tmp_path / "site", broken=True)))
    with caplog.at_level("WARNING", logger="vidret.adapters.plugins"):
        presets = available_presets()
    assert "toy-plugin" in presets and "clip" in presets  # the others still load
    assert any("entry point gone (vidret-toy-plugin)" in e and "ModuleNotFoundError" in e for e in PLUGIN_ERRORS)
    assert "vidret_module_that_does_not_exist" in caplog.text


def test_plugin_presets_must_name_their_factory():
    from vidret.adapters import AdapterPreset

    with pytest.raises(ValueError, match="a 'plugin' preset names its factory"):
        AdapterPreset(name="x", adapter="plugin")
    with pytest.raises(ValueError, match="only a plugin preset may"):
        AdapterPreset(name="x", adapter="frame_pooling", factory="a:b")
    with pytest.raises(ValueError, match="factory must look like 'module:callable'"):
        AdapterPreset(name="x", adapter="plugin", factory="nocolon")


# ---- the README's worked example, built and pip-installed ---------------------------------------
def _readme_package(dst: Path) -> Path:
    """Write the files of the README's worked example (the blocks after **`vidret-languagebind/...`**)."""
    text = README.read_text(encoding="utf-8")
    files = re.findall(r"\*\*`(vidret-languagebind/[^`]+)`\*\*\n\n```[a-z]*\n(.*?)```", text, flags=re.S)
    assert {name for name, _ in files} == {"vidret-languagebind/pyproject.toml", "vidret-languagebind/vidret_languagebind.py"}
    for name, body in files:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        (dst / name).write_text(body, encoding="utf-8")
    return dst / "vidret-languagebind"


@pytest.mark.slow
def test_readme_worked_example_installs_and_names_its_missing_package(fresh_presets, tmp_path):
    import importlib.util

    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building the example package needs setuptools in this environment (pip install setuptools)")
    package = _readme_package(tmp_path)
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(package)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    fresh_presets.syspath_prepend(str(target))
    preset = get_preset("languagebind-video")
    assert preset.source == "entry point languagebind (vidret-languagebind)"
    if not missing_requirements(preset):
        pytest.skip("languagebind imports here: the message for a missing package cannot be checked")
    with pytest.raises(ValueError) as err:
        load_adapter("LanguageBind/LanguageBind_Video_FT")
    assert "`pip install languagebind`" in str(err.value) and "languagebind-video" in str(err.value)


@pytest.mark.slow
def test_languagebind_plugin_runs_where_its_package_loads(fresh_presets, tmp_path):
    """The README's adapter on a tiny random LanguageBindVideo (runs only where languagebind imports)."""
    try:
        from languagebind import LanguageBindVideo, LanguageBindVideoConfig
    except Exception as err:
        pytest.skip(f"languagebind cannot be imported here (pip install languagebind; it needs transformers<5 and "
                    f"torchvision): {type(err).__name__}: {err}")
    from vidret.testing.tiny import _clip_tokenizer

    fresh_presets.syspath_prepend(str(_readme_package(tmp_path)))
    import vidret_languagebind

    tok = _clip_tokenizer()
    config = LanguageBindVideoConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=77, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id),
        vision_config=dict(image_size=224, patch_size=32, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                           num_attention_heads=2, num_frames=8),
        projection_dim=16,
    )
    a = vidret_languagebind.LanguageBindVideoAdapter(
        LanguageBindVideo(config), tok, model_id="tiny", revision=None, device="cpu", batch_size=2, num_frames=8
    )
    assert_unit_rows(a.encode_video([make_clip(8), make_clip(8, seed=1)]), 2)
    assert_unit_rows(a.encode_text(["a diver", "a gymnast"]), 2)


# ---- open_clip families: a preset pointing at another package's factory ---------------------------
@pytest.mark.parametrize("model", ["RN50", "timm/PE-Core-B-16", "EVA02-B-16"])
def test_open_clip_presets_say_which_package_to_install(model):
    preset = {"RN50": "clip-rn50", "timm/PE-Core-B-16": "pe-core", "EVA02-B-16": "eva02-clip"}[model]
    if not missing_requirements(get_preset(preset)):
        pytest.skip("open_clip imports here")
    with pytest.raises(ValueError) as err:
        load_adapter(model)
    assert "pip install open-clip-torch" in str(err.value) and repr(preset) in str(err.value)


def test_cli_names_the_package_to_install(repos, tmp_path):
    from vidret.cli.main import main

    if not missing_requirements(get_preset("clip-rn50")):
        pytest.skip("open_clip imports here")
    with pytest.raises(SystemExit, match="pip install open-clip-torch"):
        main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", "RN50",
              "--no-cache", "--output", str(tmp_path / "r.json")])


def test_open_clip_adapter_with_a_real_open_clip_model():
    try:
        import open_clip
    except Exception as err:
        pytest.skip(f"open_clip cannot be imported here (pip install open-clip-torch; it needs a torchvision "
                    f"matching torch): {type(err).__name__}: {err}")
    from vidret.adapters.open_clip import open_clip_adapter

    net = open_clip.create_model("RN50", pretrained=None)
    a = open_clip_adapter(net, open_clip.get_tokenizer("RN50"),
                        model_id="RN50", revision=None, preset="clip-rn50", num_frames=2, device="cpu")
    assert_unit_rows(a.encode_video([make_clip(2), make_clip(3)]), 2)
    assert_unit_rows(a.encode_text(["a diver", "a gymnast"]), 2)


# ---- trust_remote_code families -------------------------------------------------------------------
def test_remote_code_presets_must_declare_trust_remote_code():
    """A "remote_code" preset runs its repository's code: without the declaration, loading would not
    ask for --trust-remote-code before that code runs."""
    from vidret.adapters import AdapterPreset

    with pytest.raises(ValueError, match="must set trust_remote_code=True"):
        AdapterPreset(name="x", adapter="remote_code", options={"text": "a:b", "video": "a:c"})
    assert AdapterPreset(name="x", adapter="remote_code", trust_remote_code=True).trust_remote_code


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    return write_standin_remote_model(tmp_path_factory.mktemp("remote") / "standin", preset="internvideo2")


@pytest.mark.parametrize("preset", ["internvideo2", "jina-clip-v2", "mm-embed"])
def test_remote_code_presets_refuse_without_the_flag(standin, preset):
    with pytest.raises(ValueError) as err:
        load_adapter(standin, preset=preset, device="cpu")
    message = str(err.value)
    assert "--trust-remote-code" in message and f"preset {preset!r}" in message


@pytest.mark.parametrize("preset", ["internvideo2", "jina-clip-v2", "mm-embed"])
def test_remote_code_presets_work_with_the_flag(standin, preset):
    a = load_adapter(standin, preset=preset, device="cpu", trust_remote_code=True, resolution=32)
    assert type(a).__name__ == "GlueAdapter" and type(a.model).__name__ == "StandinModel"
    clips = [make_clip(t, seed=t) for t in (2, 5)]
    video, text = a.encode_video(clips), a.encode_text(["a diver", "a gymnast turns", ""])
    assert_unit_rows(video, 2), assert_unit_rows(text, 3)
    assert a.encode_text([]).shape == (0, video.shape[1])
    described = a.describe()
    assert described["remote_code"] and described["preset"] == preset
    assert described["glue"]["text"].startswith("vidret.model_adapters.remote_code:")
    if preset == "internvideo2":  # the model's video tower sees the clip resampled to the preset's 4 frames
        assert a.num_frames == 4 and described["pooling"] == "model"
    else:
        assert described["pooling"] == "mean"


def test_remote_code_model_evaluates_from_its_folder_with_the_flag(standin, repos, tmp_path, capsys):
    from vidret.cli.main import main

    args = ["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", str(standin),
            "--resolution", "32", "--num-workers", "0", "--no-cache", "--limit", "3"]
    with pytest.raises(SystemExit, match="--trust-remote-code"):
        main([*args, "--output", str(tmp_path / "refused.json")])
    assert not (tmp_path / "refused.json").exists()
    out = tmp_path / "r.json"
    assert main([*args, "--trust-remote-code", "--output", str(out)]) == 0
    capsys.readouterr()
    record = json.loads(out.read_text())
    assert record["model"]["adapter"] == "internvideo2" and record["model"]["trust_remote_code"] is True
