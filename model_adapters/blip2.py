"""Salesforce BLIP-2 image-text retrieval checkpoints (Q-Former ITC embeddings), frames pooled."""

from vidret.adapters.presets import AdapterPreset

PRESETS = (
    AdapterPreset(
        name="blip2",
        adapter="blip2_retrieval",
        patterns=("Salesforce/blip2-itm-*",),
        model_types=("blip-2",),
        # The blip-2 model type also covers the captioning/VQA checkpoints (Blip2ForConditionalGeneration),
        # which have no retrieval heads: only the name pattern or --adapter picks this preset.
        match_model_type=False,
        model_class="Blip2ForImageTextRetrieval",
        frames=8,
        pooling="mean",
        # LAVIS's BLIP-2 Q-Former and TF-CoVR's BLIP-2 baselines use max_txt_len=32
        # (UCF-CRCV/TF-CoVR src/model/blip2/blip2_cir_visual.py).
        text_max_length=32,
        padding="longest",  # the text embedding is the [CLS] position
        checkpoints=("Salesforce/blip2-itm-vit-g", "Salesforce/blip2-itm-vit-g-coco"),
        notes="per frame: mean of the 32 normalised ITC query embeddings (TF-CoVR's BLIP-2 pooling), then frames pooled",
    ),
)
