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
        checkpoints=(
            "microsoft/xclip-base-patch32",
            "microsoft/xclip-base-patch16",
            "microsoft/xclip-base-patch16-16-frames",
            "microsoft/xclip-large-patch14",
        ),
        notes="text embeddings are the unconditioned get_text_features (see NativeVideoAdapter); no revision pinned",
    ),
)
