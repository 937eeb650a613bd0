"""`vidret embeddings export|convert`: share a run's embeddings as a dataset repo; make a pickle stream safe.

- ``vidret embeddings export RESULTS.json --out DIR`` writes the embeddings of the run that wrote
  RESULTS.json (from its embedding cache) as a Hub dataset repo folder; ``vidret publish DIR``
  uploads it, and ``vidret evaluate --embeddings DIR`` scores it without a model or a video.
- ``vidret embeddings convert X.pkl --allow-pickle --out X.safetensors`` reads a TF-CoVR pickle
  stream once (it runs code: only with the flag) and writes the safe format.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``embeddings`` command (``export``, ``convert``) to the `vidret` parser."""
    parser = subparsers.add_parser(
        "embeddings",
        help="export a run's embeddings as a dataset repo; convert released embedding files",
        description="Export the embeddings of an evaluation run, or convert a pickle stream into safetensors.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION")

    export = actions.add_parser(
        "export",
        help="write a run's embeddings (from its cache) as a Hub dataset repo folder",
        description="Write the texts, videos/segments and composed queries the run embedded as Parquet "
        "(id, kind, embedding, text, truncated) with a card, embeddings.json and a manifest; `vidret publish "
        "DIR --repo ORG/NAME --tag v<version>` uploads it and `vidret evaluate --embeddings DIR` scores it.",
    )
    export.add_argument("results", metavar="RESULTS.json", help="results file of the run (names its cache namespace)")
    export.add_argument("--out", required=True, metavar="DIR",
                        help="folder to write: new, empty, or an earlier export (replaced; anything else is refused untouched)")
    export.add_argument("--dtype", default="float32", choices=("float32", "float16"),
                        help="stored precision (float32 default: scores identical to the run; float16: half the size)")
    export.add_argument("--cache-dir", default=None, help="the run's cache folder (default: the one it recorded)")
    export.add_argument("--data", default=None, help="the run's dataset, if it moved since (default: the recorded one)")
    export.add_argument("--video-root", default=None, help="the --video-root the run used, if any")
    export.add_argument("--version", default="1.0.0", help="version of the export (publish with --tag v<version>)")
    export.set_defaults(func=run_export)

    convert = actions.add_parser(
        "convert",
        help="convert a pickle stream of {id: tensor} dicts (a released .pkl of embeddings) into .safetensors",
        description="Unpickling RUNS CODE from the file: convert only a file you trust, and say so with --allow-pickle.",
    )
    convert.add_argument("source", metavar="FILE.pkl", help="the pickle stream")
    convert.add_argument("--out", required=True, metavar="FILE.safetensors", help="file to write")
    convert.add_argument("--allow-pickle", action="store_true", help="required: permit unpickling the file")
    convert.set_defaults(func=run_convert)
    parser.set_defaults(func=lambda args: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 1


def run_export(args: argparse.Namespace) -> int:
    """Export; a bad record, cache or folder exits with a one-line message."""
    from vidret.evaluation.embeddings.export import export_embeddings

    try:
        report = export_embeddings(
            args.results, args.out, dtype=args.dtype, cache_dir=args.cache_dir, data=args.data,
            video_root=args.video_root, version=args.version,
        )
    except (ValueError, OSError) as err:
        raise SystemExit(f"vidret embeddings export: {err}") from None
    counts = ", ".join(f"{n} {kind}" for kind, n in report.num_rows.items())
    print(f"wrote {counts} embeddings ({report.dim}-d {report.dtype}, {report.bytes / 1e6:.1f} MB) to {report.out}")
    if report.failed:
        print(f"{len(report.failed)} item(s) failed in the run and have no embedding (listed in the card)")
    print(f"publish: vidret publish {report.out} --repo ORG/NAME --tag v{args.version}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Convert a pickle stream, only with --allow-pickle."""
    from vidret.evaluation.embeddings.stored import EmbeddingSourceError, convert_pickle_stream

    source = Path(args.source)
    if not args.allow_pickle:
        raise SystemExit(
            f"vidret embeddings convert: {source} is a pickle stream; unpickling runs any code it holds. "
            "If you trust its origin, add --allow-pickle"
        )
    if not source.is_file():
        raise SystemExit(f"vidret embeddings convert: {source}: no such file")
    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise SystemExit(f"vidret embeddings convert: --out {out} must end in .safetensors")
    try:
        n = convert_pickle_stream(source, out)
    except (EmbeddingSourceError, OSError) as err:
        raise SystemExit(f"vidret embeddings convert: {err}") from None
    print(f"wrote {n} embeddings to {out}")
    return 0
