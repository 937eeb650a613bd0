"""Test-only plug-ins and custom-code models (imported by tests/test_adapters_plugins.py; no tests here).

- `install_dist_info_plugin(target)`: a distribution made of a module and a `.dist-info` folder
  whose entry_points.txt registers presets in the `vidret.adapters` group (what `pip install`
  leaves behind), providing a small deterministic adapter that needs no weights.
- `write_standin_remote_model(folder)`: a local checkpoint with custom modeling code (`auto_map`)
  whose model has the APIs of the remote-code families (InternVideo2's get_txt_feat/get_vid_feat,
  jina-clip-v2's encode_text/encode_image, MM-Embed's encode).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

TOY_PLUGIN = '''
"""A toy vidret adapter plug-in: colour histograms for frames, byte histograms for texts."""
import numpy as np
import torch

from vidret.adapters import AdapterPreset, EmbeddingAdapter

DIM = 24


class ToyAdapter(EmbeddingAdapter):
    def __init__(self, model_id, **kwargs):
        super().__init__(**kwargs)
        self.model_id = model_id
        self.preset = None

    def encode_text(self, texts):
        rows = [np.bincount(np.frombuffer(t.encode() or b" ", np.uint8) % DIM, minlength=DIM) for t in texts]
        return self.finalize(torch.tensor(np.array(rows, dtype=np.float32)).reshape(len(texts), DIM) + 1e-3)

    def encode_video(self, clips):
        rows = [np.bincount((c.reshape(-1) // 11) % DIM, minlength=DIM) for c in clips]
        return self.finalize(torch.tensor(np.array(rows, dtype=np.float32)).reshape(len(clips), DIM) + 1e-3)

    def describe(self):
        return {**super().describe(), "model": self.model_id, "kind": "toy"}


def load(model, *, preset, frames=None, fusion=None, **unused):
    return ToyAdapter(model, num_frames=frames or preset.frames, default_fusion=fusion or preset.default_fusion)


PRESETS = (
    AdapterPreset(name="toy-plugin", adapter="plugin", patterns=("toy/*",), factory="vidret_toy_plugin:load", frames=2),
)
'''


def install_dist_info_plugin(
    target: Path, *, broken: bool = False, modules: dict[str, str] | None = None, extra: str = ""
) -> Path:
    """Write the toy plug-in distribution into `target` (put it on sys.path to install it).

    Args:
        target: folder to write into (created).
        broken: also register an entry point whose module does not exist.
        modules: more modules of the distribution, module name -> source.
        extra: more lines of its `vidret.adapters` entry points ("name = module:OBJECT").

    Returns:
        `target`.
    """
    target.mkdir(parents=True, exist_ok=True)
    (target / "vidret_toy_plugin.py").write_text(TOY_PLUGIN, encoding="utf-8")
    for name, source in (modules or {}).items():
        (target / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = target / "vidret_toy_plugin-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vidret-toy-plugin\nVersion: 0.1\n", encoding="utf-8")
    points = "[vidret.adapters]\ntoy = vidret_toy_plugin:PRESETS\n"
    if broken:
        points += "gone = vidret_module_that_does_not_exist:PRESETS\n"
    points += extra
    (info / "entry_points.txt").write_text(points, encoding="utf-8")
    return target


STANDIN_CONFIG = '''
from transformers import PretrainedConfig


class StandinConfig(PretrainedConfig):
    model_type = "vidret_standin"

    def __init__(self, dim=16, **kwargs):
        self.dim = dim
        super().__init__(**kwargs)
'''

STANDIN_MODEL = '''
import numpy as np
import torch
from transformers import PreTrainedModel

from .configuration_standin import StandinConfig


class StandinModel(PreTrainedModel):
    config_class = StandinConfig

    def __init__(self, config):
        super().__init__(config)
        self.text = torch.nn.EmbeddingBag(256, config.dim)
        self.video = torch.nn.Linear(3, config.dim)
        self.post_init()

    def _text(self, texts):
        ids = [torch.tensor(list(t.encode() or b" "), dtype=torch.long) for t in texts]
        offsets = torch.tensor([0] + [len(i) for i in ids[:-1]]).cumsum(0)
        return self.text(torch.cat(ids).to(self.device), offsets.to(self.device))

    def _pixels(self, x):  # (..., 3, H, W) -> (..., dim)
        return self.video(x.float().mean(dim=(-1, -2)).to(self.video.weight.dtype))

    # InternVideo2 Stage 2: one text at a time; frames (B, T, 3, H, W)
    def get_txt_feat(self, text):
        return self._text([text])

    def get_vid_feat(self, frames):
        assert frames.ndim == 5 and frames.shape[2] == 3, frames.shape
        return self._pixels(frames).mean(dim=1)

    # jina-clip-v2
    def encode_text(self, texts, task=None, convert_to_tensor=False):
        assert task == "retrieval.query"
        return self._text(texts)

    def encode_image(self, images, convert_to_tensor=False):
        arr = torch.tensor(np.stack([np.asarray(i) for i in images])).permute(0, 3, 1, 2) / 255.0
        return self._pixels(arr.to(self.device))

    # MM-Embed
    def encode(self, inputs, is_query=False, instruction=None):
        if "txt" in inputs[0]:
            return {"hidden_states": self._text([(instruction or "") + i["txt"] for i in inputs])}
        return {"hidden_states": self.encode_image([i["img"] for i in inputs])}
'''


def write_standin_remote_model(folder: Path, preset: str | None = None) -> Path:
    """A local checkpoint whose modeling code ships in the folder (`auto_map`), with random weights.

    Args:
        folder: where to write it.
        preset: written as `vidret_preset` in config.json when given.

    Returns:
        `folder`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "configuration_standin.py").write_text(textwrap.dedent(STANDIN_CONFIG), encoding="utf-8")
    (folder / "modeling_standin.py").write_text(textwrap.dedent(STANDIN_MODEL), encoding="utf-8")
    (folder / "__init__.py").write_text("", encoding="utf-8")
    # Build the weights from the folder's own code, then forget that code again.
    name = f"standin_{abs(hash(str(folder)))}"
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    try:
        modeling = importlib.import_module(f"{name}.modeling_standin")
        config = modeling.StandinConfig(dim=16)
        import torch

        torch.manual_seed(0)
        modeling.StandinModel(config).save_pretrained(folder)
    finally:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]
    cfg = json.loads((folder / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "configuration_standin.StandinConfig", "AutoModel": "modeling_standin.StandinModel"}
    cfg["vidret_random_weights"] = True
    if preset:
        cfg["vidret_preset"] = preset
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    return folder
