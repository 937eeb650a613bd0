"""Google SigLIP / SigLIP 2 (fixed-resolution checkpoints): frames pooled over time."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="siglip",
        adapter="frame_pooling",
        patterns=("google/siglip-*", "google/siglip2-*"),
        # Fixed-resolution SigLIP 2 checkpoints reuse the SigLIP architecture (model_type siglip);
        # the NaFlex ones (model_type siglip2) need patch masks and are not supported.
        model_types=("siglip",),
        frames=8,
        pooling="mean",
        text_max_length=64,
        # SigLIP's text tower pools the LAST position and was trained on texts padded to 64 tokens
        # without an attention mask: pad to max_length and feed input_ids only.
        padding="max_length",
        text_inputs=("input_ids",),
        checkpoints=(
            "google/siglip-base-patch16-224",
            "google/siglip-so400m-patch14-384",
            "google/siglip2-base-patch16-224",
        ),
        notes="exact resize to the square input, mean/std 0.5; no revision pinned (commit unknown)",
    ),
)
