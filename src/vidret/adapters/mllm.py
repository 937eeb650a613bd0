"""Multimodal-LLM embedders on Qwen2-VL / Qwen2.5-VL / Qwen3-VL backbones (GME, VLM2Vec, LamRA,
Qwen3-VL-Embedding): an instruction prompt around the input, one forward pass of the language
model, and the hidden state of the last token (or of the EOS token) as the embedding.

Videos go in as the model's native video input (`pixel_values_videos` + `video_grid_thw`, built
by `vidret.adapters.qwen_video` from frames decoded by `vidret.video`). A composed query (query
video + modification text) is ONE prompt holding both, embedded in one forward pass: the
`native` fusion, the default of these presets (late fusions stay available).

Each preset names its prompt templates (`AdapterPreset.prompts`, keys "text", "video",
"composed"; placeholders `{text}` and `{video}`), its pooling ("last" or "eos") and its frame
count; `options` hold the frame pixel budget (`frame_min_pixels`, `frame_max_pixels`,
`total_pixels`), `nominal_fps` and `video_layout` (see below).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from vidret.adapters.base import check_texts
from vidret.adapters.preprocess import FrameTransform
from vidret.adapters.qwen_video import QwenVideoInput
from vidret.adapters.transformers_base import TransformersAdapter, batched

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vidret.adapters.loading import LoadOptions
    from vidret.adapters.presets import AdapterPreset

logger = logging.getLogger(__name__)

PROMPT_KINDS = ("text", "video", "composed")
SEQUENCE_POOLING = ("last", "eos")
#: "qwen2": `{video}` becomes the video tokens alone (Qwen2-VL, Qwen2.5-VL: the template adds
#: <|vision_start|>/<|vision_end|> where the family does). "qwen3": one "<t seconds>" timestamp and
#: a <|vision_start|>...<|vision_end|> block per temporal patch, as Qwen3-VL's processor writes them.
VIDEO_LAYOUTS = ("qwen2", "qwen3")
VIDEO_TOKEN = "<|video_pad|>"
VISION_START, VISION_END = "<|vision_start|>", "<|vision_end|>"
# mm_token_type_ids values the Qwen-VL rope index expects: text 0, image 1, video 2.
_VIDEO_TYPE = 2


def check_prompts(name: str, prompts: Mapping[str, str]) -> None:
    """Raise unless `prompts` has a template per kind with the placeholders it needs.

    Raises:
        ValueError: naming the preset, the kind and the missing placeholder.
    """
    needs = {"text": ("{text}",), "video": ("{video}",), "composed": ("{video}", "{text}")}
    for kind in PROMPT_KINDS:
        template = prompts.get(kind)
        if not isinstance(template, str):
            raise ValueError(f"preset {name!r}: prompts must include a {kind!r} template")
        for placeholder in needs[kind]:
            if template.count(placeholder) != 1:
                raise ValueError(f"preset {name!r}: the {kind!r} prompt must hold {placeholder} exactly once")


class MllmEmbedderAdapter(TransformersAdapter):
    """Instruction prompt -> language model -> last-token (or EOS) hidden state.

    Args:
        model: a Qwen2-VL-family base model (`Qwen2VLModel`, `Qwen2_5_VLModel`, `Qwen3VLModel`).
        tokenizer: its tokenizer (with the <|video_pad|>, <|vision_start|>, ... special tokens).
        video_input: how frames become `pixel_values_videos`.
        prompts: templates per input kind (see the module docstring).
        pooling: "last" (the last non-padding position) or "eos" (the last occurrence of
            `eos_token`, which the template must hold: the check catches a template or a
            tokenizer that lost it).
        eos_token: the token "eos" pooling reads (None = the tokenizer's EOS token).
        video_layout: "qwen2" or "qwen3" (see `VIDEO_LAYOUTS`).
        nominal_fps: frames per second the sampled frames are assumed to be apart, for the model's
            temporal positions (Qwen2.5-VL `second_per_grid_ts`, Qwen3-VL timestamps). vidret
            samples a fixed number of frames per clip and the adapter does not see the clip's
            duration, so this is the preset's reference rate, not the clip's true one.
        **kwargs: the remaining `TransformersAdapter` arguments.

    Raises:
        ValueError: bad prompts, pooling or layout; a tokenizer without the video tokens.
    """

    native_fusion = True

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        video_input: QwenVideoInput,
        *,
        prompts: Mapping[str, str],
        pooling: str = "last",
        video_layout: str = "qwen2",
        nominal_fps: float = 2.0,
        eos_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        check_prompts(str(kwargs.get("preset")), prompts)
        if pooling not in SEQUENCE_POOLING:
            raise ValueError(f"unknown sequence pooling {pooling!r}; choose one of {', '.join(SEQUENCE_POOLING)}")
        if video_layout not in VIDEO_LAYOUTS:
            raise ValueError(f"unknown video_layout {video_layout!r}; choose one of {', '.join(VIDEO_LAYOUTS)}")
        if not nominal_fps > 0:
            raise ValueError(f"nominal_fps must be positive, got {nominal_fps}")
        # Frames are decoded at their native size: the resize depends on the aspect ratio.
        super().__init__(model, tokenizer, FrameTransform(resize_mode="none"), **kwargs)
        self.video_input = video_input
        self.prompts = dict(prompts)
        self.pooling = pooling
        self.video_layout = video_layout
        self.nominal_fps = float(nominal_fps)
        self.video_token_id = tokenizer.get_vocab().get(VIDEO_TOKEN)
        if self.video_token_id is None:
            raise ValueError(f"the tokenizer of {self.model_id!r} has no {VIDEO_TOKEN} token: not a Qwen-VL tokenizer")
        config_video_id = getattr(model.config, "video_token_id", None)
        if config_video_id is not None and config_video_id != self.video_token_id:
            raise ValueError(
                f"{self.model_id!r}: the tokenizer's {VIDEO_TOKEN} id {self.video_token_id} differs from the config's "
                f"video_token_id {config_video_id}"
            )
        self.eos_token = eos_token or tokenizer.eos_token
        vocab = tokenizer.get_vocab()
        # (Qwen's unk token is <|endoftext|> itself, so "not unk" cannot be the test.)
        self.eos_token_id = vocab.get(self.eos_token) if self.eos_token else None
        if pooling == "eos" and self.eos_token_id is None:
            raise ValueError(f"pooling 'eos': the tokenizer of {self.model_id!r} has no {self.eos_token!r} token")
        self._accepts_seconds = "second_per_grid_ts" in _forward_parameters(model)

    # ---- prompts ------------------------------------------------------------------------------
    def clip_text(self, text: str) -> str:
        """`text` cut to `text_max_length` tokens (the template around it is never cut)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) <= self.text_max_length:
            return text
        return self.tokenizer.decode(ids[: self.text_max_length])

    def video_tokens(self, grid: tuple[int, int, int]) -> str:
        """The placeholder text one video of patch grid `grid` takes in the prompt."""
        t, h, w = grid
        per_step = h * w // self.video_input.merge_size**2
        if self.video_layout == "qwen2":
            return VIDEO_TOKEN * (t * per_step)
        # Qwen3-VL: a timestamp per temporal patch, the mean time of the frames it merges.
        step = self.video_input.temporal_patch_size / self.nominal_fps
        blocks = []
        for i in range(t):
            seconds = (i * step) + (self.video_input.temporal_patch_size - 1) / (2 * self.nominal_fps)
            blocks.append(f"<{seconds:.1f} seconds>{VISION_START}{VIDEO_TOKEN * per_step}{VISION_END}")
        return "".join(blocks)

    def prompt(self, kind: str, text: str | None = None, grid: tuple[int, int, int] | None = None) -> str:
        """The full prompt for one input (`kind` in "text", "video", "composed")."""
        template = self.prompts[kind]
        if grid is not None:
            template = template.replace("{video}", self.video_tokens(grid))
        if text is not None:  # last, so a caption holding "{video}" stays literal
            template = template.replace("{text}", self.clip_text(text))
        return template

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        texts = check_texts(texts)
        if not texts:
            return []
        ids = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [len(seq) > self.text_max_length for seq in ids]

    # ---- the forward pass ---------------------------------------------------------------------
    def _run(self, prompts: list[str], videos: list["np.ndarray"] | None) -> "torch.Tensor":
        """Embed a batch of prompts (each holding one video's tokens when `videos` is given)."""
        import numpy as np
        import torch

        kwargs: dict[str, Any] = {}
        grids = None
        if videos is not None:
            patched = [self.video_input(torch.from_numpy(np.ascontiguousarray(v)).to(self.device)) for v in videos]
            grids = [g for _, g in patched]
            kwargs["pixel_values_videos"] = torch.cat([p for p, _ in patched]).to(self.dtype)
            kwargs["video_grid_thw"] = torch.tensor(grids, dtype=torch.long, device=self.device)
            if self._accepts_seconds:  # Qwen2.5-VL's temporal positions
                seconds = self.video_input.temporal_patch_size / self.nominal_fps
                kwargs["second_per_grid_ts"] = torch.full((len(videos),), seconds, device=self.device)
        enc = self.tokenizer(prompts, padding="longest", padding_side="right", return_tensors="pt")
        input_ids = enc["input_ids"].to(self.device)
        attention = enc["attention_mask"].to(self.device)
        if videos is not None:
            kwargs["mm_token_type_ids"] = (input_ids == self.video_token_id).long() * _VIDEO_TYPE
        hidden = self.model(input_ids=input_ids, attention_mask=attention, use_cache=False, **kwargs).last_hidden_state
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), self.pool_positions(input_ids, attention)]

    def pool_positions(self, input_ids: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
        """Per row, the position whose hidden state is the embedding.

        "last": the last non-padding token (any padding side). "eos": the last EOS token.

        Raises:
            ValueError: "eos" pooling on a row without an EOS token (a template that does not end with it).
        """
        import torch

        positions = torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
        if self.pooling == "last":
            return (positions * attention_mask.long()).max(dim=1).values
        is_eos = (input_ids == self.eos_token_id) & attention_mask.bool()
        if not is_eos.any(dim=1).all():
            raise ValueError(
                f"pooling 'eos': a prompt of preset {self.preset!r} has no {self.eos_token!r} token; its template must hold one"
            )
        return torch.where(is_eos, positions, torch.full_like(positions, -1)).max(dim=1).values

    # ---- the adapter interface ----------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> "torch.Tensor":
        import torch

        texts = check_texts(texts)
        if not texts:
            return torch.empty(0, self.embedding_dim)
        self.num_truncated_texts += sum(self.truncated(texts))
        out = []
        with torch.inference_mode():
            for chunk in batched(texts, self.batch_size):
                out.append(self.finalize(self._run([self.prompt("text", text=t) for t in chunk], None)))
        return torch.cat(out)

    def embed_clips(self, clips: Sequence["np.ndarray"]) -> "torch.Tensor":
        grids = [self._grid(clip) for clip in clips]
        return self._run([self.prompt("video", grid=g) for g in grids], list(clips))

    def embed_composed(self, clips: Sequence["np.ndarray"], texts: Sequence[str]) -> "torch.Tensor":
        import torch

        if not clips:
            return torch.empty(0, self.embedding_dim)
        self.num_truncated_texts += sum(self.truncated(texts))
        out = []
        with torch.inference_mode():
            for start in range(0, len(clips), self.batch_size):
                chunk = list(clips[start : start + self.batch_size])
                chunk_texts = texts[start : start + self.batch_size]
                prompts = [self.prompt("composed", text=t, grid=self._grid(c)) for c, t in zip(chunk, chunk_texts)]
                out.append(self._run(prompts, chunk))
        return torch.cat(out)

    def _grid(self, clip: "np.ndarray") -> tuple[int, int, int]:
        return self.video_input.grid(*clip.shape[:3])

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(
            {
                "resolution": None,  # per clip: smart_resize within the pixel budget below
                "preprocessing": self.video_input.describe(),
                "pooling": self.pooling,
                "eos_token": self.eos_token if self.pooling == "eos" else None,
                "prompts": dict(self.prompts),
                "video_layout": self.video_layout,
                "nominal_fps": self.nominal_fps,
            }
        )
        return info


def _forward_parameters(model: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return set()


def load_base_model(
    chosen: "AdapterPreset", model: str, revision: str | None, config_dict: Mapping[str, Any], trust_remote_code: bool
) -> Any:
    """Load the checkpoint's base model (no LM head).

    The published embedders are saved as `...ForConditionalGeneration`; embeddings need only the
    base model's hidden states, so its `lm_head` weights (vocabulary x width: 0.2-0.5 G parameters)
    are skipped on purpose. transformers reports them as unexpected: that report is silenced and
    checked here instead, so any other missing or unexpected weight is still logged as a warning.
    """
    from transformers.utils import logging as hf_logging

    from vidret.adapters.loading import load_model_class

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        loaded, info = load_model_class(chosen, config_dict).from_pretrained(
            model, revision=revision, trust_remote_code=trust_remote_code, output_loading_info=True
        )
    finally:
        hf_logging.set_verbosity(level)
    unexpected = [k for k in info.get("unexpected_keys", ()) if not k.startswith("lm_head.")]
    missing = list(info.get("missing_keys", ()))
    if unexpected or missing:
        logger.warning(
            "%s: weights not loaded as expected (missing: %s; unexpected: %s)", model, missing[:5], unexpected[:5]
        )
    return loaded


def _video_processor_dict(model: str, revision: str | None) -> dict[str, Any] | None:
    """The checkpoint's `video_preprocessor_config.json`, else its `preprocessor_config.json`, else None."""
    from huggingface_hub.errors import EntryNotFoundError
    from transformers.utils import cached_file

    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        try:
            path = cached_file(model, name, revision=revision, _raise_exceptions_for_missing_entries=False)
        except (OSError, EntryNotFoundError):
            path = None
        if path:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
    return None


def build_mllm_adapter(
    chosen: "AdapterPreset", model: str, revision: str | None, config_dict: Mapping[str, Any], options: "LoadOptions"
) -> MllmEmbedderAdapter:
    """An `MllmEmbedderAdapter` for a Qwen2-VL-family checkpoint and an "mllm_embedder" preset.

    Raises:
        ValueError: a preset or override the adapter cannot use (the flag is named).
    """
    from transformers import AutoConfig, AutoTokenizer

    from vidret.adapters.loading import RANDOM_WEIGHTS_KEY

    trust = options.trust_remote_code
    config = AutoConfig.from_pretrained(model, revision=revision, trust_remote_code=trust)
    video_input = QwenVideoInput.from_config(
        _video_processor_dict(model, revision), getattr(config, "vision_config", None), chosen.options, options.resolution
    )
    max_len = getattr(getattr(config, "text_config", None) or config, "max_position_embeddings", None)
    text_len = options.text_max_length or chosen.text_max_length or 512
    if max_len is not None and text_len > max_len:
        raise ValueError(
            f"text length {text_len} exceeds what {model!r} supports ({max_len} positions): use --text-max-length {max_len}"
        )
    layout = chosen.options.get("video_layout") or ("qwen3" if str(config_dict.get("model_type", "")).startswith("qwen3") else "qwen2")
    tokenizer = AutoTokenizer.from_pretrained(model, revision=revision, trust_remote_code=trust)
    loaded = load_base_model(chosen, model, revision, config_dict, trust)
    return MllmEmbedderAdapter(
        loaded,
        tokenizer,
        video_input,
        prompts=chosen.prompts,
        pooling=chosen.pooling,
        video_layout=layout,
        nominal_fps=float(chosen.options.get("nominal_fps", 2.0)),
        eos_token=chosen.options.get("eos_token"),
        model_id=model,
        revision=revision,
        preset=chosen.name,
        num_frames=int(options.frames or chosen.frames or 8),
        text_max_length=int(text_len),
        default_fusion=options.fusion or chosen.default_fusion,
        device=options.device,
        dtype=options.dtype,
        batch_size=options.batch_size,
        random_weights=bool(config_dict.get(RANDOM_WEIGHTS_KEY, False)),
    )
