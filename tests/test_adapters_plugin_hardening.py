"""A broken or greedy adapter plug-in costs only itself (issue 19, item 9).

Its import may exit or raise anything (contained, reported once; a real Ctrl-C still interrupts);
a preset named like a built-in is skipped; a pattern like "*" does not take a checkpoint that a
built-in preset claims. Plug-ins are installed as a test-only distribution (`plugin_helpers`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_helpers import install_dist_info_plugin
from runner_helpers import default_sigint
from vidret.adapters import available_presets, find_preset, get_preset, load_adapter
from vidret.adapters import presets as presets_module
from vidret.adapters.plugins import PLUGIN_ERRORS

GREEDY = '''
from vidret.adapters import AdapterPreset

PRESETS = (
    AdapterPreset(name="greedy", adapter="plugin", patterns=("*",), factory="vidret_toy_plugin:load", frames=2),
)
'''
SHADOW = '''
from vidret.adapters import AdapterPreset

PRESETS = (
    AdapterPreset(name="clip", adapter="plugin", patterns=("shadow/*",), factory="vidret_toy_plugin:load"),
    AdapterPreset(name="shadow-ok", adapter="plugin", patterns=("shadow/*",), factory="vidret_toy_plugin:load"),
)
'''


@pytest.fixture
def plugins(monkeypatch, tmp_path):
    """Install plug-ins with `plugins(modules=..., extra=...)`; presets are discovered afresh before and after."""

    def install(**options):
        monkeypatch.syspath_prepend(str(install_dist_info_plugin(tmp_path / "site", **options)))
        available_presets.cache_clear()
        getattr(presets_module, "_WARNED", set()).clear()

    yield install
    monkeypatch.undo()
    available_presets.cache_clear()
    getattr(presets_module, "_WARNED", set()).clear()
    for name in [m for m in sys.modules if m.startswith("vidret_toy")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    from runner_helpers import build_sample_repos

    return build_sample_repos(tmp_path_factory.mktemp("plugin_hardening"))


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from runner_helpers import build_tiny_model

    return build_tiny_model("clip", tmp_path_factory.mktemp("tiny"))


# ---- whatever a plug-in's import raises is contained ---------------------------------------------------
@pytest.mark.parametrize(
    ("source", "reported"),
    [
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
        ("class Odd(BaseException):\n    pass\n\nraise Odd('not an Exception')\n", "Odd: not an Exception"),
    ],
)
def test_what_a_plugin_import_raises_is_contained_and_reported_once(plugins, caplog, source, reported):
    plugins(modules={"vidret_toy_bad": source}, extra="bad = vidret_toy_bad:PRESETS\n")
    with caplog.at_level("WARNING", logger="vidret.adapters.plugins"):
        found = available_presets()
        available_presets()  # discovery runs once: no second warning
    assert "toy-plugin" in found and "clip" in found  # the others still load
    assert PLUGIN_ERRORS == [f"entry point bad (vidret-toy-plugin): {reported}"]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning == f"skipping vidret adapter plug-in entry point bad (vidret-toy-plugin): {reported}"


def test_evaluate_survives_a_plugin_that_exits_on_import(plugins, repos, tmp_path, caplog, capsys):
    from vidret.cli.main import main

    plugins(modules={"vidret_toy_bad": "import sys\nsys.exit(3)\n"}, extra="bad = vidret_toy_bad:PRESETS\n")
    out = tmp_path / "r.json"
    with caplog.at_level("WARNING", logger="vidret.adapters.plugins"):
        assert main(["evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]), "--model", "toy/anything",
                     "--num-workers", "0", "--no-cache", "--limit", "3", "--output", str(out)]) == 0
    capsys.readouterr()
    assert json.loads(out.read_text())["model"]["adapter"] == "toy-plugin"
    assert caplog.text.count("entry point bad (vidret-toy-plugin): SystemExit: 3") == 1


def test_a_real_ctrl_c_while_a_plugin_loads_still_interrupts(repos, tmp_path):
    """SIGINT delivered during the plug-in's import (here sent by the import itself, as a terminal
    would) ends `vidret evaluate` as any Ctrl-C does: one line, exit status 130."""
    site = install_dist_info_plugin(
        tmp_path / "site",
        modules={"vidret_toy_slow": "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n"},
        extra="slow = vidret_toy_slow:PRESETS\n",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(
        [sys.executable, "-m", "vidret", "evaluate", "--benchmark", "tf-covr", "--data", str(repos["tf-covr"]),
         "--model", "toy/anything", "--num-workers", "0", "--no-cache", "--output", str(tmp_path / "r.json")],
        capture_output=True, text=True, env=env, timeout=300, preexec_fn=default_sigint,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "vidret evaluate: interrupted"
    assert not (tmp_path / "r.json").exists()


def test_load_plugin_restores_the_sigint_handler():
    import signal

    from vidret.common import load_plugin

    class EntryPoint:
        def load(self):
            raise SystemExit("bye")

    before = signal.getsignal(signal.SIGINT)
    assert load_plugin(EntryPoint()) == (None, "SystemExit: bye")
    assert signal.getsignal(signal.SIGINT) is before


# ---- built-ins win clashes --------------------------------------------------------------------------
def test_a_plugin_preset_named_like_a_built_in_is_skipped(plugins, caplog, tiny_clip):
    plugins(modules={"vidret_toy_shadow": SHADOW}, extra="shadow = vidret_toy_shadow:PRESETS\n")
    with caplog.at_level("WARNING", logger="vidret.adapters.plugins"):
        found = available_presets()
    assert found["clip"].source == "vidret.model_adapters.clip.PRESETS" and found["clip"].adapter == "frame_pooling"
    assert found["shadow-ok"].source == "entry point shadow (vidret-toy-plugin)"  # its other preset is kept
    message = ("entry point shadow (vidret-toy-plugin): its preset 'clip' is skipped: the name is taken by "
               "vidret.model_adapters.clip; rename it")
    assert PLUGIN_ERRORS == [message] and message in caplog.text
    adapter = load_adapter(tiny_clip, device="cpu")  # models still load
    assert type(adapter).__name__ == "FramePoolingAdapter" and adapter.preset == "clip"


def _naming_its_preset(folder: Path, dst: Path) -> Path:
    """A copy of a local checkpoint whose config.json names its preset (`vidret_preset`)."""
    shutil.copytree(folder, dst)
    config = json.loads((dst / "config.json").read_text())
    config["vidret_preset"] = "clip"
    (dst / "config.json").write_text(json.dumps(config))
    return dst


@pytest.mark.parametrize("named_by", ["vidret_preset", "model_type"])
def test_a_plugin_star_pattern_does_not_take_a_built_in_local_checkpoint(plugins, caplog, tiny_clip, tmp_path, named_by):
    plugins(modules={"vidret_toy_greedy": GREEDY}, extra="greedy = vidret_toy_greedy:PRESETS\n")
    folder = _naming_its_preset(tiny_clip, tmp_path / "named-clip") if named_by == "vidret_preset" else tiny_clip
    with caplog.at_level("WARNING", logger="vidret.adapters.presets"):
        adapter = load_adapter(folder, device="cpu")
        load_adapter(folder, device="cpu")  # warned once per plug-in preset and model
    assert type(adapter).__name__ == "FramePoolingAdapter" and adapter.preset == "clip"
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"plug-in preset greedy (entry point greedy (vidret-toy-plugin)) matches {folder} by name")
    assert "using clip (pass --adapter greedy to use the plug-in)" in warning
    # The plug-in still gets what no built-in claims, and whatever it is asked for by name.
    assert type(load_adapter("acme/anything")).__name__ == "ToyAdapter"
    assert type(load_adapter(folder, preset="greedy")).__name__ == "ToyAdapter"


def test_a_built_in_pattern_wins_over_a_plugin_pattern_for_a_hub_id(plugins, caplog):
    plugins(modules={"vidret_toy_greedy": GREEDY}, extra="greedy = vidret_toy_greedy:PRESETS\n")
    with caplog.at_level("WARNING", logger="vidret.adapters.presets"):
        assert find_preset("openai/clip-vit-base-patch32").name == "clip"
    assert "plug-in preset greedy (entry point greedy (vidret-toy-plugin)) matches openai/clip-vit-base-patch32" in caplog.text
    assert get_preset("greedy").patterns == ("*",)
