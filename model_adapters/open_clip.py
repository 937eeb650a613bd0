"""open_clip families of the papers (CLIP RN50: TF-CoVR; EVA02-CLIP-B-16, PE-Core-B16-224: LoVR).

"plugin" presets: the adapter (`vidret.adapters.open_clip`, a `GlueAdapter`) needs the `open_clip` package
(pip install open-clip-torch), which needs a torchvision matching your torch. Where it cannot be
imported, loading one of these presets says what to install. Not run on our machines (our CPU
torch wheel has no working torchvision).
"""

from vidret.adapters.presets import AdapterPreset

_COMMON = dict(
    adapter="plugin",
    factory="vidret.adapters.open_clip:load_open_clip_adapter",
    requires={"open_clip": "open-clip-torch"},
    frames=8,
)

PRESETS = (
    AdapterPreset(
        name="clip-rn50",
        patterns=("RN50", "RN50-quickgelu", "timm/resnet50_clip.openai", "hf-hub:timm/resnet50_clip.openai"),
        options={"pretrained": "openai"},
        checkpoints=("RN50", "timm/resnet50_clip.openai"),
        notes="OpenAI CLIP ResNet-50 via open_clip (--model RN50, pretrained tag 'openai' by default)",
        **_COMMON,
    ),
    AdapterPreset(
        name="eva02-clip",
        patterns=("EVA02-*", "timm/eva02_*clip*", "hf-hub:timm/eva02_*clip*"),
        options={"pretrained": "merged2b_s8b_b131k"},
        checkpoints=("EVA02-B-16", "timm/eva02_base_patch16_clip_224.merged2b_s8b_b131k"),
        notes="EVA02-CLIP via open_clip (--model EVA02-B-16, pretrained tag 'merged2b_s8b_b131k' by default)",
        **_COMMON,
    ),
    AdapterPreset(
        name="pe-core",
        patterns=("timm/PE-Core-*", "hf-hub:timm/PE-Core-*"),
        checkpoints=("timm/PE-Core-B-16",),
        notes="Meta Perception Encoder (PE-Core) via open_clip's Hub checkpoints",
        **_COMMON,
    ),
)
