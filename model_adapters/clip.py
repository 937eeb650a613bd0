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
        # Commits as pinned by mteb's clip_models.py; not checked against the Hub here (see README).
        revisions={
            "openai/clip-vit-base-patch32": "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268",
            "openai/clip-vit-base-patch16": "57c216476eefef5ab752ec549e440a49ae4ae5f3",
            "openai/clip-vit-large-patch14": "32bd64288804d66eefd0ccbe215aa642df71cc41",
        },
        checkpoints=(
            "openai/clip-vit-base-patch32",
            "openai/clip-vit-base-patch16",
            "openai/clip-vit-large-patch14",
            "openai/clip-vit-large-patch14-336",
        ),
        notes="224px shortest-edge resize + centre crop (336 for -336); -336 has no pinned revision",
    ),
)
