"""Meta's MetaCLIP (CLIP architecture) and MetaCLIP 2 (worldwide, own model type)."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="metaclip",
        adapter="frame_pooling",
        patterns=("facebook/metaclip-b*", "facebook/metaclip-l*", "facebook/metaclip-h*"),
        model_types=("clip",),  # MetaCLIP 1 checkpoints are CLIPModel
        frames=8,
        text_max_length=77,
        checkpoints=("facebook/metaclip-b32-400m", "facebook/metaclip-b16-fullcc2.5b", "facebook/metaclip-h14-fullcc2.5b"),
        notes="same preprocessing as CLIP; no revision pinned (commit unknown)",
    ),
    AdapterPreset(
        name="metaclip-2",
        adapter="frame_pooling",
        patterns=("facebook/metaclip-2-*",),
        model_types=("metaclip_2",),
        frames=8,
        text_max_length=77,
        checkpoints=("facebook/metaclip-2-worldwide-huge-quickgelu",),
        notes="multilingual tokenizer; no revision pinned (commit unknown)",
    ),
)
