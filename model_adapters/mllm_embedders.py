"""Multimodal-LLM embedders on Qwen2-VL / Qwen2.5-VL / Qwen3-VL backbones (`vidret.adapters.mllm`).

Each preset writes out the family's prompts as its reference code builds them (chat template
included), with `{video}` where the video's tokens go and `{text}` where the text goes, and
cites where they come from. The families publish image and text prompts; where a family has no
video (or video + text) prompt of its own, the closest published one is adapted and marked so.
One text prompt serves a text both as a query (t2v) and as a gallery item (v2t): vidret embeds
each text once. The composed query (TF-CoVR) is one prompt holding the query video and the
modification text: `native` fusion, the default here.
"""

from vidret.adapters.presets import AdapterPreset

_QWEN2_VL = ("qwen2_vl", "qwen2_5_vl")
_CHAT = "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def _chat(system: str, user: str, tail: str = "") -> str:
    """A Qwen chat-template prompt ending with the assistant turn's header (+ `tail`)."""
    return _CHAT.replace("{system}", system).replace("{user}", user) + tail


# VLM2Vec's MMEB-V2 video demo bounds each frame at 360 x 420 pixels
# (TIGER-AI-Lab/VLM2Vec experiments/examples/qwen2vl/demo_v2_video.py); qwen-vl-utils' MIN_PIXELS.
_QWEN2_FRAMES = {"frame_min_pixels": 4 * 28 * 28, "frame_max_pixels": 360 * 420, "nominal_fps": 2.0}

PRESETS = (
    # GME (Alibaba-NLP/gme-Qwen2-VL-2B/7B-Instruct). Reference: the model card's gme_inference.py,
    # `GmeQwen2VL.embed` (vendored in TIGER-AI-Lab/VLM2Vec src/model/baseline_backbone/gme/gme_inference.py):
    # '<|im_start|>system\n{instruction}<|im_end|>\n<|im_start|>user\n{vision}{text}<|im_end|>\n'
    # '<|im_start|>assistant\n<|endoftext|>', vision = '<|vision_start|><|image_pad|><|vision_end|>';
    # the embedding is the last position (left padding), the appended <|endoftext|>. Queries carry a task
    # instruction ('Find an image that matches the given text.' in the card's demo), candidates the
    # default 'You are a helpful assistant.'. GME's code has no video path: video uses Qwen2-VL's native
    # video tokens in the image's place, and the video instructions below adapt the card's image ones.
    AdapterPreset(
        name="gme",
        adapter="mllm_embedder",
        patterns=("Alibaba-NLP/gme-Qwen2-VL-*",),
        model_types=_QWEN2_VL,
        match_model_type=False,
        frames=8,
        pooling="eos",
        text_max_length=1024,
        default_fusion="native",
        prompts={
            "text": _chat("Find a video that matches the given text.", "{text}", "<|endoftext|>"),
            "video": _chat("You are a helpful assistant.", "<|vision_start|>{video}<|vision_end|>", "<|endoftext|>"),
            "composed": _chat(
                "Find a video that matches the given video with the described modification.",
                "<|vision_start|>{video}<|vision_end|>{text}",
                "<|endoftext|>",
            ),
        },
        options={**_QWEN2_FRAMES, "eos_token": "<|endoftext|>"},
        checkpoints=("Alibaba-NLP/gme-Qwen2-VL-2B-Instruct", "Alibaba-NLP/gme-Qwen2-VL-7B-Instruct"),
        notes="instruction prompt + <|endoftext|> embedding; video instructions adapted from the card's image ones",
    ),
    # VLM2Vec (TIGER-Lab/VLM2Vec-Qwen2VL-2B/7B) and VLM2Vec-V2 (VLM2Vec/VLM2Vec-V2.0). Reference:
    # TIGER-AI-Lab/VLM2Vec src/model/processor.py `process_input_text` (Qwen2-VL: '<|video_pad|> ' +
    # instruction + ' ' + text, no chat template) with the MMEB-V2 instructions of
    # src/data/eval_dataset/msrvtt_dataset.py (query 'Find a video that contains the following visual
    # content:', candidate 'Understand the content of the provided video.') and momentseeker_dataset.py
    # (video + text query: 'Find the clip that corresponds to the given sentence and video segment:');
    # pooling 'last' (src/model/model.py `_pooling`); 8 frames (experiments/public/eval/video.yaml).
    AdapterPreset(
        name="vlm2vec",
        adapter="mllm_embedder",
        patterns=("TIGER-Lab/VLM2Vec-Qwen2VL-*", "VLM2Vec/VLM2Vec-V2*"),
        model_types=_QWEN2_VL,
        match_model_type=False,
        frames=8,
        pooling="last",
        text_max_length=1024,
        default_fusion="native",
        prompts={
            "text": "Find a video that contains the following visual content: {text}",
            "video": "{video} Understand the content of the provided video.",
            "composed": "{video} Find the clip that corresponds to the given sentence and video segment: {text}",
        },
        options=dict(_QWEN2_FRAMES),
        checkpoints=("TIGER-Lab/VLM2Vec-Qwen2VL-2B", "TIGER-Lab/VLM2Vec-Qwen2VL-7B", "VLM2Vec/VLM2Vec-V2.0"),
        notes="MMEB-V2 video prompts; VLM2Vec-V2.0 is published as LoRA weights: load a merged checkpoint",
    ),
    # LamRA-Ret (code-kunkun/LamRA-Ret on Qwen2-VL-7B, LamRA-Ret-Qwen2.5VL-7b). Reference: Code-kunkun/LamRA
    # dataset/datasets_msrvtt.py and datasets_circo.py: chat-template messages (Qwen2-VL's default system
    # prompt) whose user turn ends with '\nSummarize above sentence|video|video and sentence in one word: '
    # and whose assistant turn is '<emb>.'; the embedding is the hidden state just before <emb>
    # (demo.py `get_embed_feature`: index - 1), i.e. the last token of '<|im_start|>assistant\n'.
    # Text queries carry 'Find an everyday video match with caption.'; the composed instruction adapts
    # CIRCO's 'I'm looking for a similar everyday image with the described changes.' to video.
    # Video: qwen-vl-utils at 2 fps with LamRA's bounds (collators/qwen2_vision_process.py).
    AdapterPreset(
        name="lamra",
        adapter="mllm_embedder",
        patterns=("code-kunkun/LamRA-Ret*",),
        model_types=_QWEN2_VL,
        match_model_type=False,
        frames=16,
        pooling="last",
        text_max_length=1024,
        default_fusion="native",
        prompts={
            "text": _chat(
                "You are a helpful assistant.",
                "Find an everyday video match with caption. {text}\nSummarize above sentence in one word: ",
            ),
            "video": _chat(
                "You are a helpful assistant.",
                "<|vision_start|>{video}<|vision_end|>\nSummarize above video in one word: ",
            ),
            "composed": _chat(
                "You are a helpful assistant.",
                "<|vision_start|>{video}<|vision_end|>I'm looking for a similar everyday video with the described "
                "changes. {text}\nSummarize above video and sentence in one word: ",
            ),
        },
        options={
            "frame_min_pixels": 128 * 28 * 28,
            "frame_max_pixels": 768 * 28 * 28,
            "total_pixels": 24576 * 28 * 28,
            "nominal_fps": 2.0,
        },
        checkpoints=("code-kunkun/LamRA-Ret", "code-kunkun/LamRA-Ret-Qwen2.5VL-7b"),
        notes="'Summarize ... in one word' prompts; embedding = the token before <emb>",
    ),
    # Qwen3-VL-Embedding (Qwen/Qwen3-VL-Embedding-2B/8B). Reference: QwenLM/Qwen3-VL-Embedding
    # src/models/qwen3_vl_embedding.py `Qwen3VLEmbedder`: system = the instruction (default "Represent the
    # user's input."), user = videos then text, chat template with the generation prompt, last-token
    # pooling (right padding), FPS = 1, frames bounded by FRAME_MAX_PIXELS = 768*32*32 within
    # MAX_TOTAL_PIXELS = 10 * that per video; the MMEB-V2 instructions of
    # src/evaluation/mmeb_v2/data/datasets/msrvtt_dataset.py (queries) and momentseeker_dataset.py
    # (video + text queries); 64 frames (scripts/evaluation/mmeb_v2/video_retrieval.yaml).
    AdapterPreset(
        name="qwen3-vl-embedding",
        adapter="mllm_embedder",
        patterns=("Qwen/Qwen3-VL-Embedding-*",),
        model_types=("qwen3_vl",),
        match_model_type=False,
        frames=64,
        pooling="last",
        text_max_length=1024,
        default_fusion="native",
        prompts={
            "text": _chat("Find a video that contains the following visual content.", "{text}"),
            "video": _chat("Represent the user's input.", "{video}"),
            "composed": _chat("Find the clip that corresponds to the given sentence and video segment.", "{video}{text}"),
        },
        options={
            "frame_min_pixels": 4 * 32 * 32,
            "frame_max_pixels": 768 * 32 * 32,
            "total_pixels": 10 * 768 * 32 * 32,
            "nominal_fps": 1.0,
            "video_layout": "qwen3",
        },
        checkpoints=("Qwen/Qwen3-VL-Embedding-2B", "Qwen/Qwen3-VL-Embedding-8B"),
        notes="system-prompt instructions, timestamped video tokens, last-token pooling",
    ),
)
