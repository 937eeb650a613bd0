"""Kakao Brain ALIGN (EfficientNet image tower + BERT text tower): frames pooled over time."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="align",
        adapter="frame_pooling",
        patterns=("kakaobrain/align-*",),
        model_types=("align",),
        frames=8,
        text_max_length=64,  # AlignProcessor's default
        padding="max_length",
        text_inputs=("input_ids", "attention_mask", "token_type_ids"),  # BERT text tower
        checkpoints=("kakaobrain/align-base",),
        notes="289px EfficientNet input, pixels in [-1, 1] (no position embeddings: a resolution override just resizes); no revision pinned",
    ),
)
