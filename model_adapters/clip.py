"""OpenAI CLIP (and checkpoints with the same architecture): frames pooled over time."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="clip",
        adapter="frame_pooling",
        patterns=("openai/clip-*", "laion/clip-*", "*/clip-vit-*"),
        model_types=("clip",),
        frames=8,
        pooling="mean",
        text_max_length=77,  # CLIP's 77 learned text positions
        padding="longest",  # the pooler reads the EOS position, so padding length is irrelevant
        checkpoints=(
            "openai/clip-vit-base-patch32",
            "openai/clip-vit-base-patch16",
            "openai/clip-vit-large-patch14",
            "openai/clip-vit-large-patch14-336",
        ),
        notes="224px shortest-edge resize + centre crop (336 for -336); no revision pinned (commit unknown)",
    ),
)
