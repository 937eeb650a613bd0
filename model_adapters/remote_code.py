"""Families whose modeling code lives in their Hub repositories: InternVideo2, jina-clip-v2, MM-Embed.

Each loads only with `--trust-remote-code` (`trust_remote_code=True`); without it
`load_adapter` refuses and names the flag. The glue functions below call each family's own
API, as its model card / reference code does; `vidret.adapters.remote_code` does the rest.
They are exercised here against local stand-in models with the same method names (no machine
of ours reaches the Hub): the real repositories' code has not been run here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidret.adapters.presets import AdapterPreset

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.adapters.glue import GlueAdapter

_GLUE = "vidret.model_adapters.remote_code"


def _rows(out: Any) -> "torch.Tensor":
    """A model's output as (N, D) float rows: a tensor/array, a list of vectors, or MM-Embed's dict."""
    import torch

    if isinstance(out, dict):
        out = out["hidden_states"]
    if isinstance(out, (list, tuple)):
        return torch.stack([torch.as_tensor(o).float().reshape(-1) for o in out])
    rows = torch.as_tensor(out).float()
    return rows.reshape(rows.shape[0], -1)


# ---- InternVideo2 Stage 2 (OpenGVLab/InternVideo2-Stage2_*): `get_txt_feat(text)` for one string and
# `get_vid_feat(frames)` for (B, T, 3, H, W) frames resized to 224 and normalised with ImageNet mean/std
# (the repository's modeling_internvideo2.py, `frames2tensor`; vendored in TIGER-AI-Lab/VLM2Vec
# src/model/baseline_backbone/internvideo2/). Its `frames2tensor` flips OpenCV's BGR frames to RGB:
# vidret's frames already are RGB.
def internvideo2_text(adapter: "GlueAdapter", texts: list[str]) -> "torch.Tensor":
    import torch

    return torch.cat([_rows(adapter.model.get_txt_feat(t)) for t in texts])


def internvideo2_video(adapter: "GlueAdapter", clips: list["np.ndarray"]) -> "torch.Tensor":
    import torch

    videos = torch.stack([adapter.pixels(c) for c in clips])  # (B, T, 3, 224, 224)
    return _rows(adapter.model.get_vid_feat(videos))


# ---- jina-clip-v2 (jinaai/jina-clip-v2): `encode_text(texts, task="retrieval.query")` and
# `encode_image(images)` of its JinaCLIPModel, which preprocess themselves (model card); frames pooled.
def jina_clip_text(adapter: "GlueAdapter", texts: list[str]) -> "torch.Tensor":
    return _rows(adapter.model.encode_text(texts, task="retrieval.query", convert_to_tensor=True))


def jina_clip_frames(adapter: "GlueAdapter", frames: "np.ndarray") -> "torch.Tensor":
    from PIL import Image

    return _rows(adapter.model.encode_image([Image.fromarray(f) for f in frames], convert_to_tensor=True))


# ---- MM-Embed (nvidia/MM-Embed): `encode([{"txt": ...} | {"img": PIL image}], is_query, instruction)`
# returning {"hidden_states": ...} (model card). The query instruction is M-BEIR's MSCOCO text-to-image
# one, applied to video frames (adapted); passages (frames) carry none. Frames pooled.
MM_EMBED_INSTRUCTION = "Identify the image showcasing the described everyday scene."


def mm_embed_text(adapter: "GlueAdapter", texts: list[str]) -> "torch.Tensor":
    return _rows(adapter.model.encode([{"txt": t} for t in texts], is_query=True, instruction=MM_EMBED_INSTRUCTION))


def mm_embed_frames(adapter: "GlueAdapter", frames: "np.ndarray") -> "torch.Tensor":
    from PIL import Image

    return _rows(adapter.model.encode([{"img": Image.fromarray(f)} for f in frames], is_query=False))


_IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}

PRESETS = (
    AdapterPreset(
        name="internvideo2",
        adapter="remote_code",
        patterns=("OpenGVLab/InternVideo2-Stage2_*",),
        trust_remote_code=True,
        frames=4,  # the -f4 checkpoints: 4 frames per clip
        options={
            "text": f"{_GLUE}:internvideo2_text",
            "video": f"{_GLUE}:internvideo2_video",
            "tokenizer": False,  # the model tokenises with its own BERT tokenizer
            "image_size": 224,
            **_IMAGENET,
        },
        checkpoints=("OpenGVLab/InternVideo2-Stage2_1B-224p-f4",),
        notes="remote code: get_txt_feat / get_vid_feat; 4 frames at 224 px, ImageNet mean/std",
    ),
    AdapterPreset(
        name="jina-clip-v2",
        adapter="remote_code",
        patterns=("jinaai/jina-clip-v2",),
        trust_remote_code=True,
        frames=8,
        options={"text": f"{_GLUE}:jina_clip_text", "frames": f"{_GLUE}:jina_clip_frames", "tokenizer": False},
        checkpoints=("jinaai/jina-clip-v2",),
        notes="remote code: encode_text(task='retrieval.query') / encode_image; frames mean-pooled",
    ),
    AdapterPreset(
        name="mm-embed",
        adapter="remote_code",
        patterns=("nvidia/MM-Embed",),
        trust_remote_code=True,
        frames=8,
        options={"text": f"{_GLUE}:mm_embed_text", "frames": f"{_GLUE}:mm_embed_frames", "tokenizer": False},
        checkpoints=("nvidia/MM-Embed",),
        notes="remote code: encode([{txt|img}], is_query, instruction); frames mean-pooled",
    ),
)
