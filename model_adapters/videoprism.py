"""Google VideoPrism video-text (LvT) models: a factorised space-time video tower."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="videoprism",
        adapter="native_video",
        patterns=("google/videoprism-lvt-*",),
        model_types=("videoprism",),
        frames=None,  # fixed by the checkpoint (16 learned temporal positions in f16r288)
        text_max_length=64,
        # The text tower pools the last position: texts must be padded to exactly 64 tokens.
        padding="max_length",
        video_input="pixel_values_videos",
        # No image processor in the checkpoint: resize to the vision tower's image_size (288) and
        # rescale to [0, 1] without mean/std (VideoPrismProcessor sets do_normalize=False).
        processor_defaults={"do_normalize": False},
        # The transformers-format weights are not on `main` of these repos (only the Flax .npz);
        # mteb's videoprism_models.py pins these commits from the Hub PRs that carry them (not checked
        # against the Hub here; see README).
        revisions={
            "google/videoprism-lvt-base-f16r288": "fb6de9f0eb7bc285be86bdca1cf7daa3e3ef51ff",
            "google/videoprism-lvt-large-f8r288": "03900b4ecc0b278b30abdc5953c575bb5f083865",
        },
        checkpoints=("google/videoprism-lvt-base-f16r288", "google/videoprism-lvt-large-f8r288"),
        notes="revisions pinned to the Hub PR commits with transformers weights",
    ),
)
