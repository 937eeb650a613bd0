"""Tiny random-weight Qwen-VL MLLM embedders (GME, VLM2Vec, LamRA, Qwen3-VL-Embedding presets).

The same kind of complete local checkpoint as `vidret.testing.tiny` (whose shared parts it uses),
kept apart because the Qwen tokenizer and configs are most of its bulk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidret.testing.tiny import _CORPUS, SEED, _byte_symbols, _quiet, _save


#: Special tokens of the Qwen-VL tokenizers that the prompts and the model configs refer to.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
QWEN_TEXT_POSITIONS = 4096
#: Which tiny backbone stands for each MLLM-embedder preset.
MLLM_BACKBONES = {"gme": "qwen2_vl", "vlm2vec": "qwen2_vl", "lamra": "qwen2_vl", "qwen3-vl-embedding": "qwen3_vl"}


def _qwen_tokenizer() -> Any:
    """A byte-level BPE tokenizer with Qwen's pre-tokenizer and special tokens.

    Its merges are learnt from the MLLM presets' prompts and a few captions (deterministically), so
    prompts take tens of tokens instead of one per byte and the tiny models stay fast.
    """
    import json

    from tokenizers import Tokenizer, models, trainers
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen2Tokenizer

    from vidret.model_adapters.mllm_embedders import PRESETS  # vidret's own prompts only: stable across installs

    plain = Qwen2Tokenizer(vocab={s: i for i, s in enumerate(_byte_symbols())}, merges=[])
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = plain.backend_tokenizer.pre_tokenizer  # Qwen's regex split + byte level
    prompts = [
        text.replace("{text}", " ").replace("{video}", " ")
        for preset in PRESETS
        for text in preset.prompts.values()
    ]
    trainer = trainers.BpeTrainer(vocab_size=700, initial_alphabet=ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(sorted(prompts) + list(_CORPUS) * 4, trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    tok = Qwen2Tokenizer(vocab=model["vocab"], merges=merges, model_max_length=QWEN_TEXT_POSITIONS)
    tok.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS[1:])})
    tok.add_special_tokens({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
    return tok


def build_tiny_mllm_embedder(directory: str | Path, preset: str = "gme", backbone: str | None = None) -> Path:
    """Save a tiny random Qwen2-VL (or Qwen3-VL) checkpoint that loads with an MLLM-embedder preset.

    The backbone is the real architecture at toy size (`Qwen2VLForConditionalGeneration`, or
    `Qwen3VLForConditionalGeneration` for "qwen3-vl-embedding"): 2 text layers of width 64, a
    2-block vision tower with 14-pixel (16 for Qwen3-VL) patches, temporal patches of 2 frames and
    2x2 merging; the tokenizer has the Qwen special tokens; `video_preprocessor_config.json` gives
    the patch sizes and normalisation the adapter reads (the transformers video processors cannot
    be saved here: they import torchvision). The config's `vidret_preset` names `preset`, since
    one backbone serves several embedder families.

    Args:
        directory: folder to write (created if missing).
        preset: "gme", "vlm2vec", "lamra" or "qwen3-vl-embedding".
        backbone: "qwen2_vl", "qwen2_5_vl" or "qwen3_vl"; None = the preset's (`MLLM_BACKBONES`).

    Returns:
        The folder, loadable with `load_adapter(path)` / `vidret evaluate --model path`.

    Raises:
        ValueError: an unknown preset or backbone.
    """
    import json

    import torch

    if preset not in MLLM_BACKBONES:
        raise ValueError(f"unknown MLLM-embedder preset {preset!r}; choose one of {', '.join(MLLM_BACKBONES)}")
    backbone = backbone or MLLM_BACKBONES[preset]
    if backbone not in ("qwen2_vl", "qwen2_5_vl", "qwen3_vl"):
        raise ValueError(f"unknown backbone {backbone!r}; choose qwen2_vl, qwen2_5_vl or qwen3_vl")
    out = Path(directory)
    with _quiet():
        tok = _qwen_tokenizer()
        ids = {name: tok.convert_tokens_to_ids(name) for name in QWEN_SPECIAL_TOKENS}
        text = dict(
            vocab_size=len(tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=QWEN_TEXT_POSITIONS,
            bos_token_id=None,
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
        )
        tokens = dict(
            image_token_id=ids["<|image_pad|>"],
            video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<|vision_start|>"],
            vision_end_token_id=ids["<|vision_end|>"],
        )
        torch.manual_seed(SEED)
        if backbone == "qwen3_vl":
            from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

            patch = 16
            config = Qwen3VLConfig(
                text_config=dict(text, head_dim=16, rope_scaling={"rope_type": "default", "mrope_section": [4, 2, 2], "mrope_interleaved": True}),
                vision_config=dict(
                    depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=patch,
                    spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=64, deepstack_visual_indexes=[1],
                ),
                **tokens,
            )
            model = Qwen3VLForConditionalGeneration(config)
            mean = std = (0.5, 0.5, 0.5)  # Qwen3-VL's processors normalise to [-1, 1]
        elif backbone == "qwen2_5_vl":
            from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

            from vidret.adapters.qwen_video import CLIP_MEAN as mean, CLIP_STD as std

            patch = 14
            config = Qwen2_5_VLConfig(
                text_config=dict(text, rope_scaling={"type": "mrope", "mrope_section": [4, 2, 2]}),
                vision_config=dict(
                    depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=patch,
                    spatial_merge_size=2, temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1],
                    tokens_per_second=2,
                ),
                **tokens,
            )
            model = Qwen2_5_VLForConditionalGeneration(config)
        else:
            from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

            patch = 14
            config = Qwen2VLConfig(
                text_config=dict(text, rope_scaling={"type": "mrope", "mrope_section": [4, 2, 2]}),
                vision_config=dict(
                    depth=2, embed_dim=32, hidden_size=64, num_heads=2, patch_size=patch, spatial_merge_size=2,
                    temporal_patch_size=2,
                ),
                **tokens,
            )
            model = Qwen2VLForConditionalGeneration(config)
            from vidret.adapters.qwen_video import CLIP_MEAN as mean, CLIP_STD as std
        _save(model, tok, None, out, f"{backbone} ({preset} preset)", preset=preset)
        video_processor = {
            "patch_size": patch,
            "temporal_patch_size": 2,
            "merge_size": 2,
            "image_mean": list(mean),
            "image_std": list(std),
            "resample": 3,
        }
        (out / "video_preprocessor_config.json").write_text(json.dumps(video_processor, indent=2), encoding="utf-8")
    return out
