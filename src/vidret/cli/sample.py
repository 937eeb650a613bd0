"""`vidret sample`: sample frames from a video and save them as a contact sheet.

    vidret sample VIDEO --frames 8 --start 10 --end 40 --size 224x224 --mode exact --out sheet.png
    vidret sample            # demo: generates a synthetic video and checks the frames it gets

With no VIDEO it writes a short synthetic test video (each frame encodes its own index) to a
temporary folder, samples it, and prints which frame each sample decoded to, as a demo that
the sampler returns exactly the frames it should.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vidret.cli.argtypes import int_in_range

if TYPE_CHECKING:  # numpy and Pillow load only when the command runs
    import numpy as np
    from PIL import Image

DEMO_SECONDS, DEMO_FPS, DEMO_SIZE = 12.0, 30, (320, 180)
LABEL_PAD = 4  # pixels around a tile's label


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size must look like 224x224, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"--size must be positive, got {text!r}")
    return width, height


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `sample` subcommand to `subparsers`."""
    parser = subparsers.add_parser(
        "sample",
        help="sample frames from a video into a contact sheet (no VIDEO: demo on a generated video)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", nargs="?", help="path, http(s):// URL or hf:// path (default: a generated demo video)")
    parser.add_argument(
        "--frames", type=int_in_range(1, "vidret.video.timeline:MAX_FRAMES"), default=8,
        help="number of uniformly spaced frames (default 8)",
    )
    parser.add_argument("--start", type=float, default=None, help="range start in seconds (default 0)")
    parser.add_argument("--end", type=float, default=None, help="range end in seconds (default: end of video)")
    parser.add_argument("--size", type=_size, default=None, metavar="WxH", help="resize frames, e.g. 224x224")
    parser.add_argument("--mode", choices=("exact", "keyframe"), default="exact", help="exact frames or nearest preceding keyframes")
    parser.add_argument("--out", type=Path, default=Path("contact_sheet.png"), help="output image (default contact_sheet.png)")
    parser.add_argument(
        "--columns", type=int_in_range(1, "vidret.video.timeline:MAX_FRAMES"), default=4,
        help="frames per row of the sheet (default 4)",
    )
    parser.set_defaults(func=run)
    return parser


def contact_sheet(frames: np.ndarray, columns: int = 4, gap: int = 4, labels: Sequence[str] | None = None) -> Image.Image:
    """Tile frames into one RGB image, `columns` per row, on a dark background.

    Args:
        frames: uint8 array (T, H, W, 3), RGB.
        columns: Frames per row (fewer when there are fewer frames).
        gap: Pixels between and around the tiles.
        labels: One text per frame (may hold several lines), written under its tile; a cell is
            widened to fit its label.

    Returns:
        The sheet as a PIL image.

    Raises:
        ValueError: If columns < 1, or labels are given but not one per frame.
    """
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    count, height, width = frames.shape[:3]
    if labels is not None and len(labels) != count:
        raise ValueError(f"{len(labels)} labels for {count} frames")
    font = ImageFont.load_default()
    text_boxes = [ImageDraw.Draw(Image.new("RGB", (1, 1))).multiline_textbbox((0, 0), text, font=font) for text in labels or []]
    cell_width = max([width, *(box[2] + 2 for box in text_boxes)])
    band = max([0, *(box[3] + LABEL_PAD for box in text_boxes)])
    columns = min(columns, count)
    rows = -(-count // columns)
    sheet = np.full((rows * (height + band + gap) + gap, columns * (cell_width + gap) + gap, 3), 32, dtype=np.uint8)
    for k, frame in enumerate(frames):
        y, x = gap + (k // columns) * (height + band + gap), gap + (k % columns) * (cell_width + gap)
        left = x + (cell_width - width) // 2
        sheet[y : y + height, left : left + width] = frame
    image = Image.fromarray(sheet, "RGB")
    draw = ImageDraw.Draw(image)
    for k, text in enumerate(labels or []):
        y, x = gap + (k // columns) * (height + band + gap), gap + (k % columns) * (cell_width + gap)
        draw.multiline_text((x + 1, y + height + LABEL_PAD // 2), text, fill=(235, 235, 235), font=font)
    return image


def frame_labels(times: Sequence[float], fps: float, mode: str, decoded: Sequence[int] | None = None) -> list[str]:
    """What each tile of the sheet says: its number, its time, and its frame index.

    Args:
        times: sample times in seconds after the first frame.
        fps: the video's frame rate.
        mode: "exact" or "keyframe" (a keyframe may be up to a GOP early: no index is claimed).
        decoded: frame indices read back from the frames (the demo video encodes them).

    Returns:
        One two-line label per sample, e.g. "#1  t=2.500 s\nframe ~75" ("~": computed from the
        frame rate, exact for constant-rate videos; no "~" when read back from the frame).
    """
    labels = []
    for k, t in enumerate(times):
        if decoded is not None:
            index = f"frame {decoded[k]}"
        elif mode == "exact":
            index = f"frame ~{int(t * fps + 1e-6)}"
        else:
            index = "keyframe at or before"
        labels.append(f"#{k + 1}  t={t:.3f} s\n{index}")
    return labels


def run(args: argparse.Namespace) -> int:
    """Sample the frames, print what was sampled, and write the contact sheet."""
    from vidret.video import VideoDecodeError

    if args.columns < 1:
        raise SystemExit("vidret sample: error: --columns must be >= 1")
    try:
        return _sample(args)
    except (VideoDecodeError, ValueError) as err:  # bad input: one clear line, exit status 1
        raise SystemExit(f"vidret sample: error: {err}") from None


def _sample(args: argparse.Namespace) -> int:
    from vidret.video import probe, sample_frames, uniform_timestamps
    from vidret.video.source import timeout_from_env
    from vidret.video.timeline import resolve_range

    with tempfile.TemporaryDirectory(prefix="vidret-sample-") as tmp:
        demo = args.video is None
        source = args.video
        if demo:
            from vidret.testing.synthetic import make_test_video

            source = str(make_test_video(Path(tmp) / "demo.mp4", DEMO_SECONDS, fps=DEMO_FPS, size=DEMO_SIZE, gop=DEMO_FPS * 2))
            print(f"demo: generated a {DEMO_SECONDS:g} s synthetic video (each frame encodes its index), "
                  "deleted when the command ends")
        timeout = timeout_from_env()  # remote videos: $VIDRET_HTTP_TIMEOUT s (default 60)
        info = probe(source, timeout=timeout)
        name = "demo video" if demo else source  # the demo's file is temporary: no path to print
        print(f"{name}: {info.width}x{info.height} {info.codec}, {info.fps:.3f} fps, "
              f"{info.duration:.3f} s, {info.num_frames} frames")
        frames = sample_frames(source, args.frames, args.start, args.end, size=args.size, mode=args.mode, timeout=timeout)
        times = uniform_timestamps(*resolve_range(args.start, args.end, info.duration, info.fps, source), args.frames)
        decoded = None
        if demo:
            from vidret.testing.synthetic import decode_frame_index

            decoded = [decode_frame_index(frame) for frame in frames]
            for t, got in zip(times, decoded):
                print(f"  t={t:8.3f} s  frame {got:6d}  (expected {int(t * DEMO_FPS + 1e-6)})")
        else:
            print("  times (s): " + ", ".join(f"{t:.3f}" for t in times))
        labels = frame_labels(times, info.fps, args.mode, decoded)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(frames, args.columns, labels=labels).save(args.out)
    print(f"wrote {args.out} ({len(frames)} frames of {frames.shape[2]}x{frames.shape[1]}, mode={args.mode}, "
          "each labelled with its number, time and frame index)")
    return 0
