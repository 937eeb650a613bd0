"""Synthetic test videos whose frames carry their own index, plus broken variants for error tests.

Every frame of a video made by `make_test_video` is drawn on a grid of 8 x 6 equal cells that
span the whole frame, so the layout survives any resize:

    row 0      reference patches: red, red, green, green, blue, blue, white, black
    rows 1-4   32 black/white cells, read left to right, top to bottom (most significant first):
               24 bits of the frame index, then an 8-bit CRC of those 24 bits
    row 5      a scrolling noise texture (gives the encoder something real to compress)

Flat black/white cells and large pure-colour patches survive H.264 compression and FFmpeg
resizing, so `decode_frame_index` is exact for frames decoded at 64x64 or larger, even from a
64x48 video. The CRC makes frames without a code (black, white, noise, another video) raise
`ValueError` instead of returning a wrong index; the reference patches expose a BGR/RGB swap.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

COLS, ROWS = 8, 6
INDEX_BITS = 24
CHECK_BITS = 8
MAX_INDEX = 2**INDEX_BITS - 1
MIN_SIZE = (32, 24)

#: Reference patch colours in RGB order, keyed by name, with their (row, first col, last col) cells.
PATCH_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}
_PATCH_CELLS: dict[str, tuple[int, int]] = {  # name -> (first col, last col) in row 0
    "red": (0, 1),
    "green": (2, 3),
    "blue": (4, 5),
    "white": (6, 6),
    "black": (7, 7),
}
_CODE_ROWS = range(1, 5)
_TEXTURE_ROW = 5
# A decoded cell counts as black below _LOW and white above _HIGH; anything between is no code.
_LOW, _HIGH = 80, 175


def _crc8(value: int) -> int:
    """CRC-8 (polynomial 0x07, initial value 0xFF) of the three big-endian bytes of `value`.

    The non-zero initial value makes an all-black frame (index 0, check 0) invalid.
    """
    crc = 0xFF
    for byte in value.to_bytes(3, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def encode_bits(index: int) -> list[int]:
    """The 32 code bits (24 index bits then 8 CRC bits, most significant first) for `index`.

    Args:
        index: Frame index in [0, 2**24 - 1].

    Returns:
        A list of 32 ints, each 0 or 1.

    Raises:
        ValueError: If `index` is out of range.
    """
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"frame index {index} is outside [0, {MAX_INDEX}]")
    word = (index << CHECK_BITS) | _crc8(index)
    return [(word >> (31 - k)) & 1 for k in range(INDEX_BITS + CHECK_BITS)]


def _bounds(length: int, parts: int) -> list[tuple[int, int]]:
    """Pixel [start, stop) of each of `parts` near-equal cells along an axis of `length` pixels."""
    edges = [(k * length) // parts for k in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _cell_means(frame: np.ndarray) -> np.ndarray:
    """Mean RGB of the central half of every cell: array of shape (ROWS, COLS, 3), float."""
    height, width = frame.shape[:2]
    means = np.empty((ROWS, COLS, 3), dtype=np.float64)
    for r, (y0, y1) in enumerate(_bounds(height, ROWS)):
        dy = (y1 - y0) // 4
        for c, (x0, x1) in enumerate(_bounds(width, COLS)):
            dx = (x1 - x0) // 4
            means[r, c] = frame[y0 + dy : y1 - dy, x0 + dx : x1 - dx].reshape(-1, 3).mean(axis=0)
    return means


def read_reference_patches(frame: np.ndarray) -> dict[str, tuple[int, int, int]]:
    """Mean colour of each reference patch of a decoded test frame, in the frame's channel order.

    Tests use it to prove RGB order: ``read_reference_patches(f)["red"]`` is close to (255, 0, 0)
    for an RGB frame and to (0, 0, 255) for a BGR one.

    Args:
        frame: (H, W, 3) uint8 array.

    Returns:
        Patch name ("red", "green", "blue", "white", "black") -> rounded mean (c0, c1, c2).

    Raises:
        ValueError: If `frame` is not an (H, W, 3) array.
    """
    _check_frame(frame)
    means = _cell_means(frame)
    return {
        name: tuple(int(round(v)) for v in means[0, c0 : c1 + 1].mean(axis=0))
        for name, (c0, c1) in _PATCH_CELLS.items()
    }


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", type(frame).__name__)
        raise ValueError(f"expected an (H, W, 3) RGB frame, got {shape}")
    if frame.shape[0] < ROWS * 4 or frame.shape[1] < COLS * 4:
        raise ValueError(f"frame of {frame.shape[1]}x{frame.shape[0]} is too small to carry a code")


def decode_frame_index(frame: np.ndarray) -> int:
    """Read back the frame index drawn by `make_test_video`.

    Args:
        frame: (H, W, 3) uint8 RGB frame, decoded at any size from 64x64 up.

    Returns:
        The frame index (``first_index`` + position in the video).

    Raises:
        ValueError: If the frame has the wrong shape, its reference patches are not red, green,
            blue, white and black in RGB order (e.g. a BGR frame), a code cell is neither black
            nor white, or the check bits do not match (a frame that carries no code).
    """
    _check_frame(frame)
    means = _cell_means(frame)
    patches = {name: means[0, c0 : c1 + 1].mean(axis=0) for name, (c0, c1) in _PATCH_CELLS.items()}
    for name, expected in PATCH_COLORS.items():
        if np.abs(patches[name] - np.asarray(expected)).max() > 90:
            got = tuple(int(round(v)) for v in patches[name])
            raise ValueError(
                f"reference patch {name!r} reads {got}, expected about {expected}: "
                "not a vidret test frame, or channels are not in RGB order"
            )
    luma = means[list(_CODE_ROWS)].mean(axis=2).reshape(-1)
    ambiguous = np.flatnonzero((luma > _LOW) & (luma < _HIGH))
    if ambiguous.size:
        raise ValueError(f"code cells {ambiguous.tolist()} are neither black nor white: no frame code")
    word = 0
    for bit in (luma >= _HIGH).astype(int):
        word = (word << 1) | int(bit)
    index, check = word >> CHECK_BITS, word & 0xFF
    if _crc8(index) != check:
        raise ValueError(f"frame code check failed (index bits {index}, check {check:#04x}): no valid code")
    return index


class _FramePainter:
    """Draws test frames of one size; the static parts are painted once."""

    def __init__(self, width: int, height: int, seed: int = 0) -> None:
        self.width, self.height = width, height
        self.rows = _bounds(height, ROWS)
        self.cols = _bounds(width, COLS)
        base = np.full((height, width, 3), 128, dtype=np.uint8)
        y0, y1 = self.rows[0]
        for name, (c0, c1) in _PATCH_CELLS.items():
            base[y0:y1, self.cols[c0][0] : self.cols[c1][1]] = PATCH_COLORS[name]
        self.base = base
        ty0, ty1 = self.rows[_TEXTURE_ROW]
        rng = np.random.default_rng(seed)
        # A strip wider than the frame: each frame shows a window shifted by a few pixels.
        self.texture = rng.integers(0, 256, size=(ty1 - ty0, width + 256, 3), dtype=np.uint8)
        self.code_cells = [(r, c) for r in _CODE_ROWS for c in range(COLS)]

    def paint(self, index: int) -> np.ndarray:
        frame = self.base.copy()
        for (r, c), bit in zip(self.code_cells, encode_bits(index)):
            (y0, y1), (x0, x1) = self.rows[r], self.cols[c]
            frame[y0:y1, x0:x1] = 255 if bit else 0
        ty0, ty1 = self.rows[_TEXTURE_ROW]
        offset = (index * 3) % 256
        frame[ty0:ty1] = self.texture[:, offset : offset + self.width]
        return frame


def make_test_video(
    path: str | os.PathLike,
    duration_s: float,
    fps: float = 30,
    size: tuple[int, int] = (320, 180),
    gop: int = 250,
    codec: str = "h264",
    first_index: int = 0,
    *,
    faststart: bool = True,
    crf: int = 18,
    progress: bool = False,
    container_format: str = "mp4",
    first_pts_s: float = 0.0,
) -> Path:
    """Write a real MP4 (yuv420p) whose frame i shows the code of ``first_index + i``.

    The video has ``round(duration_s * fps)`` frames with presentation times
    ``first_pts_s + i / fps``; with
    ``codec="h264"`` keyframes fall exactly every `gop` frames (scene-cut detection is off) and
    every mini-GOP has 3 B-frames (x264's default B-pyramid), like typical web videos.

    Args:
        path: Output file (parent folders are created).
        duration_s: Length in seconds (> 0).
        fps: Frame rate; fractional rates such as 30000/1001 are accepted.
        size: (width, height) in pixels, both even and at least 32x24.
        gop: Keyframe interval in frames (>= 1).
        codec: FFmpeg encoder name ("h264" uses libx264).
        first_index: Code of the first frame; the last code must stay <= 2**24 - 1.
        faststart: Put the index (moov atom) at the front, as streamable web videos do; this is
            also what lets a truncated copy keep its readable beginning.
        crf: x264 constant rate factor (lower = larger, cleaner file).
        progress: Show a tqdm bar (for long benchmark videos).
        container_format: FFmpeg muxer, e.g. ``"mpegts"`` or ``"matroska"`` for tests of
            containers without an MP4-style index (`faststart` applies to MP4 only).
        first_pts_s: Presentation time of the first frame (>= 0), rounded to whole frame
            intervals: a video that starts late, as cut or remuxed files do (MP4 records the
            gap in an edit list, Matroska in its timestamps).

    Returns:
        The output path.

    Raises:
        ValueError: On a non-positive duration/fps/gop, a negative first_pts_s, an odd or too
            small size, or frame codes beyond 2**24 - 1.
    """
    import av

    width, height = (int(v) for v in size)
    if duration_s <= 0 or fps <= 0:
        raise ValueError(f"duration_s and fps must be > 0, got {duration_s} and {fps}")
    if width % 2 or height % 2 or width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise ValueError(f"size must be even and at least {MIN_SIZE[0]}x{MIN_SIZE[1]}, got {width}x{height}")
    if gop < 1:
        raise ValueError(f"gop must be >= 1, got {gop}")
    if not first_pts_s >= 0:
        raise ValueError(f"first_pts_s must be >= 0, got {first_pts_s}")
    rate = Fraction(fps).limit_denominator(1001)
    first_pts = round(first_pts_s * rate)  # in frame intervals (the time base is 1 / rate)
    num_frames = max(1, round(duration_s * rate))
    if first_index < 0 or first_index + num_frames - 1 > MAX_INDEX:
        raise ValueError(
            f"frame codes {first_index}..{first_index + num_frames - 1} do not fit in [0, {MAX_INDEX}]"
        )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    painter = _FramePainter(width, height)
    container_options = {"movflags": "+faststart"} if faststart and container_format == "mp4" else {}
    with av.open(str(out), "w", format=container_format, container_options=container_options) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec in ("h264", "libx264"):
            stream.codec_context.options = {
                "preset": "veryfast",
                "crf": str(crf),
                # Always 3 B-frames (b-adapt=0; x264 would pick P-frames for this content),
                # so tests see the reordering and non-reference frames of real videos.
                # Byte-identical output run to run: one thread, and no adaptive quantisation or
                # macroblock tree (with either, x264 here gave different files, and decoded pixels
                # up to 39 levels apart, for the same frames in about one encode in five).
                "threads": "1",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=3:b-adapt=0:aq-mode=0:mbtree=0",
            }
        frames = range(num_frames)
        if progress:
            from tqdm.auto import tqdm

            frames = tqdm(frames, desc=f"encoding {out.name}", unit="frame")
        for i in frames:
            frame = av.VideoFrame.from_ndarray(painter.paint(first_index + i), format="rgb24")
            frame.pts = first_pts + i
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))  # flush the encoder's delayed frames
    return out


def truncate_video(src: str | os.PathLike, dst: str | os.PathLike, keep_fraction: float) -> Path:
    """Copy the first `keep_fraction` of the bytes of `src` to `dst` (a download cut short).

    Args:
        src: Existing video file.
        dst: Output file.
        keep_fraction: Fraction of the bytes to keep, in (0, 1).

    Returns:
        The output path.

    Raises:
        ValueError: If `keep_fraction` is not in (0, 1).
    """
    if not 0 < keep_fraction < 1:
        raise ValueError(f"keep_fraction must be in (0, 1), got {keep_fraction}")
    data = Path(src).read_bytes()
    out = Path(dst)
    out.write_bytes(data[: int(len(data) * keep_fraction)])
    return out


def make_corrupt_video(
    path: str | os.PathLike, duration_s: float = 1.0, size: tuple[int, int] = (64, 48), *, seed: int = 0
) -> Path:
    """Write a test video whose container header (the MP4 `moov` index) is overwritten with noise.

    Opening it fails the way a damaged download does ("moov atom not found" or invalid data).

    Args:
        path: Output file.
        duration_s: Length of the video before corruption.
        size: (width, height) of the video.
        seed: Seed of the noise.

    Returns:
        The output path.
    """
    out = make_test_video(path, duration_s, size=size, gop=30)
    data = bytearray(out.read_bytes())
    start = data.find(b"moov")
    start = 0 if start < 0 else max(0, start - 4)
    stop = min(len(data), start + 4096)
    data[start:stop] = np.random.default_rng(seed).integers(0, 256, stop - start, dtype=np.uint8).tobytes()
    out.write_bytes(bytes(data))
    return out


def make_not_a_video(path: str | os.PathLike) -> Path:
    """Write a small text file with a video extension (for "not a video" errors)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("this is not a video, just text pretending to be one\n" * 64)
    return out


def make_audio_only(path: str | os.PathLike, duration_s: float = 1.0) -> Path:
    """Write an MP4 with a single AAC audio stream and no video stream.

    Args:
        path: Output file.
        duration_s: Length in seconds.

    Returns:
        The output path.
    """
    import av

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sample_rate = 16000
    tone = (0.2 * np.sin(np.arange(int(duration_s * sample_rate)) * 2 * np.pi * 440 / sample_rate)).astype(np.float32)
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sample_rate)
        stream.layout = "mono"
        chunk = 1024
        for pts in range(0, tone.size, chunk):
            frame = av.AudioFrame.from_ndarray(tone[None, pts : pts + chunk], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out


def make_oversized_video(path: str | os.PathLike, size: tuple[int, int], num_frames: int = 2) -> Path:
    """Write a small H.264 MP4 of flat grey frames at a very large size (a "pixel bomb").

    Flat frames compress to almost nothing, so a file of a few hundred KB can hold frames that
    take gigabytes once decoded: the input of the frame-size limit tests. The frames carry no
    frame code.

    Args:
        path: Output file.
        size: (width, height), both even.
        num_frames: Number of frames (>= 1), at 30 fps.

    Returns:
        The output path.

    Raises:
        ValueError: An odd size or num_frames < 1.
    """
    import av

    width, height = (int(v) for v in size)
    if width % 2 or height % 2 or width < 2 or height < 2:
        raise ValueError(f"size must be even and positive, got {width}x{height}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    planes = np.full((height * 3 // 2, width), 128, dtype=np.uint8)  # yuv420p, no RGB copy
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("h264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast", "crf": "40"}
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out


def misreport_mkv_duration(src: str | os.PathLike, dst: str | os.PathLike, claimed_s: float) -> Path:
    """Copy a Matroska file made by `make_test_video` with its header's duration set to `claimed_s`.

    The video data is unchanged: the header then lies about how long the video is, as files cut
    or remuxed carelessly do.

    Args:
        src: A ``.mkv`` written by ``make_test_video(..., container_format="matroska")``.
        dst: Output file.
        claimed_s: The duration the header will state, in seconds.

    Returns:
        The output path.

    Raises:
        ValueError: `src` has no 8-byte Duration element in its segment info.
    """
    import struct

    data = bytearray(Path(src).read_bytes())
    at = data.find(b"\x44\x89\x88")  # EBML id of Duration, then "8-byte float" as its size
    if at < 0:
        raise ValueError(f"{src}: no 8-byte Matroska Duration element found")
    # Durations are in units of the segment's timestamp scale: 1 ms unless the file says otherwise.
    data[at + 3 : at + 11] = struct.pack(">d", claimed_s * 1000.0)
    out = Path(dst)
    out.write_bytes(bytes(data))
    return out
