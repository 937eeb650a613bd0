"""Microsoft X-CLIP: a video tower (cross-frame attention + multi-frame integration transformer)."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="xclip",
        adapter="native_video",
        patterns=("microsoft/xclip-*",),
        model_types=("xclip",),
        frames=None,  # fixed by the checkpoint: vision_config.num_frames (8, or 16 for *-16-frames)
        text_max_length=77,
        video_input="pixel_values",  # (batch, frames, 3, H, W)
        # Commits as pinned by mteb's xclip_models.py; not checked against the Hub here (see README).
        revisions={
            "microsoft/xclip-base-patch32": "a2e27a78a2b5d802e894b8a1ef14f3a8ce490963",
            "microsoft/xclip-base-patch16": "d6184e3fd8780d04c85d0f1eabe5f94bf44d98f6",
            "microsoft/xclip-large-patch14": "40f6d177e0a057a50ac69ac1de6b5938fd268601",
        },
        checkpoints=(
            "microsoft/xclip-base-patch32",
            "microsoft/xclip-base-patch16",
            "microsoft/xclip-base-patch16-16-frames",
            "microsoft/xclip-large-patch14",
        ),
        notes="text embeddings are the unconditioned get_text_features (see NativeVideoAdapter); -16-frames has no pinned revision",
    ),
)
