"""Tiny random-weight checkpoints of real architectures, saved as complete local model folders.

No machine of ours reaches the Hub, yet the adapters must be exercised through the exact code
path of a real checkpoint (`load_adapter(path)` -> AutoConfig/AutoModel/AutoTokenizer/processor
config). Each builder writes config.json (flagged `vidret_random_weights: true`), safetensors
weights from a fixed seed, tokenizer files, the image processor config when the family has one,
and a README saying the weights are random. Building takes a fraction of a second.

Used by the tests, `vidret demo` and the benchmarks. Embeddings from these models are
meaningless except as a plumbing check; every result made with them says `random_weights`.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, Iterator

from vidret.adapters.loading import PRESET_KEY, RANDOM_WEIGHTS_KEY

SEED = 0
IMAGE_SIZE = 32
PATCH_SIZE = 8
TEXT_POSITIONS = 32
SIGLIP_TEXT_POSITIONS = 16
XCLIP_FRAMES = 4
VIDEOPRISM_FRAMES = 4

_TOWER = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2)

# A few words so the SentencePiece models learn pieces that cover captions like the samples'.
_CORPUS = (
    "a video of a person doing a back flip on the beam",
    "the gymnast turns twice and lands on the floor",
    "a diver jumps from the platform with two twists",
    "red blue green yellow ball dog cat man woman runs walks",
    "then the camera shows the crowd in the stadium at night",
)


def _readme(family: str) -> str:
    return (
        f"# Tiny random-weight {family} (built by vidret.testing.tiny)\n\n"
        "RANDOM WEIGHTS: this checkpoint has the real architecture at toy size, initialised from a fixed "
        "seed. It exists to test the vidret pipeline offline; its embeddings carry no meaning.\n"
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence transformers' save/load progress bars and logging while building."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if was_enabled:
            hf_logging.enable_progress_bar()


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes (GPT-2/CLIP convention)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def _clip_tokenizer() -> Any:
    """A CLIP BPE tokenizer with the real layout (bytes, bytes+</w>, specials) and no merges."""
    from transformers import CLIPTokenizer

    symbols = _byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({s + "</w>": 256 + i for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=TEXT_POSITIONS)


def _clip_text_config(tok: Any) -> dict[str, Any]:
    """The tiny CLIP-style text tower shared by the CLIP and X-CLIP builders."""
    return dict(
        vocab_size=len(tok),
        num_hidden_layers=2,
        max_position_embeddings=TEXT_POSITIONS,
        # CLIP's text pooler picks the eos position: these ids must be the tokenizer's.
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **_TOWER,
    )


def _clip_processor() -> Any:
    """CLIP's shortest-edge resize + centre crop at the tiny input size."""
    from transformers import CLIPImageProcessorPil

    return CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


def _sentencepiece_model(vocab_size: int = 64) -> bytes:
    """A unigram SentencePiece model trained in memory (pad=0, eos=1, unk=2, no bos)."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_CORPUS * 4),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    return buf.getvalue()


def _save(model: Any, tokenizer: Any, processor: Any, out: Path, family: str, preset: str | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    setattr(model.config, RANDOM_WEIGHTS_KEY, True)  # read back by load_adapter -> describe()
    if preset is not None:  # backbones shared by several families say which one they stand for
        setattr(model.config, PRESET_KEY, preset)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if processor is not None:
        processor.save_pretrained(out)
    (out / "README.md").write_text(_readme(family), encoding="utf-8")
    return out


def build_tiny_clip(directory: str | Path) -> Path:
    """Save a tiny random CLIPModel (32x32 input, 16-d embeddings, 32 text positions).

    Args:
        directory: folder to write (created if missing).

    Returns:
        The folder, loadable with `load_adapter(path)`.
    """
    import torch
    from transformers import CLIPConfig, CLIPModel

    with _quiet():
        tok = _clip_tokenizer()
        config = CLIPConfig(
            text_config=_clip_text_config(tok),
            vision_config=dict(image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, num_hidden_layers=2, **_TOWER),
            projection_dim=16,
        )
        torch.manual_seed(SEED)
        model = CLIPModel(config)
        return _save(model, tok, _clip_processor(), Path(directory), "CLIP")


def build_tiny_siglip(directory: str | Path) -> Path:
    """Save a tiny random SiglipModel (32x32 input, 16 text positions, SentencePiece tokenizer).

    Args:
        directory: folder to write (created if missing).

    Returns:
        The folder, loadable with `load_adapter(path)`.
    """
    import torch
    from transformers import SiglipConfig, SiglipImageProcessorPil, SiglipModel, SiglipTokenizer

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    with _quiet():
        spm_path = out / "spiece.model"
        spm_path.write_bytes(_sentencepiece_model())
        tok = SiglipTokenizer(vocab_file=str(spm_path), model_max_length=SIGLIP_TEXT_POSITIONS)
        config = SiglipConfig(
            text_config=dict(
                vocab_size=len(tok),
                num_hidden_layers=2,
                max_position_embeddings=SIGLIP_TEXT_POSITIONS,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
                bos_token_id=None,
                **_TOWER,
            ),
            vision_config=dict(image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, num_hidden_layers=2, **_TOWER),
        )
        torch.manual_seed(SEED)
        model = SiglipModel(config)
        processor = SiglipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
        return _save(model, tok, processor, out, "SigLIP")


def build_tiny_xclip(directory: str | Path) -> Path:
    """Save a tiny random XCLIPModel (4 frames of 32x32, 16-d embeddings, CLIP tokenizer).

    Args:
        directory: folder to write (created if missing).

    Returns:
        The folder, loadable with `load_adapter(path)`.
    """
    import torch
    from transformers import XCLIPConfig, XCLIPModel

    with _quiet():
        tok = _clip_tokenizer()
        config = XCLIPConfig(
            text_config=_clip_text_config(tok),
            vision_config=dict(
                image_size=IMAGE_SIZE,
                patch_size=PATCH_SIZE,
                num_hidden_layers=2,
                num_frames=XCLIP_FRAMES,
                # X-CLIP's cross-frame transformer runs on projected embeddings: sizes must agree.
                mit_hidden_size=16,
                mit_intermediate_size=32,
                mit_num_hidden_layers=1,
                mit_num_attention_heads=2,
                **_TOWER,
            ),
            projection_dim=16,
            prompt_layers=1,
            prompt_num_attention_heads=2,
        )
        torch.manual_seed(SEED)
        model = XCLIPModel(config)
        return _save(model, tok, _clip_processor(), Path(directory), "X-CLIP")


def build_tiny_videoprism(directory: str | Path) -> Path:
    """Save a tiny random VideoPrismClipModel (4 frames of 32x32, 16 text positions).

    Like the real checkpoints it ships no image processor config: frames are resized to the
    model's size and rescaled to [0, 1] without mean/std normalisation.

    Args:
        directory: folder to write (created if missing).

    Returns:
        The folder, loadable with `load_adapter(path)`.
    """
    import sentencepiece as spm
    import torch
    from transformers import VideoPrismClipModel, VideoPrismConfig, VideoPrismTokenizer

    with _quiet():
        proc = spm.SentencePieceProcessor(model_proto=_sentencepiece_model())
        pieces = [(proc.id_to_piece(i), float(proc.get_score(i))) for i in range(3, proc.get_piece_size())]
        vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *pieces]
        tok = VideoPrismTokenizer(vocab=vocab, extra_ids=0, model_max_length=SIGLIP_TEXT_POSITIONS)
        config = VideoPrismConfig(
            vision_config=dict(
                image_size=IMAGE_SIZE,
                num_frames=VIDEOPRISM_FRAMES,
                tubelet_size=(1, PATCH_SIZE, PATCH_SIZE),
                num_spatial_layers=1,
                num_temporal_layers=1,
                num_auxiliary_layers=1,
                **_TOWER,
            ),
            text_config=dict(
                vocab_size=len(tok),
                num_hidden_layers=1,
                max_position_embeddings=SIGLIP_TEXT_POSITIONS,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
                **_TOWER,
            ),
        )
        torch.manual_seed(SEED)
        model = VideoPrismClipModel(config)
        return _save(model, tok, None, Path(directory), "VideoPrism")


def _word_vocab() -> list[str]:
    """The distinct lower-case words of `_CORPUS` (a WordPiece vocabulary for tiny BERT tokenizers)."""
    words = sorted({w for line in _CORPUS for w in line.split()})
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]


def build_tiny_blip2(directory: str | Path) -> Path:
    """Save a tiny random `Blip2ForImageTextRetrieval` (32x32 input, 4 query tokens, 16-d ITC space).

    The Q-Former encodes the texts with a BERT WordPiece tokenizer (the corpus words), like the
    real checkpoints' bert-base-uncased one; the config sets `vidret_preset: blip2` (the blip-2
    model type also covers captioning checkpoints, so the type alone picks no preset).

    Args:
        directory: folder to write (created if missing).

    Returns:
        The folder, loadable with `load_adapter(path)`.
    """
    import torch
    from transformers import BertTokenizer, Blip2Config, Blip2ForImageTextRetrieval, BlipImageProcessorPil

    with _quiet():
        vocab = _word_vocab()
        tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, model_max_length=TEXT_POSITIONS)
        config = Blip2Config(
            vision_config=dict(image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, num_hidden_layers=2, **_TOWER),
            qformer_config=dict(
                num_hidden_layers=2,
                vocab_size=len(vocab),
                max_position_embeddings=TEXT_POSITIONS,
                pad_token_id=tok.pad_token_id,
                encoder_hidden_size=_TOWER["hidden_size"],
                # The retrieval model's Q-Former runs text through its own layers: without this the
                # forward fails (`no attribute 'intermediate'`).
                use_qformer_text_input=True,
                **_TOWER,
            ),
            text_config=dict(
                model_type="opt", vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, ffn_dim=64, num_attention_heads=2
            ),
            num_query_tokens=4,
            image_text_hidden_size=16,
        )
        torch.manual_seed(SEED)
        model = Blip2ForImageTextRetrieval(config)
        processor = BlipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
        return _save(model, tok, processor, Path(directory), "BLIP-2 retrieval", preset="blip2")


def build_tiny_mllm_embedder(directory: str | Path, preset: str = "gme", backbone: str | None = None) -> Path:
    """A tiny Qwen-VL MLLM embedder (GME, VLM2Vec, LamRA, Qwen3-VL-Embedding presets); see
    `vidret.testing.tiny_mllm.build_tiny_mllm_embedder`, where it lives."""
    from vidret.testing.tiny_mllm import build_tiny_mllm_embedder as build

    return build(directory, preset=preset, backbone=backbone)


TINY_BUILDERS = {
    "clip": build_tiny_clip,
    "siglip": build_tiny_siglip,
    "xclip": build_tiny_xclip,
    "videoprism": build_tiny_videoprism,
    "blip2": build_tiny_blip2,
    "gme": build_tiny_mllm_embedder,
}
