"""`vidret evaluate`: score an embedding model on a registered benchmark (one process, or many under
`accelerate launch -m vidret evaluate ...` / `torchrun -m vidret evaluate ...`)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from vidret.cli.argtypes import int_at_least, int_in_range, positive_float  # noqa: F401  (int_at_least: other commands)

if TYPE_CHECKING:
    from vidret.evaluation.running.runner import EvalSettings


def default_cache_dir() -> str:
    """``$VIDRET_CACHE``, else ``$XDG_CACHE_HOME/vidret/embeddings`` (``~/.cache/...``)."""
    if os.environ.get("VIDRET_CACHE"):
        return os.environ["VIDRET_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "vidret" / "embeddings")


def _benchmark_help() -> str:
    from vidret.benchmarks import registered

    return ", ".join(registered()) + " (`vidret benchmarks` lists them, installed plug-ins included)"


def _task_help() -> str:
    from vidret.benchmarks import BENCHMARKS

    parts = []
    for name, spec in BENCHMARKS.items():
        optional = [t for t in spec.tasks if t not in spec.default_tasks()]
        parts.append(f"{name}: {','.join(spec.default_tasks())}" + (f" (optional: {','.join(optional)})" if optional else ""))
    return "default: all non-optional tasks; " + "; ".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The evaluate options (shared with anything that wraps the runner)."""
    # Light modules (no torch): the choices live next to the code that uses them.
    from vidret.adapters.frame_pooling import POOLING_CHOICES
    from vidret.benchmarks import PROTOCOLS, VIDRET_PROTOCOL
    from vidret.adapters.transformers_base import DTYPE_CHOICES

    parser.add_argument("--benchmark", required=True, help=f"which benchmark: {_benchmark_help()}")
    parser.add_argument("--data", required=True, help="built dataset repo: local folder or Hub dataset id")
    parser.add_argument("--revision", default=None, help="dataset revision (Hub tag or commit)")
    parser.add_argument("--split", default="test", help="dataset split (default: test)")
    parser.add_argument(
        "--model", default=None,
        help="Hub model id, local model folder, 'oracle' or 'oracle-shuffled' (required unless --embeddings gives every side)",
    )
    parser.add_argument("--model-revision", default=None, help="model revision (Hub commit or tag)")
    parser.add_argument("--adapter", dest="preset", default=None, help="adapter preset (default: from the model id/config)")
    parser.add_argument("--tasks", default=None, help=f"comma-separated task ids; {_task_help()}")
    parser.add_argument(
        "--protocol", default=VIDRET_PROTOCOL, choices=PROTOCOLS,
        help="vidret (default: the official code's defects fixed) or official (what the paper's evaluation code "
        "computes, to compare with the papers; `vidret benchmarks` says what it changes for each benchmark). "
        "Recorded in the results; never mixed on the Hub",
    )
    parser.add_argument(
        "--frames", type=int_in_range(1, "vidret.video.timeline:MAX_FRAMES"), default=None,
        help="N frames per clip, uniformly spaced (default: the preset's); or pick frames with --fps / --frame-stride",
    )
    parser.add_argument(
        "--fps", type=positive_float("vidret.video.timeline:MAX_SAMPLE_FPS"), default=None, metavar="R",
        help="instead of --frames: R frames per second of video (the official scripts read frames densely)",
    )
    parser.add_argument(
        "--frame-stride", type=int_in_range(1, "vidret.video.timeline:MAX_FRAME_STRIDE"), default=None, metavar="S", help="instead of --frames: every S-th frame",
    )
    parser.add_argument(
        "--max-frames", type=int_in_range(1, "vidret.video.timeline:MAX_FRAMES"), default=None, metavar="M",
        help="with --fps / --frame-stride: at most M frames per clip (evenly thinned)",
    )
    parser.add_argument(
        "--resolution", type=int_in_range(1, "vidret.adapters.preprocess:MAX_RESOLUTION"), default=None, metavar="N",
        help="square model input in pixels, e.g. 336 (default: the preset's, else the checkpoint's processor size)",
    )
    parser.add_argument(
        "--pooling", default=None, choices=POOLING_CHOICES,
        help="pooling over a clip's frames, frame-pooling models only (default: the preset's)",
    )
    parser.add_argument(
        "--text-max-length", type=int_in_range(2, "vidret.evaluation.running.limits:MAX_TEXT_MAX_LENGTH"), default=None, metavar="N",
        help="tokens kept per text, at most the model's maximum (default: the preset's, capped by the model)",
    )
    parser.add_argument(
        "--dtype", default=None, choices=DTYPE_CHOICES, help="compute dtype (default: bf16 on CUDA, fp32 on CPU)"
    )
    parser.add_argument(
        "--batch-size", type=int_in_range(1, "vidret.evaluation.running.limits:MAX_BATCH_SIZE"), default=16,
        help="clips/texts per forward pass (default 16)",
    )
    parser.add_argument(
        "--batch-memory", type=positive_float("vidret.evaluation.running.limits:MAX_BATCH_MEMORY_GIB"), default=None, metavar="GIB",
        help="GiB the video frames of one batch may take, decoded plus model input (default 2): a batch is cut "
        "short rather than pass it, and a clip that cannot fit alone is a counted failure",
    )
    parser.add_argument(
        "--fusion",
        default=None,
        help="composed-query fusion: avg, sum, weighted:<alpha>, text, video, or native (the model embeds the query "
        "video and the modification text in one forward pass; MLLM-embedder presets, where it is the default)",
    )
    parser.add_argument(
        "--long-video", default="clips",
        help="how a benchmark's full videos are embedded: 'clips' (default: each of the video's own clips, "
        "aggregated), 'window:<seconds>' (fixed windows of the file, aggregated) or 'concat' (all its clips' frames "
        "as one input, a --frame-stride running on across clips: the construction an official protocol may declare)",
    )
    parser.add_argument("--aggregate", default="mean", choices=("mean", "max"), help="segment aggregation (default mean)")
    parser.add_argument("--cache-dir", default=None, help=f"embedding cache (default: {default_cache_dir()})")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    parser.add_argument("--output", default="results.json", help="results JSON path (default results.json)")
    parser.add_argument(
        "--limit", type=int_in_range(1, "vidret.evaluation.running.limits:MAX_LIMIT"), default=None,
        help="smoke tests: the first N of the benchmark's units (full videos with their clips, or queries)",
    )
    parser.add_argument("--strict", action="store_true", help="a video that fails to decode stops the run")
    parser.add_argument("--num-workers", type=int_in_range(0, "vidret.evaluation.running.limits:MAX_NUM_WORKERS"), default=2, help="DataLoader decode workers (default 2)")
    parser.add_argument("--decode-mode", default="exact", choices=("exact", "keyframe"), help="frame sampling mode")
    parser.add_argument("--video-root", default=None, help="folder with the videos of an annotations-only repo")
    parser.add_argument(
        "--allow-external-videos", action="store_true",
        help="read videos the dataset names outside its repo / --video-root (other URLs, absolute paths); "
        "off by default, so an untrusted dataset cannot make requests or open local files (recorded)",
    )
    parser.add_argument("--device", default=None, help="torch device (default: the process's accelerate device)")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow models whose code lives on the Hub")
    stored = parser.add_argument_group(
        "stored embeddings",
        "Score embeddings that were already made, without decoding a video: an export of `vidret embeddings "
        "export` (folder or Hub dataset org/name[@revision]) or released files (a folder of <id>.pth, a .pt/.pth "
        "dict id -> tensor, .safetensors, .npy + <stem>.ids.txt, or a .pkl stream with --allow-pickle). Ids match "
        "the dataset's video/clip ids (a file name or path matches by its stem); texts match by the text or its "
        "content id.",
    )
    stored.add_argument(
        "--embeddings", action="append", default=None, metavar="[SIDE=]SRC",
        help="SRC gives every side (texts and videos; no --model); videos=SRC, texts=SRC or composed=SRC gives "
        "one side and --model embeds the rest. Repeatable. The results record each side's source and checksums.",
    )
    stored.add_argument(
        "--allow-pickle", action="store_true",
        help="let --embeddings read a .pkl stream: unpickling RUNS CODE from the file; it is converted once into "
        ".safetensors under the cache folder, which later runs read",
    )
    stored.add_argument(
        "--embeddings-pool", default=None, choices=("mean",),
        help="average stored per-frame (T, D) / per-token (T, Q, D) tensors into one vector (default: such rows are an error)",
    )


class FlagSafeHelpFormatter(argparse.HelpFormatter):
    """argparse's help formatter, wrapping lines at spaces only.

    The default wrap also breaks after a hyphen, which splits a flag such as ``--text-max-length``
    across two lines ("--text-" / "max-length"): nobody can search the help for it or copy it.
    """

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(self._whitespace_matcher.sub(" ", text).strip(), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `evaluate` subcommand to the `vidret` parser."""
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate an embedding model on a benchmark",
        formatter_class=FlagSafeHelpFormatter,
        description="Embed, rank and score a model on a benchmark (`vidret benchmarks` lists them); writes a "
        "results JSON. "
        "--adapter, --frames, --resolution, --pooling, --text-max-length, --dtype and --fusion override the "
        "model's adapter preset (each is recorded in the results; those that change embeddings also key the "
        "embedding cache). "
        "Run under `accelerate launch -m vidret evaluate ...` for several processes. "
        "Remote videos get $VIDRET_HTTP_TIMEOUT seconds each (default 60: per connect, per read and in total; "
        "recorded).",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def settings_from_args(args: argparse.Namespace) -> EvalSettings:
    """`EvalSettings` from parsed arguments (and ``$VIDRET_HTTP_TIMEOUT``).

    Raises:
        ValueError: ``$VIDRET_HTTP_TIMEOUT`` is not a positive number.
    """
    from vidret.evaluation.running.runner import EvalSettings
    from vidret.video.source import timeout_from_env

    return EvalSettings(
        benchmark=args.benchmark,
        data=args.data,
        model=args.model,
        revision=args.revision,
        split=args.split,
        model_revision=args.model_revision,
        tasks=args.tasks,
        frames=args.frames,
        fps=args.fps,
        max_frames=args.max_frames,
        frame_stride=args.frame_stride,
        batch_size=args.batch_size,
        fusion=args.fusion,
        cache_dir=None if args.no_cache else (args.cache_dir or default_cache_dir()),
        output=args.output,
        limit=args.limit,
        strict=args.strict,
        num_workers=args.num_workers,
        trust_remote_code=args.trust_remote_code,
        long_video=args.long_video,
        aggregate=args.aggregate,
        preset=args.preset,
        video_root=args.video_root,
        decode_mode=args.decode_mode,
        device=args.device,
        resolution=args.resolution,
        pooling=args.pooling,
        text_max_length=args.text_max_length,
        dtype=args.dtype,
        embeddings=args.embeddings,
        allow_pickle=args.allow_pickle,
        embeddings_pool=args.embeddings_pool,
        allow_external_videos=args.allow_external_videos,
        http_timeout=timeout_from_env(),
        protocol=args.protocol,
        batch_memory=args.batch_memory,
    )


def run(args: argparse.Namespace) -> int:
    """Run the evaluation, print the metrics table; bad input exits with a one-line message."""
    from vidret.evaluation.running.distributed import finish_processes
    from vidret.evaluation.running.limits import LimitError
    from vidret.evaluation.running.runner import EvaluationError, evaluate
    from vidret.hub_errors import hub_failure_message, is_hub_failure

    try:
        settings = settings_from_args(args)
        record = evaluate(settings)
    except Exception as err:
        if is_hub_failure(err):  # reading the dataset or the model from the Hub failed
            retry = "run the same command again (finished embeddings are cached)"
            raise SystemExit(hub_failure_message("vidret evaluate", err, retry=retry)) from None
        if isinstance(err, LimitError):  # a setting past a bound: a usage error, like a bad flag
            print(f"vidret evaluate: error: {err}", file=sys.stderr)
            return 2
        if isinstance(err, (ValueError, EvaluationError, OSError)):
            raise SystemExit(f"vidret evaluate: {err}") from None
        raise
    finally:
        finish_processes()  # under accelerate/torchrun: leave the group before the interpreter exits
    if record is not None:
        from vidret.evaluation.results.report import format_record

        print(format_record(record))
    return 0
