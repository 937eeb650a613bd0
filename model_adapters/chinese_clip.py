"""OFA-Sys Chinese-CLIP (BERT-style Chinese text tower): frames pooled over time."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="chinese-clip",
        adapter="frame_pooling",
        patterns=("ofa-sys/chinese-clip-*",),
        model_types=("chinese_clip",),
        frames=8,
        text_max_length=52,  # Chinese-CLIP's training context length
        text_inputs=("input_ids", "attention_mask", "token_type_ids"),
        checkpoints=("OFA-Sys/chinese-clip-vit-base-patch16", "OFA-Sys/chinese-clip-vit-large-patch14"),
        notes="for Chinese captions; LoVR/TF-CoVR captions are English; no revision pinned",
    ),
)
